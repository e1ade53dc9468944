"""Shared fixtures: the simulated rig (real pcscd, cupsd, ippeveprinter) and a server."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Qt must never look for a display in tests; set before anything imports PySide6.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from kiosk.app import KioskApp
from kiosk.config import Config
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
    r.insert_sam()  # a good SAM, whatever an earlier run left in the slot
    yield r
    r.remove_card()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    """A central server on a loopback port with a fresh SQLite database and demo data."""
    srv = EmbeddedServer(f"sqlite:///{tmp_path / 'server.db'}")
    srv.start()
    yield srv
    srv.stop()


def run_until(app: KioskApp, cond: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Drive the kiosk flow on this thread until ``cond`` holds (fail after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; flow in {app.flow.state}")
        app.flow.run_once(0.05)


@pytest.fixture
def pcsc_kiosk(rig: Rig, server: EmbeddedServer) -> Iterator[KioskApp]:
    """The kiosk, headless, on the real PC/SC stack, the test server and a simulated printer."""
    cfg = Config()
    cfg.printer.backend = "sim"
    cfg.server.backend = "http"
    cfg.server.url = server.url
    app = KioskApp(cfg)
    app.start()
    yield app
    rig.remove_card()
    app.stop()


def wait_for(cond: Callable[[], bool], what: str, timeout: float = 30, poll: float = 0.1) -> None:
    """Wait for a condition of the outside world (CUPS, a printer process) that sends no
    event, checking every ``poll`` seconds; fail after ``timeout``."""
    done = threading.Event()
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        done.wait(poll)
