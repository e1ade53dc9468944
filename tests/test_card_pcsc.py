"""The e-KTP through the real PC/SC stack: pcscd + vpcd + the virtual chip and SAM.

Covers good cards for several citizens, every injected fault (each ends in the right
error and the kiosk back at idle), the technician's ``adm-kiosk card read``, and the APDU
trace (which must not carry personal data).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.card.base import AuthenticationFailed, CardRemoved, DataNotAuthentic, NotAnEktp
from kiosk.app import KioskApp, make_card_service
from kiosk.card_service import CardService
from kiosk.config import DEMO_FILE, load
from sim.cards import card_holders
from sim.rig import Rig
from tests.conftest import run_until

pytestmark = pytest.mark.rig

HOLDERS = card_holders()


def card_read(*args: str, config: Path = DEMO_FILE) -> subprocess.CompletedProcess[str]:
    extra = ["--config", str(config)]
    return subprocess.run(
        [sys.executable, "-m", "cli.kiosk", "card", "read", *extra, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("person", HOLDERS[::3], ids=lambda p: p["name"])
def test_card_read_cli_good_card(rig: Rig, person: dict[str, str]) -> None:
    rig.insert_card(person["nik"])
    try:
        res = card_read("--json")
    finally:
        rig.remove_card()
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["status"] == "ok"
    assert report["name"] == person["name"].upper()
    assert report["nik"] == person["nik"][:4] + "********" + person["nik"][-4:]
    assert person["nik"] not in res.stdout + res.stderr
    assert report["signature"] == "valid"
    assert report["apdus"] > 10 and report["ms_per_phase"]["authenticate"] > 0


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("blank", "NotAnEktp"),
        ("foreign", "NotAnEktp"),
        ("tampered", "DataNotAuthentic"),
        ("pulled", "CardRemoved"),
    ],
)
def test_card_read_cli_faults(rig: Rig, fault: str, error: str) -> None:
    rig.insert_card(HOLDERS[0]["nik"], fault=fault)
    try:
        res = card_read("--json")
    finally:
        rig.remove_card()
    assert res.returncode == 1
    assert json.loads(res.stdout)["error"] == error


def test_card_read_cli_wrong_sam_keys(rig: Rig) -> None:
    rig.insert_sam(wrong_keys=True)
    try:
        rig.insert_card(HOLDERS[0]["nik"])
        res = card_read("--json")
    finally:
        rig.remove_card()
        rig.insert_sam()
    assert res.returncode == 1
    report = json.loads(res.stdout)
    assert report["error"] == "AuthenticationFailed"
    assert report["sam"] == {"serial": b"SAM00001".hex(), "key_version": "01"}


def test_card_read_cli_no_card(rig: Rig) -> None:
    rig.remove_card()
    res = card_read()
    assert res.returncode == 1
    assert "no card on the reader" in res.stderr


def test_card_read_cli_no_reader(rig: Rig, tmp_path: Path) -> None:
    text = DEMO_FILE.read_text()
    conf = tmp_path / "kiosk.toml"
    conf.write_text(text.replace('reader = "Virtual PCD 00 00"', 'reader = "Acme Contactless"'))
    (tmp_path / "keys").symlink_to(Path(__file__).parent.parent / "config" / "keys")
    res = card_read(config=conf)
    assert res.returncode == 1
    assert "'Acme Contactless' not found" in res.stderr


@pytest.fixture
def service(rig: Rig) -> Iterator[CardService]:
    svc = make_card_service(load(DEMO_FILE))
    svc.open()
    yield svc
    svc.close()
    rig.remove_card()


@pytest.mark.parametrize(
    ("fault", "error"),
    [("blank", NotAnEktp), ("tampered", DataNotAuthentic), ("pulled", CardRemoved)],
)
def test_service_faults(rig: Rig, service: CardService, fault: str, error: type) -> None:
    rig.insert_card(HOLDERS[1]["nik"], fault=fault)
    with pytest.raises(error):
        service.read()


def test_wrong_sam_keys(rig: Rig, service: CardService) -> None:
    rig.insert_sam(wrong_keys=True)
    try:
        rig.insert_card(HOLDERS[0]["nik"])
        with pytest.raises(AuthenticationFailed):
            service.read()
    finally:
        rig.insert_sam()
    # The kiosk's SAM session reconnects to the replaced SAM by itself.
    assert service.read().biodata.nik == HOLDERS[0]["nik"]


def test_slow_card_still_reads(rig: Rig, service: CardService) -> None:
    rig.insert_card(HOLDERS[2]["nik"], delay_ms=20)
    started = time.monotonic()
    data = service.read()
    assert data.biodata.nik == HOLDERS[2]["nik"]
    assert time.monotonic() - started > 20 * 15 / 1000  # every APDU really was slow


def test_apdu_trace_carries_no_personal_data(
    rig: Rig, service: CardService, caplog: pytest.LogCaptureFixture
) -> None:
    person = HOLDERS[0]
    rig.insert_card(person["nik"])
    with caplog.at_level(logging.DEBUG, logger="drivers.card.traffic"):
        service.read()
    trace = [r.getMessage() for r in caplog.records if r.name == "drivers.card.traffic"]
    assert len(trace) > 20
    text = "\n".join(trace).lower()
    for secret in (person["nik"], person["name"].lower()):
        assert secret not in text
        assert secret.encode().hex() not in text.replace(" ", "")


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("blank", "bukan e-KTP"),
        ("foreign", "bukan e-KTP"),
        ("tampered", "tidak sah"),
        ("pulled", None),
    ],
)
def test_kiosk_returns_to_idle_after_a_bad_card(
    rig: Rig, pcsc_kiosk: KioskApp, fault: str, message: str | None
) -> None:
    """GIVEN the kiosk on the real PC/SC stack WHEN a faulty card is tapped THEN the
    citizen sees why (or, for a pulled card, the session simply ends) and the kiosk is
    back at idle once the card is gone."""
    app = pcsc_kiosk
    seen: list[str] = []
    app.flow.add_listener(lambda state, view: seen.append(state))
    rig.insert_card(HOLDERS[0]["nik"], fault=fault)
    if message is None:
        run_until(
            app,
            lambda: "reading_card" in seen and app.flow.state == "attract",
            "the session to end",
        )
    else:
        run_until(app, lambda: app.flow.state == "error", "the error screen")
        assert message in app.flow.view().error
        rig.remove_card()
        run_until(app, lambda: app.flow.state == "attract", "idle")
    assert app.flow.session.identity is None


def test_kiosk_reads_cards_after_a_pcscd_restart(rig: Rig, pcsc_kiosk: KioskApp) -> None:
    """GIVEN a running kiosk that has read a card WHEN pcscd is killed and restarted
    THEN the next card is read (card slot and SAM) without restarting the kiosk."""
    app = pcsc_kiosk
    for person in (HOLDERS[0], HOLDERS[2]):
        rig.insert_card(person["nik"])
        run_until(app, lambda: app.flow.state == "choose_documents", "the documents")
        assert app.flow.view().name == person["name"].upper()
        rig.remove_card()
        run_until(app, lambda: app.flow.state == "attract", "idle")
        if person is HOLDERS[0]:
            rig.restart_pcscd()
