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
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.card.base import AuthenticationFailed, CardRemoved, DataNotAuthentic, NotAnEktp
from kiosk import messages
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
        ("blank", "not_an_ektp"),
        ("foreign", "not_an_ektp"),
        ("tampered", "data_not_authentic"),
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
        assert app.flow.view().error == message
        rig.remove_card()
        run_until(app, lambda: app.flow.state == "attract", "idle")
    assert app.flow.session.identity is None


def test_kiosk_reads_cards_after_a_pcscd_restart(rig: Rig, pcsc_kiosk: KioskApp) -> None:
    """GIVEN a running kiosk that has read a card WHEN pcscd is killed and restarted
    THEN the next card is read (card slot and SAM) without restarting the kiosk."""
    app = pcsc_kiosk
    for person in (HOLDERS[0], HOLDERS[2]):
        rig.insert_card(person["nik"])
        # A tap while the kiosk was out of service (pcscd gone) is not lost: back at the
        # idle screen it asks to lift the card and tap again.
        run_until(
            app,
            lambda: (
                app.flow.state == "choose_documents"
                or (app.flow.state == "attract" and app.flow.view().prompt == messages.LIFT_AND_TAP)
            ),
            "the documents or the lift-and-tap prompt",
        )
        if app.flow.state == "attract":
            rig.insert_card(person["nik"])  # lifted and tapped again
            run_until(app, lambda: app.flow.state == "choose_documents", "the documents")
        assert app.flow.view().name == person["name"].upper()
        rig.remove_card()
        run_until(app, lambda: app.flow.state == "attract", "idle")
        if person is HOLDERS[0]:
            rig.restart_pcscd()


def test_a_t0_chip_and_sam_are_read_through_pcscd(
    rig: Rig, service: CardService, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN a chip and a SAM that answer as T=0 cards (61xx + GET RESPONSE, 6Cxx for a
    wrong Le) behind pcscd WHEN the kiosk reads the card THEN it follows both and reads
    the same citizen; the APDU trace shows the chaining happened."""
    rig.insert_sam(t0=True)
    try:
        rig.insert_card(HOLDERS[2]["nik"], t0=True)
        with caplog.at_level(logging.DEBUG, logger="drivers.card.traffic"):
            data = service.read()
    finally:
        rig.insert_sam()
    assert data.biodata.nik == HOLDERS[2]["nik"]
    answers = [r.getMessage() for r in caplog.records if r.name == "drivers.card.traffic"]
    assert any(a.startswith("< 61") for a in answers), answers[:20]
    assert any(a.startswith("< 6C") for a in answers), answers[:20]
    assert any(a.startswith("> 00 c0") for a in answers)  # GET RESPONSE sent
    # ... and the SAM's answers to its class-80 commands fetched in class 80.
    assert any(a.startswith("> 80 c0") for a in answers), answers[:40]


# (APDU, status word, tag of the data expected or None) sent by opensc-tool in order.
ISO_SELECTS = [
    ("00 A4 00 0C 02 3F 00", "90 00", None),  # the MF by identifier
    ("00 A4 00 00 00", "90 00", 0x6F),  # the MF, P1=00 with no data, its FCI
    ("00 A4 04 04 09 F0 41 44 4D 2D 45 4B 54 50 00", "90 00", 0x62),  # DF by name, FCP
    ("00 A4 02 04 02 6F F0 00", "90 00", 0x62),  # an EF of the DF, its FCP
    # Its content, shorter than the 256 asked for: a T=1 chip says so (6282), a T=0 chip
    # answers 6Cxx with the length and OpenSC asks again with it.
    ("00 B0 00 00 00", "62 82|90 00", 0x66),
    ("00 A4 03 0C", "90 00", None),  # back to the DF
    ("00 A4 05 0C 02 7F 0A", "6A 86", None),  # P1 is checked before the length
    ("00 A4 04 0C", "6A 87", None),  # by name without a name
    ("00 A4 02 0C 02 6F F9", "6A 82", None),  # no such EF
    ("80 A4 00 0C 02 3F 00", "6E 00", None),  # a proprietary class is not the chip's
]


def _reader_number(name: str) -> str:
    listed = subprocess.run(["opensc-tool", "-l"], capture_output=True, text=True, timeout=30)
    for line in listed.stdout.splitlines():
        if line.rstrip().endswith(name):
            return line.split()[0]
    raise AssertionError(f"opensc-tool does not list {name}: {listed.stdout}")


@pytest.mark.parametrize("t0", [False, True], ids=["T=1", "T=0"])
def test_opensc_tool_gets_iso_7816_4_answers_and_the_kiosk_reads_the_card(
    rig: Rig, service: CardService, t0: bool
) -> None:
    """GIVEN the virtual e-KTP behind the real pcscd, answering as a T=1 or a T=0 chip
    WHEN OpenSC's opensc-tool sends SELECT MF, SELECT by DF name, FCP/FCI requests and
    wrong class and P1 bytes THEN each answer is ISO/IEC 7816-4's; and the kiosk's own
    read of the same card succeeds."""
    person = HOLDERS[4]
    rig.insert_card(person["nik"], t0=t0)
    argv = ["opensc-tool", "-r", _reader_number("Virtual PCD 00 00")]
    for command, _, _ in ISO_SELECTS:
        argv += ["-s", command]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    answers = out.stdout.split("Sending: ")[1:]
    assert len(answers) == len(ISO_SELECTS), out.stdout
    for (command, sw, tag), answer in zip(ISO_SELECTS, answers, strict=True):
        sw1, sw2 = sw.split("|")[-1 if t0 else 0].split()
        assert f"Received (SW1=0x{sw1}, SW2=0x{sw2})" in answer, (command, answer)
        data = answer.split("):", 1)[1].strip() if "):" in answer else ""
        if tag is None:
            assert data == "", (command, answer)
        else:
            assert data.startswith(f"{tag:02X} "), (command, answer)
    assert service.read().biodata.nik == person["nik"]


def test_sam_authentication_is_one_pcsc_transaction(rig: Rig, service: CardService) -> None:
    """GIVEN another process's connection to the shared SAM slot WHEN it sends SAM
    CHALLENGE between the kiosk's CHALLENGE and VERIFY THEN pcscd holds it back until the
    authentication is over (else the SAM's challenge would be replaced and a genuine card
    refused)."""
    from drivers.card.apdu import encode
    from drivers.card.pcsc import PcscReader
    from drivers.card.sam import INS_CHALLENGE

    other = PcscReader("Virtual PCD 00 01")
    other.open()
    other_conn = other.connect()
    order: list[str] = []
    done = threading.Event()

    def interlope() -> None:
        other_conn.transmit(encode(0x80, INS_CHALLENGE, 0, 0, le=8))
        order.append("interloper")
        done.set()

    sam = service.sam
    real_challenge, real_verify = sam.challenge, sam.verify
    seen_inside: list[bool] = []

    def challenge() -> bytes:
        rnd = real_challenge()
        threading.Thread(target=interlope, daemon=True).start()
        seen_inside.append(done.wait(0.5))  # must stay blocked: bounded wait, expected False
        return rnd

    def verify(response: bytes) -> bool:
        ok = real_verify(response)
        order.append("verify")
        return ok

    sam.challenge, sam.verify = challenge, verify  # type: ignore[method-assign]
    try:
        rig.insert_card(HOLDERS[0]["nik"])
        data = service.read()
    finally:
        sam.challenge, sam.verify = real_challenge, real_verify  # type: ignore[method-assign]
        assert done.wait(10)
        other.close()
    assert data.biodata.nik == HOLDERS[0]["nik"]
    assert seen_inside == [False]
    assert order == ["verify", "interloper"]
