"""The fingerprint module and the QR scanner: the real drivers (pyserial) against the
emulators on real pty pairs (sim/serial_devices.py), the packet parser and the line
reader fuzzed, and the kiosk's flow on the emulated module."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.fingerprint.base import MatchResult
from drivers.fingerprint.module import (
    ModuleSettings,
    PoorImage,
    ProtocolFault,
    ScannerMisconfigured,
    ScannerTimeout,
    ScannerUnplugged,
)
from drivers.fingerprint.packets import (
    FingerprintProtocolError,
    Instruction,
    Packet,
    Pid,
    command,
    encode,
    read_packet,
)
from drivers.fingerprint.serial_backend import serial_module
from drivers.qr.lines import LineAssembler
from drivers.qr.serial_backend import SerialQrScanner
from sim.cards import minutiae_template
from sim.population import DEMO_NIK
from sim.serial_devices import send_control

TEMPLATES = (minutiae_template(DEMO_NIK, 2), minutiae_template(DEMO_NIK, 7))


@dataclass
class Emulator:
    link: Path
    ctl: Path
    process: subprocess.Popen[bytes]

    def __call__(self, **command: Any) -> None:
        assert send_control(self.ctl, command) == "ok"

    def report(self) -> dict[str, int]:
        """What the emulated module counted: packets, and packets no driver may send."""
        return dict(json.loads(send_control(self.ctl, {"report": True})))


def _start(kind: str, tmp: Path, baud: int) -> Iterator[Emulator]:
    link, ctl = tmp / "dev" / kind, tmp / "dev" / f"{kind}.ctl"
    argv = [sys.executable, "-m", "sim.serial_devices", kind, "--baud", str(baud)]
    proc = subprocess.Popen(
        [*argv, "--link", str(link), "--control", str(ctl)],
    )
    _wait(lambda: (ctl.exists() and link.exists()) or proc.poll() is not None, "the emulator", 15)
    assert proc.poll() is None, "the emulator exited"
    yield Emulator(link, ctl, proc)
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def finger(tmp_path: Path) -> Iterator[Emulator]:
    for e in _start("fingerprint", tmp_path, 57600):
        e(holder=DEMO_NIK)  # the finger "holder" is the demo citizen's (TEMPLATES)
        yield e


@pytest.fixture
def qr(tmp_path: Path) -> Iterator[Emulator]:
    yield from _start("qr", tmp_path, 115200)


# ---------------------------------------------------------------- the packet protocol


def test_a_command_packet_is_the_documented_bytes() -> None:
    # GenImg to the default address, as the module family's manual gives it.
    assert command(Instruction.GEN_IMG) == bytes.fromhex("EF01FFFFFFFF010003010005")
    packet = read_packet(_reader(bytes.fromhex("EF01FFFFFFFF07000300000A")))
    assert packet == Packet(0xFFFFFFFF, Pid.ACK, b"\x00")


def _reader(data: bytes) -> Any:
    pos = 0

    def read(n: int) -> bytes:
        nonlocal pos
        out = data[pos : pos + n]
        pos += len(out)
        return out

    return read


@settings(max_examples=300, deadline=200)
@given(st.binary(max_size=600))
def test_any_bytes_are_a_packet_or_a_typed_error(data: bytes) -> None:
    try:
        packet = read_packet(_reader(data))
    except FingerprintProtocolError:
        return
    assert packet.encode() == data[: len(packet.encode())]


@settings(max_examples=300, deadline=200)
@given(
    st.sampled_from(list(Pid)),
    st.binary(min_size=1, max_size=256),
    st.data(),
)
def test_every_single_byte_change_of_a_packet_is_caught(
    pid: Pid, payload: bytes, data: Any
) -> None:
    good = encode(pid, payload)
    assert read_packet(_reader(good)).payload == payload
    i = data.draw(st.integers(0, len(good) - 1))
    flip = data.draw(st.integers(1, 255))
    bad = good[:i] + bytes([good[i] ^ flip]) + good[i + 1 :]
    with pytest.raises(FingerprintProtocolError):
        read_packet(_reader(bad))


# ---------------------------------------------------------------- the QR line reader


@settings(max_examples=300, deadline=200)
@given(st.lists(st.binary(max_size=700), max_size=8))
def test_the_line_reader_passes_on_only_whole_printable_bounded_lines(chunks: list[bytes]) -> None:
    lines = LineAssembler(b"\r")
    for chunk in chunks:
        for line in lines.feed(chunk):
            assert line and line.isprintable() and len(line.encode()) <= 512


@settings(max_examples=200, deadline=200)
@given(
    st.lists(
        st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF), min_size=1, max_size=80),
        max_size=6,
    ),
    st.sampled_from([b"\r", b"\r\n"]),
    st.data(),
)
def test_lines_split_anywhere_come_out_whole(texts: list[str], eol: bytes, data: Any) -> None:
    texts = [t for t in texts if t.isprintable()]
    stream = b"".join(t.encode() + eol for t in texts)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=5)))
    lines, out, last = LineAssembler(eol), [], 0
    for cut in [*cuts, len(stream)]:
        out += lines.feed(stream[last:cut])
        last = cut
    assert out == texts


def test_garbage_overlong_and_partial_lines_are_dropped_with_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lines = LineAssembler(b"\r\n")
    caplog.set_level(logging.WARNING, "drivers.qr")
    assert lines.feed(b"\x00\x01\xff\r\n" + b"9" * 600 + b"\r\nABC") == []
    lines.reset()  # the port closed: "ABC" is not joined to the next line
    assert lines.feed(b"12345678\r\n") == ["12345678"]
    assert lines.dropped == 3 and len(caplog.records) == 3


# ---------------------------------------------------------------- the module, emulated


def module(e: Emulator, **kw: Any) -> Any:
    return serial_module(e.link, ModuleSettings(**kw))


@pytest.mark.parametrize(
    ("on_sensor", "result"),
    [
        ("holder", MatchResult.MATCH),
        ("other", MatchResult.NO_MATCH),
        ("worn", MatchResult.NO_MATCH),
    ],
)
def test_verification_against_the_chip_templates(
    finger: Emulator, on_sensor: str, result: MatchResult
) -> None:
    m = module(finger)
    m.open()
    assert m.parameters is not None and (m.parameters.baud, m.parameters.packet_size) == (
        57600,
        128,
    )
    finger(finger=on_sensor)
    match = m.verify(TEMPLATES, 2.0)
    assert match.result is result
    assert (match.score >= 50 / 300) == (result is MatchResult.MATCH)
    m.close()


def test_another_cards_templates_fail_where_the_holders_pass(finger: Emulator) -> None:
    """The emulator compares the downloaded templates with the finger on the sensor: the
    holder's finger against another citizen's card fails, against its own card passes;
    and the stranger's finger passes only against the stranger's templates."""
    from sim.serial_devices import STRANGER

    other_card = (
        minutiae_template("3578011207080005", 2),
        minutiae_template("3578011207080005", 7),
    )
    m = module(finger)
    m.open()
    finger(finger="holder")
    assert m.verify(other_card, 2.0).result is MatchResult.NO_MATCH
    assert m.verify(TEMPLATES, 2.0).result is MatchResult.MATCH
    assert m.verify((other_card[0], TEMPLATES[1]), 2.0).result is MatchResult.MATCH
    finger(finger="other")
    stranger = (minutiae_template(STRANGER, 2),)
    assert m.verify(TEMPLATES, 2.0).result is MatchResult.NO_MATCH
    assert m.verify(stranger, 2.0).result is MatchResult.MATCH
    finger(finger="holder", holder="3578011207080005")  # now the other card's holder
    assert m.verify(other_card, 2.0).result is MatchResult.MATCH
    assert m.verify(TEMPLATES, 2.0).result is MatchResult.NO_MATCH
    m.close()
    assert finger.report()["violations"] == 0


def test_health_verification_and_the_technicians_test_never_interleave(
    finger: Emulator,
) -> None:
    """Three owners at once, as on a kiosk: the health thread opening the module again,
    a citizen's verification, the technician's capture test.  The emulated module sees
    only whole, well-formed exchanges, and every verification matches."""
    m = module(finger)
    m.open()
    finger(finger="holder")
    errors: list[BaseException] = []
    results: list[MatchResult] = []
    start = threading.Barrier(3)

    def run(work: Any, times: int) -> None:
        start.wait()
        try:
            for _ in range(times):
                work()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [
        threading.Thread(
            target=run, args=(lambda: results.append(m.verify(TEMPLATES, 2.0).result), 6)
        ),
        threading.Thread(target=run, args=(m.open, 8)),  # what a health round does
        threading.Thread(target=run, args=(lambda: m.capture_test(2.0), 6)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    m.close()
    assert not errors, errors
    assert results == [MatchResult.MATCH] * 6
    report = finger.report()
    assert report["violations"] == 0 and report["packets"] > 6 * 6, report


def test_no_finger_and_a_poor_image(finger: Emulator) -> None:
    m = module(finger)
    m.open()
    started = time.monotonic()
    assert m.verify(TEMPLATES, 0.3).result is MatchResult.NO_FINGER
    assert time.monotonic() - started < 2
    finger(finger="poor")
    with pytest.raises(PoorImage):
        m.verify(TEMPLATES, 2.0)
    finger(finger="holder")
    assert m.verify(TEMPLATES, 2.0).result is MatchResult.MATCH  # then it works


@pytest.mark.parametrize(
    ("fault", "error"),
    [("silent", ScannerTimeout), ("checksum", ProtocolFault), ("address", ProtocolFault)],
)
def test_a_faulty_module_is_a_typed_error_in_bounded_time(
    finger: Emulator, fault: str, error: type[Exception]
) -> None:
    m = module(finger, answer_timeout=0.5)
    m.open()
    finger(finger="holder", fault=fault)
    started = time.monotonic()
    with pytest.raises(error):
        m.verify(TEMPLATES, 2.0)
    assert time.monotonic() - started < 3
    assert not m.is_open and m.last_error  # closed: reopened when it answers again
    finger(fault="none")
    assert m.verify(TEMPLATES, 2.0).result is MatchResult.MATCH


def test_a_slow_module_is_waited_for(finger: Emulator) -> None:
    m = module(finger)
    m.open()
    finger(finger="holder", fault="slow", delay=0.3)
    started = time.monotonic()
    assert m.verify(TEMPLATES, 2.0).result is MatchResult.MATCH
    assert time.monotonic() - started > 1.5  # six answers, each 0.3 s late


def test_unplug_and_replug_at_the_same_path(finger: Emulator) -> None:
    m = module(finger)
    m.open()
    finger(finger="holder", unplug=True)
    assert not finger.link.exists() and not m.present()
    with pytest.raises(ScannerUnplugged):
        m.verify(TEMPLATES, 2.0)
    with pytest.raises(ScannerUnplugged):
        m.open()
    finger(replug=True)
    assert m.present()
    m.open()
    assert m.verify(TEMPLATES, 2.0).result is MatchResult.MATCH


def test_a_module_set_otherwise_than_configured_is_refused(finger: Emulator) -> None:
    for kw in ({"baud": 115200}, {"packet_size": 64}):
        m = module(finger, **kw)
        with pytest.raises(ScannerMisconfigured, match="configured"):
            m.open()
        assert not m.is_open


def test_templates_never_reach_the_log(
    finger: Emulator, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    m = module(finger)
    m.open()
    finger(finger="holder")
    m.verify(TEMPLATES, 2.0)
    finger(finger="other")
    m.verify(TEMPLATES, 2.0)
    text = caplog.text
    for t in TEMPLATES:
        assert t.hex() not in text and t[4:40].hex() not in text and repr(t[4:40]) not in text


# ---------------------------------------------------------------- the QR scanner, emulated


def test_scanned_codes_arrive_and_garbage_does_not(qr: Emulator) -> None:
    got: list[str] = []
    arrived = threading.Condition()

    def on_code(text: str) -> None:
        with arrived:
            got.append(text)
            arrived.notify_all()

    scanner = SerialQrScanner(qr.link, retry=0.2)
    scanner.start(on_code)
    try:
        _wait(lambda: scanner.available, "the scanner open")
        qr(raw=(b"\x00\xfe\xff\x07" + b"\r").hex())  # binary noise
        qr(scan="X" * 600)  # over-long
        qr(scan="ADM-QR-TOKEN-123")
        with arrived:
            assert arrived.wait_for(lambda: got, timeout=5)
        assert got == ["ADM-QR-TOKEN-123"]
        # Unplugged: gone; replugged: back within seconds, without a restart.
        qr(unplug=True)
        _wait(lambda: not scanner.available, "the scanner gone")
        qr(replug=True)
        _wait(lambda: scanner.available, "the scanner back")
        qr(scan="12345678")
        with arrived:
            assert arrived.wait_for(lambda: len(got) == 2, timeout=5)
        assert got[1] == "12345678"
    finally:
        scanner.stop()


def _wait(cond: Any, what: str, timeout: float = 10) -> None:
    from tests.conftest import wait_for

    wait_for(cond, what, timeout, poll=0.02)


def test_the_rig_runs_both_emulators_and_the_cli_drives_them(rig: Any) -> None:
    assert rig.serial_link("fingerprint").exists() and rig.serial_link("qr").exists()
    cli = [sys.executable, "-m", "sim.cli"]
    ok = subprocess.run([*cli, "finger", "present", "holder"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([*cli, "finger", "present", "thumb"], capture_output=True, text=True)
    assert bad.returncode == 2
    m = serial_module(rig.serial_link("fingerprint"), ModuleSettings())
    m.open()
    try:
        assert m.verify(TEMPLATES, 2.0).result is MatchResult.MATCH
    finally:
        m.close()
        subprocess.run([*cli, "finger", "present", "none"], check=True, capture_output=True)


# ---------------------------------------------------------------- the kiosk, hot-plug


@pytest.mark.rig
def test_the_kiosk_follows_its_serial_devices_and_falls_back_to_pin(
    rig: Any, server: Any, finger: Emulator, qr: Emulator, tmp_path: Path
) -> None:
    """GIVEN a kiosk with the emulated module and scanner WHEN a finger matches THEN the
    session opens; WHEN the module is pulled mid-verification THEN NIK + PIN is offered;
    WHEN devices go and come back THEN the paths on offer follow within a round of the
    health check, without a restart, and the heartbeat says so."""
    from kiosk.app import KioskApp
    from tests.conftest import point_at, rig_config, run_until

    cfg = rig_config()
    point_at(cfg, server)
    cfg.kiosk.store = str(tmp_path / "kiosk.db")
    cfg.printer.server = str(rig.cups_socket)
    cfg.fingerprint.backend, cfg.fingerprint.port = "serial", str(finger.link)
    cfg.qr.backend, cfg.qr.port = "serial", str(qr.link)
    app = KioskApp(cfg)
    try:
        app.start()
        run_until(app, lambda: app.flow.state == "attract", "service")
        run_until(app, lambda: set(app.flow.services.paths) == {"ektp", "pin", "qr"}, "paths")
        # The officer's QR login token, scanned at the idle screen.
        from sim.seed import DEMO_QR_TOKEN

        qr(scan=DEMO_QR_TOKEN)
        run_until(app, lambda: app.flow.state == "choose_documents", "a QR session", 30)
        assert app.flow.session.method == "qr"
        app.flow.post("finish")
        run_until(app, lambda: app.flow.state == "attract", "idle", 30)
        finger(finger="holder")
        rig.insert_card(DEMO_NIK)
        run_until(app, lambda: app.flow.state == "choose_documents", "a matched session", 30)
        rig.remove_card()
        run_until(app, lambda: app.flow.state == "attract", "the session's end", 30)
        # Pulled while the citizen is asked for a finger.
        finger(finger="none")
        rig.insert_card(DEMO_NIK)
        run_until(app, lambda: app.flow.state == "verify_finger", "the finger screen", 30)
        finger(unplug=True)
        run_until(app, lambda: app.flow.state == "enter_pin", "the NIK + PIN offer", 30)
        assert app.flow.view().prompt == "finger_fallback|why=scanner"
        assert "ektp" not in app.flow.services.paths
        app.flow.post("finish")
        rig.remove_card()
        run_until(app, lambda: app.flow.state == "attract", "idle again", 30)
        qr(unplug=True)
        app.prepare()  # one round of the health check
        run_until(app, lambda: app.flow.services.paths == ("pin",), "only NIK + PIN")
        devices = app.serial_devices()
        assert devices["fingerprint"] != "ok" and devices["qr"] != "ok"
        finger(replug=True)
        qr(replug=True)
        app.prepare()
        run_until(app, lambda: set(app.flow.services.paths) == {"ektp", "pin", "qr"}, "back")
        assert app.serial_devices() == {"fingerprint": "ok", "qr": "ok"}
        checks = {c.name: c for c in app.device_checks()}
        assert checks["fingerprint"].ok and "baud=57600" in checks["fingerprint"].detail
        # The technician's live test: a finger captured, then a code scanned.
        finger(finger="holder")
        result: list[str] = []
        tester = threading.Thread(target=lambda: result.append(app.live_device_test(5.0)))
        tester.start()
        while tester.is_alive():
            qr(scan="TEST-CODE")
            tester.join(0.2)
        assert result == ["device_test|seconds=5|finger=ok|qr=read"]  # a notice, worded by ui/
    finally:
        app.stop()
        rig.remove_card()
    # Nothing of the chip's templates reached the disk: not the kiosk store (nor its WAL),
    # not the working folder.
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(t[28:60] in data for t in TEMPLATES), path


@pytest.mark.rig
def test_the_diagnostics_command_shows_the_devices_and_tests_them_live(
    rig: Any, server: Any, finger: Emulator, qr: Emulator, tmp_path: Path
) -> None:
    from kiosk.config import DEFAULT_FILE
    from tests.conftest import server_section

    config = tmp_path / "kiosk.toml"
    config.write_text(
        f"""
[kiosk]
id = "kiosk-test"
mode = "demo"
store = "{tmp_path / "kiosk.db"}"
[card]
issuer_key = "{DEFAULT_FILE.parent / "keys" / "ektp-issuer-test.pem"}"
[fingerprint]
backend = "serial"
port = "{finger.link}"
[qr]
backend = "serial"
port = "{qr.link}"
[printer]
server = "{rig.cups_socket}"
card_serials = "KTP2611F000001..KTP2611F000005"
{server_section(server, backend="embedded")}"""
    )
    finger(finger="holder")
    cmd = [sys.executable, "-m", "cli.kiosk", "diagnostics", "--config", str(config)]
    run = subprocess.Popen([*cmd, "--finger-test", "--qr-test"], stdout=subprocess.PIPE, text=True)
    assert run.stdout is not None
    out = []
    for line in run.stdout:
        out.append(line)
        if "scan any code" in line:
            qr(scan="ANY-CODE-123")
    assert run.wait(timeout=60) == 0, "".join(out)
    text = "".join(out)
    assert f"✓  Pemindai sidik jari: {finger.link}: 57600 baud, paket 128 B" in text
    assert f"✓  Pemindai QR: {qr.link}: siap" in text
    assert "✓  finger test: finger imaged, features extracted" in text
    assert "✓  QR test: a code of 12 characters read" in text
    finger(unplug=True)
    gone = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert gone.returncode == 1 and "✕  Pemindai sidik jari" in gone.stdout


# ---------------------------------------------------------------- the flow, emulated module


@pytest.fixture
def on_module(server: Any, finger: Emulator) -> Iterator[Any]:
    """The flow with the emulated module behind the real driver (the rest as in
    test_flow: a simulated reader and spooler, the shared server)."""
    from tests.test_flow import Rigged

    k = Rigged(server)
    m = module(finger)
    m.open()
    k.flow.services.matcher = m
    yield k
    k.close()
    m.close()


def test_through_the_flow_no_match_then_match(on_module: Any, finger: Emulator) -> None:
    from tests.test_flow import budi

    k = on_module
    finger(finger="other")
    m = k.flow.services.matcher
    verify = m.verify

    def then_the_right_finger(templates: tuple[bytes, ...], timeout: float) -> Any:
        result = verify(templates, timeout)  # the module's answer for this attempt
        finger(finger="holder")  # the citizen tries another finger for the next one
        return result

    m.verify = then_the_right_finger
    k.reader.insert(budi())
    k.to_state("choose_documents")
    assert k.flow.session.method == "ektp" and k.flow.session.finger_tries == 1


def test_through_the_flow_four_poor_images_then_nik_and_pin(
    on_module: Any, finger: Emulator
) -> None:
    from tests.test_flow import budi

    k = on_module
    finger(finger="poor")
    k.reader.insert(budi())
    k.to_state("enter_pin")
    assert k.flow.session.finger_tries == 4
    assert k.flow.view().prompt.startswith("finger_fallback")
