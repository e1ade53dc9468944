"""How many threads a server worker gives its database work, unless configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.app import db_threads_for
from server.pki import ServerHome


@pytest.mark.parametrize(
    ("configured", "dialect", "threads"),
    [
        (None, "sqlite", 0),  # one writer at a time: inline on the event loop
        (None, "postgresql", 2),  # a commit's WAL flush overlaps the next request
        (0, "postgresql", 0),  # configured inline stays inline
        (6, "sqlite", 6),  # configured wins
    ],
)
def test_default_and_configured(configured: int | None, dialect: str, threads: int) -> None:
    assert db_threads_for(configured, dialect) == threads


def test_a_worker_freezes_its_start_up_heap(tmp_path: Path) -> None:
    """A worker's start-up heap is out of the collector's view: full collections under
    load scan only what requests made (they took 57-89 ms each without the freeze)."""
    home = ServerHome(tmp_path / "home")
    home.init()
    env = {
        **os.environ,
        "ADM_SERVER_HOME": str(home.path),
        "ADM_SERVER_DB": f"sqlite:///{tmp_path / 'server.db'}",
    }
    probe = "import gc, server.asgi; print(gc.get_freeze_count())"
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.strip()) > 10_000  # the imports, routes, schemas (~110 000 now)
