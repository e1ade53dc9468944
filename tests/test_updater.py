"""The kiosk's updater against the real server: the heartbeat's target reaches it, the
bundle comes over mTLS, the kiosk stands idle before anything is installed (never in a
citizen's session), the health gate keeps a good version and rolls a bad one back, a
forged bundle is refused, and the server hears each outcome and pauses its rollout.

The installer is the simulated A/B one (drivers.update.sim: slots in a file, bundles
signed with its own key); the kiosk is its health monitor on simulated printers; the
server, its database, its rollout and its TLS are the real ones."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from drivers.card.base import ReaderState
from drivers.update.sim import SimInstaller, sim_bundle
from kiosk.health import HealthMonitor
from kiosk.print_service import PrintService
from kiosk.server_client import Tls
from kiosk.update_link import UpdateLink
from kiosk.updater import Fetcher, UpdateAgent
from printing.card_stock import CardStock, MemoryCardLedger
from printing.sim_spooler import SimSpooler
from protocol.api import UpdateState
from server import rollout
from server.db import AuditEntry, Kiosk, Rollout, make_engine, session_factory
from sim.embedded import EmbeddedServer
from tests.conftest import kiosk_client

KEY = b"release-signing-key-of-the-test"
OLD, NEW = "1.0.0", "1.1.0"
KIOSK = "kiosk-upd"


@dataclass
class Rig:
    """One kiosk and its updater, and what the test plays: the flow's state and the
    clock."""

    server: EmbeddedServer
    tmp: Path
    flow: list[str] = field(default_factory=lambda: ["attract"])
    posted: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    clock: list[float] = field(default_factory=lambda: [1000.0])
    hour: list[int] = field(default_factory=lambda: [23])
    boots: list[int] = field(default_factory=lambda: [0])

    def __post_init__(self) -> None:
        self.link = UpdateLink(self.tmp / "kiosk", self.tmp / "updater")
        self.installer = SimInstaller(self.tmp / "slots.json", KEY, OLD, self._rebooted)
        cred = self.server.credentials(KIOSK)
        tls = Tls(ca=self.server.home.ca_cert, cert=cred.cert, key=cred.key).context()
        self.agent = UpdateAgent(
            self.link,
            self.installer,
            Fetcher(self.server.url, tls),
            gate_seconds=300,
            clock=lambda: dt.datetime(2026, 12, 6, self.hour[0], 30),
            boot=lambda: str(self.boots[0]),
            now=lambda: self.clock[0],
        )
        self.kiosk = self._monitor(OLD)

    def _monitor(self, version: str) -> HealthMonitor:
        printer = PrintService(
            kiosk_client(self.server, KIOSK), SimSpooler(), card_stock=CardStock(MemoryCardLedger())
        )
        return HealthMonitor(
            lambda what, **kw: self.posted.append((what, kw)),
            lambda: ReaderState.EMPTY,
            printer,
            flow_state=lambda: self.flow[0],
            update_link=self.link,
            version=version,
        )

    def _rebooted(self) -> None:
        """The machine comes back: a new boot, the kiosk of the slot that booted."""
        self.boots[0] += 1
        self.flow[0] = "attract"
        self.kiosk = self._monitor(self.installer.running().version)

    def idle_for_update(self) -> None:
        """The kiosk between sessions: the verdict goes to the flow, which shows the
        out-of-service screen; the next check tells the updater."""
        self.kiosk.check_once()
        assert self.posted[-1] == ("service_down", {"reason": "updating"})
        self.flow[0] = "out_of_service"
        self.kiosk.check_once()


def publish(srv: EmbeddedServer, version: str, data: bytes) -> None:
    folder = srv.home.releases_dir
    folder.mkdir(exist_ok=True)
    (folder / f"{version}.bundle").write_bytes(data)
    engine = make_engine(srv.database_url)
    try:
        with session_factory(engine)() as db:
            rollout.publish(db, version, hashlib.sha256(data).hexdigest(), len(data), None, "t")
            rollout.create(
                db,
                version=version,
                office="",
                canary=[KIOSK],
                canary_percent=0,
                percent=100,
                window=("22:00", "05:00"),
                max_failures=1,
                actor="console:test",
            )
            db.commit()
    finally:
        engine.dispose()


def on_server(srv: EmbeddedServer) -> tuple[Kiosk, Rollout, list[str]]:
    engine = make_engine(srv.database_url)
    try:
        with session_factory(engine)() as db:
            kiosk = db.get(Kiosk, KIOSK)
            found = db.scalars(select(Rollout).order_by(Rollout.id.desc())).first()
            actions = list(db.scalars(select(AuditEntry.action)))
            assert kiosk is not None and found is not None
            db.expunge_all()
            return kiosk, found, actions
    finally:
        engine.dispose()


@pytest.fixture
def rig(server: EmbeddedServer, tmp_path: Path) -> Iterator[Rig]:
    yield Rig(server, tmp_path)


def test_a_good_release_waits_for_the_session_installs_and_passes_its_gate(rig: Rig) -> None:
    publish(rig.server, NEW, sim_bundle(KEY, NEW))
    rig.kiosk.heartbeat_once()  # the answer names NEW
    assert rig.link.target() is not None and rig.link.target().version == NEW  # type: ignore[union-attr]
    # A citizen is in a session: the bundle is fetched, the kiosk asked, nothing installed.
    rig.flow[0] = "print_documents"
    assert rig.agent.step() == "waiting"
    assert (rig.tmp / "updater" / "bundles" / f"{NEW}.bundle").read_bytes() == sim_bundle(KEY, NEW)
    rig.kiosk.check_once()
    assert not rig.link.drained()  # the flow takes the verdict only after the session
    assert rig.agent.step() == "waiting" and rig.installer.state()["reboots"] == 0
    rig.idle_for_update()
    assert rig.link.drained()
    assert rig.agent.step() == "installing"  # installed, rebooted into slot b
    assert rig.installer.running().version == NEW and rig.installer.running().slot == "b"
    assert rig.agent.step() == "booted"  # the gate: the new kiosk has not served yet
    rig.kiosk.check_once()  # it serves: nothing asks it to stand idle any more
    assert rig.link.ready() == NEW
    assert rig.agent.step() == "ok"
    assert rig.installer.state()["good"]["b"]
    assert not list((rig.tmp / "updater" / "bundles").glob("*.bundle"))
    rig.kiosk.heartbeat_once()
    kiosk, found, _ = on_server(rig.server)
    assert (kiosk.version, kiosk.update_state, kiosk.update_target) == (NEW, "ok", NEW)
    assert found.state == "active"
    assert rig.agent.step() == "ok"  # and it stays there


def test_a_release_that_never_gets_ready_is_rolled_back_and_the_rollout_paused(rig: Rig) -> None:
    publish(rig.server, NEW, sim_bundle(KEY, NEW))
    rig.kiosk.heartbeat_once()
    rig.agent.step()
    rig.idle_for_update()
    assert rig.agent.step() == "installing"
    assert rig.agent.step() == "booted"
    rig.clock[0] += 299
    assert rig.agent.step() == "booted"  # not READY, but within the gate's time
    rig.clock[0] += 2
    assert rig.agent.step() == "booted"  # past it: marked bad, rebooted
    assert rig.installer.running().version == OLD and rig.installer.running().slot == "a"
    assert rig.agent.step() == "rolled_back"
    report = rig.link.report()
    assert report is not None and report["why"] == "health gate: not READY in 300 s"
    rig.kiosk.check_once()
    assert rig.link.ready() == OLD  # the old version serves again
    rig.kiosk.heartbeat_once()
    kiosk, found, actions = on_server(rig.server)
    assert (kiosk.version, kiosk.update_state) == (OLD, "rolled_back")
    assert found.state == "paused" and "update_rolled_back" in actions
    # The server says nothing more to this kiosk; it does not try again.
    assert rig.link.target() is None
    assert rig.agent.step() == "rolled_back" and rig.installer.state()["reboots"] == 2
    # The next release: its bundle replaces the refused one in the cache (the data
    # partition holds one bundle, not every release ever tried).
    assert (rig.tmp / "updater" / "bundles" / f"{NEW}.bundle").is_file()
    publish(rig.server, "1.2.0", sim_bundle(KEY, "1.2.0"))
    rig.kiosk.heartbeat_once()
    rig.agent.step()
    cached = sorted(p.name for p in (rig.tmp / "updater" / "bundles").iterdir())
    assert cached == ["1.2.0.bundle"]


def test_a_forged_bundle_is_refused_and_the_kiosk_serves_again(rig: Rig) -> None:
    publish(rig.server, NEW, sim_bundle(b"someone else's key", NEW))
    rig.kiosk.heartbeat_once()
    rig.agent.step()
    rig.idle_for_update()
    assert rig.agent.step() == "failed"
    assert rig.installer.running().version == OLD and rig.installer.state()["reboots"] == 0
    report = rig.link.report()
    assert report is not None and "signature" in report["why"]
    rig.kiosk.check_once()
    assert rig.posted[-1] == ("service_up", {})
    rig.kiosk.heartbeat_once()
    kiosk, found, actions = on_server(rig.server)
    assert kiosk.update_state == "failed" and found.state == "paused"
    assert "update_failed" in actions


def test_outside_its_window_nothing_is_fetched_and_the_kiosk_keeps_serving(rig: Rig) -> None:
    publish(rig.server, NEW, sim_bundle(KEY, NEW))
    rig.hour[0] = 14
    rig.kiosk.heartbeat_once()
    assert rig.agent.step() == "waiting"
    assert not (rig.tmp / "updater" / "bundles").exists()
    rig.kiosk.check_once()
    assert rig.posted[-1] == ("service_up", {})
    rig.hour[0] = 2  # 02:30 is inside 22:00-05:00
    assert rig.agent.step() == "waiting"
    assert rig.link.requested()


def test_a_power_cut_during_the_install_installs_again(rig: Rig) -> None:
    """The updater dies while the slot is written: the machine boots the old slot (the
    switch had not happened), and the next step starts the install over."""
    publish(rig.server, NEW, sim_bundle(KEY, NEW))
    rig.kiosk.heartbeat_once()
    rig.agent.step()
    rig.idle_for_update()

    def cut(bundle: Path) -> str:
        raise SystemExit("power cut")

    real = rig.installer.install
    rig.installer.install = cut  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        rig.agent.step()
    rig.installer.install = real  # type: ignore[method-assign]
    rig.installer.reboot()
    assert rig.installer.running().version == OLD
    assert rig.agent.step() == "waiting"  # reported, not as a failure
    report = rig.link.report()
    assert report is not None and report["why"] == "the install was interrupted"
    assert rig.agent.step() == "waiting"  # the bundle is kept: the kiosk is asked again
    rig.idle_for_update()
    assert rig.agent.step() == "installing"
    assert rig.installer.running().version == NEW


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_whatever_is_in_the_files_the_link_reads_a_valid_message_or_nothing(
    data: bytes,
) -> None:
    """Each side reads the other's files as untrusted: garbage is never passed on."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        link = UpdateLink(Path(folder), Path(folder))
        for name in ("report.json", "target.json"):
            (Path(folder) / name).write_bytes(data)
        report, target = link.report(), link.target()
        assert report is None or report["state"] in get_args(UpdateState)
        assert target is None or target.version
        link.store_target({"rollout": "x"})  # malformed: ignored, never written
        assert (Path(folder) / "target.json").read_bytes() == data
