"""Shared fixtures: the simulated rig (real pcscd, cupsd, ippeveprinter) and a server."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Qt must never look for a display in tests; set before anything imports PySide6.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from kiosk.app import KioskApp
from kiosk.config import Config
from kiosk.server_client import ServerClient, Tls
from sim.embedded import EmbeddedServer
from sim.rig import Rig
from tests.rig_config import rig_config

# The booted appliance's tests (tests/boot) run in make boot-test / boot-smoke only: each
# boots a Debian image in QEMU for minutes.
collect_ignore = [] if os.environ.get("ADM_BOOT") == "1" else ["boot"]
# The replicated database under failover (two minutes): make failover-test.
if os.environ.get("ADM_FAILOVER") != "1":
    collect_ignore.append("test_failover.py")

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


TEST_KIOSKS = ("kiosk-test", "kiosk-b", "adm-sim-001")


@pytest.fixture(scope="session")
def server_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One key folder (CA, server cert, issuer key) for the run: key generation is slow."""
    from server.pki import ServerHome

    home = tmp_path_factory.mktemp("server-home")
    ServerHome(home).init()
    return home


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """A throwaway PostgreSQL cluster for the run (started on first use)."""
    from sim.postgres import PgCluster

    # One cluster per pytest-xdist worker, each on its own port (gw0: 16640, gw1: 16645).
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    cluster = PgCluster(port=16640 + 5 * int(worker.removeprefix("gw") or 0))
    cluster.start()
    yield cluster
    cluster.stop()


def _start_server(url: str, home: Path, tmp: Path, db_threads: int = 0) -> EmbeddedServer:
    # Kiosk credentials are per database (the kiosks table), the CA is shared.
    kiosk_home = tmp / "home"
    if not kiosk_home.exists():
        shutil.copytree(home, kiosk_home)
    # No caching of kiosk records: revocation tests expect the very next call refused.
    srv = EmbeddedServer(
        url, kiosk_home, kiosks=TEST_KIOSKS, kiosk_cache_seconds=0.0, db_threads=db_threads
    )
    srv.start()
    return srv


@pytest.fixture(scope="session")
def _shared_server(
    tmp_path_factory: pytest.TempPathFactory, server_home: Path
) -> Iterator[tuple[EmbeddedServer, Path]]:
    """One running server for the run and a prepared SQLite database (migrated, seeded,
    the test kiosks registered) that each test gets a copy of."""
    tmp = tmp_path_factory.mktemp("shared-server")
    template = tmp / "template.db"
    srv = _start_server(f"sqlite:///{tmp / 'first.db'}", server_home, tmp)
    srv.prepare(f"sqlite:///{template}")
    with sqlite3.connect(template) as db:  # everything in the main file, none in the WAL
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    yield srv, template
    srv.stop()


@pytest.fixture
def server(_shared_server: tuple[EmbeddedServer, Path], tmp_path: Path) -> EmbeddedServer:
    """The central server (HTTPS, mTLS) on a loopback port, with a fresh SQLite database
    holding the demo data: shared by the tests, the database is each test's own.  A test
    that stops or restarts the server takes ``own_server``."""
    srv, template = _shared_server
    db = tmp_path / "server.db"
    shutil.copyfile(template, db)
    srv.use_database(f"sqlite:///{db}", prepare=False)
    return srv


@pytest.fixture
def own_server(tmp_path: Path, server_home: Path) -> Iterator[EmbeddedServer]:
    """A central server of the test's own (fresh SQLite database, demo data), for tests
    that stop and start it."""
    srv = _start_server(f"sqlite:///{tmp_path / 'server.db'}", server_home, tmp_path)
    yield srv
    srv.stop()


def _database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'server.db'}"
    cluster = request.getfixturevalue("pg_cluster")
    return str(cluster.create_database(f"t_{abs(hash(request.node.nodeid)) % 10**12}"))


@pytest.fixture(params=["sqlite", "postgresql"])
def any_server(
    request: pytest.FixtureRequest, tmp_path: Path, server_home: Path
) -> Iterator[EmbeddedServer]:
    """The same server on SQLite and on PostgreSQL (a fresh database per test)."""
    srv = _start_server(_database(request, tmp_path), server_home, tmp_path)
    yield srv
    srv.stop()


@pytest.fixture(params=["sqlite-threads", "postgresql-threads"])
def threaded_server(
    request: pytest.FixtureRequest, tmp_path: Path, server_home: Path
) -> Iterator[EmbeddedServer]:
    """``any_server`` with its database work in a thread pool (``--db-threads``)."""
    srv = _start_server(_database(request, tmp_path), server_home, tmp_path, db_threads=4)
    yield srv
    srv.stop()


def point_at(cfg: Config, srv: EmbeddedServer, kiosk_id: str = "kiosk-test") -> None:
    """Configure the kiosk for ``srv`` as a deployment would: URL, CA, its certificate."""
    cred = srv.credentials(kiosk_id)
    cfg.kiosk.id = kiosk_id
    cfg.server.backend = "http"
    cfg.server.url = srv.url
    cfg.server.ca = str(srv.home.ca_cert)
    cfg.server.cert, cfg.server.key = str(cred.cert), str(cred.key)
    cfg.server.issuer_key = str(srv.home.issuer_pub)


def server_section(srv: EmbeddedServer, kiosk_id: str = "kiosk-test", backend: str = "http") -> str:
    """The ``[server]`` section of a kiosk configuration file for ``srv``.  A demo kiosk
    names it ``embedded`` (a demo talks to no other server); its credentials say which
    running simulator's server it is."""
    cred = srv.credentials(kiosk_id)
    return (
        f'[server]\nbackend = "{backend}"\nurl = "{srv.url}"\nca = "{srv.home.ca_cert}"\n'
        f'cert = "{cred.cert}"\nkey = "{cred.key}"\nissuer_key = "{srv.home.issuer_pub}"\n'
    )


# What the tests' own kiosk clients are made of: their e-KTP assertions come from the
# simulator (sim.seed.card_assertion), and they say so.
SIMULATED_BUILD = {"mode": "demo", "simulated": ["card", "fingerprint"]}


def kiosk_client(srv: EmbeddedServer, kiosk_id: str = "kiosk-test", **kw: Any) -> ServerClient:
    """The kiosk's HTTP client with its own certificate and the pinned issuer key."""
    cred = srv.credentials(kiosk_id)
    tls = Tls(ca=srv.home.ca_cert, cert=cred.cert, key=cred.key)
    kw.setdefault("build", SIMULATED_BUILD)
    return ServerClient(srv.url, tls=tls, issuer_key=srv.home.issuer_pub, **kw)


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
    from drivers.fingerprint.sim import SimMatcher
    from printing.sim_spooler import SimSpooler

    cfg = rig_config()
    point_at(cfg, server)
    app = KioskApp(cfg, spooler=SimSpooler(), matcher=SimMatcher())
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses the rig (directly or through a fixture) is marked ``rig``: the
    test runner (scripts/run_tests.py) runs those one at a time in one process and the
    rest beside them in another (they share no port, folder or device)."""
    for item in items:
        if "rig" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.rig)
