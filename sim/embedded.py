"""Run the reference server inside another process (the simulated kiosk, tests) over real
HTTPS with client certificates.

The server still listens on a loopback socket and the kiosk still talks mTLS to it, so
the embedded mode exercises the same client code and the same kiosk identity checks as a
remote server.  The key folder (CA, server and kiosk certificates, issuer key) is created
on first start and reused afterwards.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import uvicorn
from sqlalchemy.engine import Engine

from server import officer
from server.app import Context, Settings, create_app
from server.db import make_engine, session_factory
from server.dbops import HealthCache
from server.limits import Limits
from server.pki import IssuedCert, ServerHome
from server.prepared import broken_errors, connector
from server.tls import ConnectionLimits, uvicorn_tls_options
from sim.population import ISSUING_OFFICIAL
from sim.seed import seed_demo

# The office the simulated server speaks for (its demo population lives in Bogor).
SIM_OFFICE = "Disdukcapil Kota Bogor (simulasi)"


def settings_for(home: ServerHome) -> Settings:
    return Settings(
        issuer=home.issuer(),
        pepper=home.pepper(),
        home=home,
        alert_rules=home.alert_rules(),
        verification=home.verification(),
        backup=home.backup(),
        metrics_token_hash=home.metrics_token_hash(),
        # The simulator's own server serves the simulated kiosks it was started for
        # (the demo, the tests); a real server (``adm-server serve``) never does.
        accept_simulated=True,
    )


def mint_kiosk(home: ServerHome, kiosk_id: str, out: Path | None = None) -> IssuedCert:
    """A simulated kiosk's credentials in one step: its key made here (a real kiosk makes
    its own, ``adm-kiosk provision``), its request signed with the simulator's CA, both
    written under ``out`` (default ``home/kiosks``).  The simulator's shortcut only: the
    reference server mints no kiosk key."""
    from kiosk.provision import key_pem, new_key, request_pem

    key = new_key()
    cert, serial = home.sign_kiosk_request(request_pem(key, kiosk_id))
    folder = out or home.path / "kiosks"
    folder.mkdir(parents=True, exist_ok=True)
    key_file, cert_file = folder / f"{kiosk_id}.key", folder / f"{kiosk_id}.pem"
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key_pem(key))
    cert_file.write_text(cert)
    return IssuedCert(cert_file, key_file, serial)


def ensure_kiosk(home: ServerHome, database_url: str, kiosk_id: str) -> IssuedCert:
    """The kiosk's credentials in ``home/kiosks``, issued and registered on first use.

    Credentials already in ``home`` are registered in a database that does not know the
    kiosk yet (a fresh test database), not issued again.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from server.db import Kiosk
    from server.pki import cert_identity

    cert, key = home.path / "kiosks" / f"{kiosk_id}.pem", home.path / "kiosks" / f"{kiosk_id}.key"
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as db:
            row = db.get(Kiosk, kiosk_id)
            if cert.is_file() and key.is_file():
                der = x509.load_pem_x509_certificate(cert.read_bytes()).public_bytes(
                    serialization.Encoding.DER
                )
                serial = cert_identity(der)[1]
                if row is None:
                    officer.register_kiosk(db, kiosk_id, serial)
                    return IssuedCert(cert, key, serial)
                # A revoked kiosk keeps its (now refused) credentials: never re-issued here.
                if serial == row.cert_serial or row.status != "active":
                    return IssuedCert(cert, key, row.cert_serial)
            issued = mint_kiosk(home, kiosk_id)
            officer.register_kiosk(db, kiosk_id, issued.serial)
            return issued
    finally:
        engine.dispose()


class EmbeddedServer:
    def __init__(
        self,
        database_url: str,
        home: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: bool = True,
        kiosks: tuple[str, ...] = (),
        kiosk_cache_seconds: float = 2.0,
        db_threads: int = 0,
        connection_limits: ConnectionLimits | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.connection_limits = connection_limits
        # The server's abuse limits, when not the defaults: applied on every start (a
        # restarted server builds its settings afresh, so a change to ``settings`` made
        # while it ran does not outlive a restart).
        self.limits = limits
        self.kiosk_cache_seconds = kiosk_cache_seconds
        self.db_threads = db_threads
        self.database_url = database_url
        self.home = ServerHome(home)
        self.host = host
        self.port = port
        self.seed = seed
        self.kiosks = kiosks
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._context: Context | None = None
        self._engine: Engine | None = None

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def credentials(self, kiosk_id: str) -> IssuedCert:
        return ensure_kiosk(self.home, self.database_url, kiosk_id)

    def prepare(self, database_url: str) -> None:
        """Migrate ``database_url``, seed it (unless ``seed`` is off) and register the
        kiosks: what a database needs before this server can serve from it."""
        self.home.init()
        if not self.home.official_file.is_file():  # the demo's fictional signing official
            self.home.set_official(**ISSUING_OFFICIAL)
        engine = make_engine(database_url)
        try:
            if self.seed:
                with session_factory(engine)() as db:
                    seed_demo(db, self.home.pepper())
        finally:
            engine.dispose()
        for kiosk_id in self.kiosks:
            ensure_kiosk(self.home, database_url, kiosk_id)

    @property
    def settings(self) -> Settings:
        """The running server's settings, live: a test or the simulator may change the
        console's alert rules or metrics token without a restart."""
        if self._context is None:
            raise RuntimeError("the embedded server is not running")
        return self._context.settings

    def use_database(self, database_url: str, *, prepare: bool = True) -> None:
        """Serve from another database from the next request on, without a restart (tests
        share one running server and give each test a fresh database).  ``prepare``:
        migrate, seed and register the kiosks first; off for a copy of a prepared one."""
        if self._context is None or self._engine is None:
            raise RuntimeError("the embedded server is not running")
        if prepare:
            self.prepare(database_url)
        engine = make_engine(database_url)
        old = self._engine
        self._context.connect = connector(engine)
        self._context.engine = engine
        self._context.kiosks.clear()  # kiosk records are per database
        self._context.canary_gate.clear()  # and so are rollouts
        self._context.broken = broken_errors(engine)
        self._context.db_health = HealthCache(database_url, self._context.settings.backup)
        self._engine, self.database_url = engine, database_url
        old.dispose()

    def start(self, timeout: float = 15.0) -> None:
        self.prepare(self.database_url)
        engine = make_engine(self.database_url)
        settings = settings_for(self.home)
        settings.kiosk_cache_seconds = self.kiosk_cache_seconds
        settings.db_threads = self.db_threads
        if self.limits is not None:
            settings.limits = self.limits
        app = create_app(engine, settings)
        self._context, self._engine = app.state.context, engine
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        if not settings.verification.host:
            # Printed seal links lead to this server (a test's browser opens them).
            settings.verification.host = f"{self.host}:{self.port}"
        if not settings.verification.office:
            settings.verification.office = SIM_OFFICE
        config = uvicorn.Config(
            app,
            # In-process: the host's logging stays as it is (uvicorn's own configuration
            # would close every handler the kiosk set up, the journal's among them).
            log_config=None,
            log_level="warning",
            lifespan="off",
            **uvicorn_tls_options(self.home, self.connection_limits),
        )
        self._server = uvicorn.Server(config)
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.run(sockets=[sock]), name="embedded-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("embedded central server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None:
            # Kiosk clients keep connections alive; do not wait for them to hang up.
            self._server.should_exit = True
            self._server.force_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._engine is not None:
            self._engine.dispose()
        self._engine = self._context = None
