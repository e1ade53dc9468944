"""The central server believes only what a kiosk can prove: a kiosk reports what it is
made of with every session opening and heartbeat, and a real server refuses e-KTP
sessions from one that reports simulated parts or the demo mode (or, after the
cut-over, nothing): refused over the real HTTP API, audited, and shown on the console.
A demo configuration cannot point at anything but the simulator's server."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from drivers.fingerprint.sim import SimMatcher
from kiosk.app import KioskApp
from kiosk.config import ConfigError, demo_against_real_server, load
from kiosk.server_client import ServerClient, ServerRefused
from printing.sim_spooler import SimSpooler
from protocol.api import KioskBuild
from server.alerts import AlertRules, fleet
from server.db import AuditEntry, Kiosk, utcnow
from server.logthrottle import LogThrottle
from sim.embedded import EmbeddedServer
from sim.population import DEMO_NIK
from sim.seed import card_assertion, demo_pin
from tests.conftest import kiosk_client
from tests.console_helpers import database
from tests.rig_config import rig_config

CARD = card_assertion(0.93)
REAL = {"mode": "production", "simulated": []}
DEMO = {"mode": "demo", "simulated": ["card", "fingerprint"]}


@pytest.fixture
def real_server(any_server: EmbeddedServer) -> Iterator[EmbeddedServer]:
    """The server as ``adm-server serve`` runs it: simulated kiosks are not believed."""
    any_server.settings.accept_simulated = False
    yield any_server


def refusal(client: ServerClient) -> ServerRefused:
    with pytest.raises(ServerRefused) as err:
        client.open_session("ektp", nik=DEMO_NIK, card=CARD)
    return err.value


def trust_alert(srv: EmbeddedServer, kiosk: str = "kiosk-test") -> str | None:
    with database(srv) as db:
        row = db.get(Kiosk, kiosk)
        return row.trust_alert if row else None


def test_a_simulated_kiosk_is_refused_e_ktp_sessions_audited_and_alerted(
    real_server: EmbeddedServer,
) -> None:
    client = kiosk_client(real_server, build=DEMO)
    err = refusal(client)
    assert err.status == 403 and err.detail["code"] == "untrusted_kiosk"
    assert err.detail["build"] == "simulated:card,fingerprint"
    assert trust_alert(real_server) == "simulated:card,fingerprint"
    with database(real_server) as db:
        audited = db.scalars(
            select(AuditEntry).where(AuditEntry.action == "ektp_refused_untrusted")
        ).all()
        assert [(a.actor, a.subject, a.detail["build"]) for a in audited] == [
            ("kiosk-test", "3201********0001", "simulated:card,fingerprint")
        ]
        alerts = [a for v in fleet(db, AlertRules(), utcnow()) for a in v.alerts]
        assert [(a.kind, a.values["what"]) for a in alerts if a.kind == "untrusted"] == [
            ("untrusted", "simulated:card,fingerprint")
        ]
    # The NIK + PIN path does not rest on the kiosk's devices: still served.
    assert client.open_session("pin", nik=DEMO_NIK, pin=demo_pin(DEMO_NIK))["session"]


@pytest.mark.parametrize(
    ("build", "label"),
    [
        ({"mode": "demo", "simulated": []}, "demo"),
        ({"mode": "production", "simulated": ["fingerprint"]}, "simulated:fingerprint"),
    ],
)
def test_demo_mode_or_one_simulated_part_is_enough_to_be_refused(
    real_server: EmbeddedServer, build: dict, label: str
) -> None:
    err = refusal(kiosk_client(real_server, build=build))
    assert err.detail["build"] == label


def test_a_kiosk_of_real_parts_is_served(real_server: EmbeddedServer) -> None:
    client = kiosk_client(real_server, build=REAL)
    assert client.open_session("ektp", nik=DEMO_NIK, card=CARD)["session"]
    assert trust_alert(real_server) is None


def test_a_kiosk_reporting_nothing_is_served_until_the_cut_over(
    real_server: EmbeddedServer,
) -> None:
    client = kiosk_client(real_server, build=None)
    assert real_server.settings.unreported_refused_from > utcnow()
    assert client.open_session("ektp", nik=DEMO_NIK, card=CARD)["session"]
    real_server.settings.unreported_refused_from = utcnow() - dt.timedelta(seconds=1)
    err = refusal(client)
    assert err.detail == {
        "code": "untrusted_kiosk",
        "message": err.detail["message"],
        "build": "unreported",
    }
    assert trust_alert(real_server) == "unreported"


def test_the_simulators_own_server_serves_the_simulated_kiosk(server: EmbeddedServer) -> None:
    client = kiosk_client(server, build=DEMO)
    assert client.open_session("ektp", nik=DEMO_NIK, card=CARD)["session"]
    assert trust_alert(server) is None


def test_heartbeat_carries_the_build_and_a_simulated_one_raises_the_alert(
    real_server: EmbeddedServer,
) -> None:
    client = kiosk_client(real_server, build=REAL)
    client.heartbeat("attract", {}, {})
    with database(real_server) as db:
        row = db.get(Kiosk, "kiosk-test")
        assert row is not None and row.last_status["build"] == REAL
        assert row.trust_alert is None
        view = next(v for v in fleet(db, AlertRules(), utcnow()) if v.id == "kiosk-test")
        assert view.build == "production"
    kiosk_client(real_server, build=DEMO).heartbeat("attract", {}, {})
    assert trust_alert(real_server) == "simulated:card,fingerprint"
    # The first reason stays until a supervisor acknowledges it.
    kiosk_client(real_server, build={"mode": "demo", "simulated": []}).heartbeat("attract", {}, {})
    assert trust_alert(real_server) == "simulated:card,fingerprint"


def test_the_kiosk_reports_every_part_it_did_not_build_itself() -> None:
    cfg = rig_config()
    assert KioskApp(cfg).build_report() == {"mode": "production", "simulated": []}
    app = KioskApp(cfg, spooler=SimSpooler(), matcher=SimMatcher())
    assert app.build_report() == {"mode": "production", "simulated": ["fingerprint", "printer"]}
    cfg.kiosk.mode, cfg.card.backend = "demo", "sim"
    cfg.server.backend = "embedded"
    report = KioskApp(cfg).build_report()
    assert report == {"mode": "demo", "simulated": ["card", "server"]}
    assert KioskBuild.model_validate(report).label == "simulated:card,server"


def test_the_kiosk_sends_its_report_with_sessions_and_heartbeats(
    real_server: EmbeddedServer,
) -> None:
    """The kiosk itself (KioskApp with a simulated matcher handed in) says so, and the
    real server refuses its e-KTP session."""
    from tests.conftest import point_at

    cfg = rig_config()
    point_at(cfg, real_server)
    app = KioskApp(cfg, spooler=SimSpooler(), matcher=SimMatcher())
    app.start()
    try:
        client = app.printer.server
        assert client.build == {"mode": "production", "simulated": ["fingerprint", "printer"]}
        with pytest.raises(ServerRefused) as err:
            client.open_session("ektp", nik=DEMO_NIK, card=CARD)
        assert err.value.detail["build"] == "simulated:fingerprint,printer"
    finally:
        app.stop()


def test_a_demo_configuration_refuses_a_real_server(tmp_path: Path) -> None:
    cfg = rig_config()
    cfg.kiosk.mode = "demo"
    cfg.server.backend = "http"
    with pytest.raises(ConfigError, match=r"^server\.backend: .http. is refused with kiosk"):
        demo_against_real_server(cfg)
    with pytest.raises(ConfigError, match=r"^server\.backend: "):
        KioskApp(cfg).start()
    keys = Path(__file__).resolve().parent.parent / "config" / "keys"
    key = keys / "ektp-issuer-test.pem"
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'[kiosk]\nmode = "demo"\n[card]\nissuer_key = "{key}"\n'
        f'[server]\nbackend = "http"\nca = "{key}"\ncert = "{key}"\nkey = "{key}"\n'
        f'issuer_key = "{key}"\n'
    )
    with pytest.raises(ConfigError, match=r"^server\.backend: .http. is refused"):
        load(path)


def test_repeated_conditions_are_logged_once_per_period_with_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    throttle = LogThrottle(logging.getLogger("t"), period=60, clock=lambda: now[0])
    with caplog.at_level(logging.ERROR, "t"):
        for _ in range(269):
            throttle.emit("k1|rewritten", "kiosk %s: audit chain %s", "k1", "rewritten")
        throttle.emit("k2|rewritten", "kiosk %s: audit chain %s", "k2", "rewritten")
        now[0] = 61
        throttle.emit("k1|rewritten", "kiosk %s: audit chain %s", "k1", "rewritten")
    assert [r.getMessage() for r in caplog.records] == [
        "kiosk k1: audit chain rewritten",
        "kiosk k2: audit chain rewritten",
        "kiosk k1: audit chain rewritten (and 268 more times in the last 60 s)",
    ]
