"""Shared fixtures: the simulated rig (real pcscd, cupsd, ippeveprinter) and a server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# Qt must never look for a display in tests; set before anything imports PySide6.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from server.embedded import EmbeddedServer
from sim.rig import Rig

RIG_TOOLS = ("pcscd", "cupsd", "ippeveprinter", "dbus-daemon", "lpadmin")


@pytest.fixture(scope="session")
def rig() -> Iterator[Rig]:
    """The simulated rig, brought up once (idempotently) for the whole run."""
    missing = [t for t in RIG_TOOLS if shutil.which(t) is None]
    if missing:
        pytest.fail(f"rig programs missing: {missing}; run scripts/setup.sh as root")
    r = Rig()
    r.up()
    r.remove_card()
    yield r
    r.remove_card()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    """A central server on a loopback port with a fresh SQLite database and demo data."""
    srv = EmbeddedServer(f"sqlite:///{tmp_path / 'server.db'}")
    srv.start()
    yield srv
    srv.stop()
