"""The demo kiosk's composition: simulated backends built here and handed to the kiosk.

``kiosk.app`` builds only real backends and refuses simulator names, so this module is
the one place where a configuration's ``sim`` / ``embedded`` choices become objects; it
accepts only ``kiosk.mode = "demo"`` configurations.  Dependencies point from here down
to the kiosk, the server and the drivers, never back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drivers.card.sam import ApduSam, SecureAccessModule
from drivers.card.sim import SimReader
from drivers.card.virtual import VirtualSam
from drivers.fingerprint.sim import SimMatcher
from kiosk import config as kconfig
from kiosk.app import KioskApp, ServerLink
from kiosk.server_client import Tls
from printing.sim_spooler import SimSpooler
from sim.keys import SAM_MASTER_KEY
from sim.rig import Rig


class NotADemo(kconfig.ConfigError):
    """The simulator composes only demo configurations."""


def demo_config(path: Path | None = None) -> kconfig.Config:
    """``config/demo.toml`` (or ``path``), validated like any configuration."""
    return kconfig.load(path or kconfig.DEMO_FILE)


def use_rig(config: kconfig.Config, rig: Rig) -> None:
    """Point a demo configuration's devices at the rig: its CUPS and serial emulators."""
    config.printer.server = config.printer.server or str(rig.cups_socket)
    if config.fingerprint.backend == "serial" and not config.fingerprint.port:
        config.fingerprint.port = str(rig.serial_link("fingerprint"))
    if config.qr.backend == "serial" and not config.qr.port:
        config.qr.port = str(rig.serial_link("qr"))


def build(config: kconfig.Config, **parts: object) -> KioskApp:
    """The kiosk for a demo configuration: every simulated backend built here, the real
    ones left to the kiosk's own composition root; ``parts`` override either."""
    return build_with_server(config, **parts)[0]


def build_with_server(
    config: kconfig.Config, server_process: Any = None, **parts: object
) -> tuple[KioskApp, Any]:
    """``build``, and the embedded central server it started (None when the kiosk talks
    to another server): the simulator panel takes it down and up.  ``server_process``:
    a ``sim.server_process.ServerProcess`` already spawned (the windowed demo starts it
    first, so it comes up while the kiosk imports); the kiosk is pointed at it."""
    if config.kiosk.mode != "demo":
        raise NotADemo('kiosk.mode: the simulator composes only kiosk.mode = "demo"')
    kw: dict[str, object] = {}
    closers = []
    server: Any = None
    if config.card.backend == "sim":
        reader = SimReader()
        kw.update(reader=reader, monitor=reader, sam=_sim_sam())
    if config.fingerprint.backend == "sim":
        kw["matcher"] = SimMatcher()
    if config.printer.backend == "sim":
        kw["spooler"] = SimSpooler(keep_documents=20)  # a demo may run for days
    kw["qr_scanner"] = config.qr.backend == "sim"
    if config.server.backend == "embedded" and server_process is not None:
        server_process.wait_ready()
        server = server_process
        closers.append(server.stop)
        home = Path(config.server.home)
        kw["server"] = ServerLink(
            server.url,
            Tls(home / "ca.pem", Path(server.cert), Path(server.key)),
            home / "issuer.pub",
        )
    elif config.server.backend == "embedded" and config.server.cert and "server" not in parts:
        kw["server"] = running_server_link(config)
    elif config.server.backend == "embedded" and "server" not in parts:
        # Imported here: the server's stack costs ~0.4 s of start-up that a demo kiosk
        # talking to a real server (and every crash-test kiosk process) never needs.
        from sim.embedded import EmbeddedServer

        server = EmbeddedServer(
            config.server.database, Path(config.server.home), kiosks=(config.kiosk.id,)
        )
        server.start()
        closers.append(server.stop)
        cred = server.credentials(config.kiosk.id)
        kw["server"] = ServerLink(
            server.url, Tls(server.home.ca_cert, cred.cert, cred.key), server.home.issuer_pub
        )
    kw.update(parts)
    return KioskApp(config, closers=closers, **kw), server  # type: ignore[arg-type]


def running_server_link(config: kconfig.Config) -> ServerLink:
    """The simulator's server already running (a test's, another demo kiosk's), named by
    an ``embedded`` configuration with its credentials (``server.cert``)."""
    s = config.server
    if config.kiosk.mode != "demo" or s.backend != "embedded" or not s.cert:
        raise NotADemo(
            "server.cert: a demo kiosk reaches a running simulator's server only with "
            'server.backend = "embedded" and its credentials'
        )
    return ServerLink(s.url, Tls(Path(s.ca), Path(s.cert), Path(s.key)), Path(s.issuer_key))


def _sim_sam() -> SecureAccessModule:
    return ApduSam(SimReader(VirtualSam(SAM_MASTER_KEY)))
