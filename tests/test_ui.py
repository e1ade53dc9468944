"""The Qt screens (offscreen) and the headless demo through the whole rig."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from kiosk.flow import STATES, SessionView
from kiosk.print_service import PrintResult
from ui.screens.outcome import ErrorScreen
from ui.window import KioskWindow

DOCS = (
    {
        "id": 7,
        "kind": "kartu_keluarga",
        "title": "Kartu Keluarga",
        "medium": "a4",
        "number": "KK-3201012505180001-20261102",
    },
)
RESULT = PrintResult(7, "Kartu Keluarga", DOCS[0]["number"], "job-1", "adm-a4", 3, 1000)


def view(state: str, **kw: Any) -> SessionView:
    base: dict[str, Any] = dict(
        state=state,
        name="Budi Santoso",
        masked_nik="3201********0001",
        documents=DOCS,
        selected=(),
        reserved=(7,),
        code_doc=None,
        prompt="",
        results=(),
        progress="",
        error="",
        seconds_left=42.0,
    )
    base.update(kw)
    return SessionView(**base)


class Posted:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, trigger: str, **kw: Any) -> None:
        self.calls.append((trigger, kw))


@pytest.fixture
def window(qtbot: QtBot) -> tuple[KioskWindow, Posted]:
    posted = Posted()
    w = KioskWindow(post=posted)
    w.resize(1080, 1920)
    qtbot.addWidget(w)
    w.show()
    return w, posted


@pytest.mark.parametrize("state", STATES)
def test_every_state_has_a_screen(window: tuple[KioskWindow, Posted], state: str) -> None:
    w, _ = window
    w.show_view(view(state, results=(RESULT,), selected=(7,), error="printer offline"))
    assert w.stack.currentWidget() is w.screens[state]
    assert "42 detik" in w.footer.text()


def test_documents_screen_greets_with_masked_nik(window: tuple[KioskWindow, Posted]) -> None:
    w, _ = window
    w.show_view(view("choose_documents"))
    assert w.documents.greeting.text() == "Halo, Budi Santoso"
    assert "3201********0001" in w.documents.nik.text()


def test_tapping_print_posts_the_selection(
    qtbot: QtBot, window: tuple[KioskWindow, Posted]
) -> None:
    w, posted = window
    w.show_view(view("choose_documents"))
    qtbot.mouseClick(w.documents.print_button, Qt.MouseButton.LeftButton)
    assert posted.calls == [("print_selected", {"doc_ids": [7]})]


def test_print_needs_an_accepted_code(qtbot: QtBot, window: tuple[KioskWindow, Posted]) -> None:
    w, posted = window
    w.show_view(view("choose_documents", reserved=()))
    assert not w.documents.print_button.isEnabled()
    qtbot.mouseClick(w.documents.print_button, Qt.MouseButton.LeftButton)
    assert posted.calls == []
    qtbot.mouseClick(w.documents.doc_buttons[7], Qt.MouseButton.LeftButton)
    assert posted.calls == [("document_tapped", {"doc_id": 7})]


def test_code_keypad_posts_eight_digits(qtbot: QtBot, window: tuple[KioskWindow, Posted]) -> None:
    w, posted = window
    w.show_view(view("enter_code", reserved=(), code_doc=7, prompt="wrong_code|left=2"))
    shown = w.code.document.text().replace("\u200b", "")  # numbers may break after hyphens
    assert "KK-3201012505180001" in shown
    assert w.code.prompt.text() == "Kode cetak salah. Sisa 2 kali percobaan."
    for key in "123456789":  # the ninth digit is ignored
        qtbot.mouseClick(w.code.keypad.buttons[key], Qt.MouseButton.LeftButton)
    assert w.code.submit.isEnabled()
    qtbot.mouseClick(w.code.submit, Qt.MouseButton.LeftButton)
    assert posted.calls == [("code_entered", {"code": "12345678"})]


def test_pin_screen_fills_nik_then_hidden_pin(
    qtbot: QtBot, window: tuple[KioskWindow, Posted]
) -> None:
    w, posted = window
    w.show_view(view("enter_pin", name="", masked_nik="", documents=()))
    for key in "3201015507850002" + "123456":
        qtbot.mouseClick(w.pin.keypad.buttons[key], Qt.MouseButton.LeftButton)
    assert w.pin.pin.text() == "••••••"
    qtbot.mouseClick(w.pin.submit, Qt.MouseButton.LeftButton)
    assert posted.calls == [("pin_entered", {"nik": "3201015507850002", "pin": "123456"})]


def test_error_screen_shows_the_reason_and_goes_back(
    qtbot: QtBot, window: tuple[KioskWindow, Posted]
) -> None:
    w, posted = window
    w.show_view(view("error", error="printer_fault"))
    screen = w.screens["error"]
    assert isinstance(screen, ErrorScreen)
    assert screen.detail.text().startswith("Printer sedang bermasalah.")
    qtbot.mouseClick(screen.button, Qt.MouseButton.LeftButton)
    assert posted.calls == [("finish", {})]


def test_no_documents_says_so(window: tuple[KioskWindow, Posted]) -> None:
    w, _ = window
    w.show_view(view("choose_documents", documents=()))
    assert not w.documents.empty.isHidden()
    assert not w.documents.print_button.isEnabled()


@pytest.mark.rig
def test_headless_demo_leaves_screenshots_and_the_kk(tmp_path: Path) -> None:
    """The demo's scripted session, run as `make demo` runs it without a display; every
    log line of it, as the journal would get it, holds no NIK and no photo."""
    import logging
    import re

    from protocol.journal import parse
    from sim.cards import photo
    from sim.demo import run_demo
    from sim.population import DEMO_NIK, citizen
    from tests.test_journal import capture_journal

    journal, handler = capture_journal(tmp_path)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        result = run_demo(tmp_path / "demo")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()
    entries = [parse(m) for m in journal.raw]
    journal.close()
    assert len(entries) > 50  # the whole session was logged
    # Structured: which kiosk, which session, which print job.
    assert any(e.get("KIOSK_ID") == "adm-sim-001" for e in entries)
    assert any(e.get("SESSION_ID", "").startswith("adm-sim-001-") for e in entries)
    assert any(e.get("JOB_ID") and e["JOB_ID"] in e["MESSAGE"] for e in entries)
    text = "\n".join(e["MESSAGE"] for e in entries)
    assert not re.search(r"(?<!\d)\d{16}(?!\d)", text), "a NIK (or any 16 digits) in the log"
    picture = photo(DEMO_NIK, citizen(DEMO_NIK)["sex"])
    for chunk in (picture[100:132], picture[-64:-32]):
        assert chunk.hex() not in text and repr(chunk)[2:-1] not in text
    names = [p.name for p in result.screenshots]
    for state in ("attract", "reading_card", "choose_documents", "printing", "done"):
        assert any(state in n for n in names), names
    assert names[-1].endswith("attract.png")
    for shot in result.screenshots:
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = subprocess.run(
        ["pdftotext", str(result.pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert result.name in text


def test_card_photo_shown_then_wiped(window: tuple[KioskWindow, Posted]) -> None:
    from sim.cards import photo

    w, _ = window
    w.show_view(view("choose_documents", photo=photo("3201011203800001", "LAKI-LAKI")))
    pix = w.documents.photo.pixmap()
    assert not pix.isNull() and pix.height() == w.documents.photo.height() == 180
    w.show_view(view("choose_documents", photo=b""))
    assert w.documents.photo.pixmap().isNull()
    assert w.documents.photo.isHidden()


def test_printing_screen_says_why_a_job_waits() -> None:
    from ui.widgets import step_text

    assert "Kertas printer sedang habis." in step_text("waiting:media_empty")
    assert "tersangkut" in step_text("waiting:media_jam,media_empty")
    assert step_text("spool") == "Mengirim ke printer…"


def test_unavailable_document_is_shown_but_cannot_be_chosen(
    window: tuple[KioskWindow, Posted],
) -> None:
    w, _ = window
    docs = (dict(DOCS[0], unavailable="paper_out"),)
    w.show_view(view("choose_documents", documents=docs, reserved=()))
    button = w.documents.doc_buttons[7]
    assert not button.isEnabled() and not button.isChecked()
    assert "Kertas printer sedang habis." in button.text()
    assert not w.documents.print_button.isEnabled()


def test_footer_warns_before_the_session_times_out(window: tuple[KioskWindow, Posted]) -> None:
    from kiosk import timeouts

    w, _ = window
    w.update_countdown(42.0)
    assert w.footer.text() == "Sesi berakhir dalam 42 detik" and not w.footer.property("warning")
    w.update_countdown(timeouts.TIMEOUT_WARNING - 3)
    assert "Sentuh layar untuk melanjutkan" in w.footer.text()
    assert w.footer.property("warning") is True


def test_any_touch_restarts_the_timeout(qtbot: QtBot) -> None:
    from ui.main import TouchFilter

    touched: list[int] = []
    posted = Posted()
    w = KioskWindow(post=posted)
    qtbot.addWidget(w)
    w.installEventFilter(flt := TouchFilter(lambda: touched.append(1)))
    w.show()
    qtbot.mouseClick(w, Qt.MouseButton.LeftButton)
    assert touched == [1]
    assert flt is not None


def test_five_header_taps_ask_for_the_technician(
    qtbot: QtBot, window: tuple[KioskWindow, Posted]
) -> None:
    w, posted = window
    w.show_view(view("attract"))
    for _ in range(4):
        qtbot.mouseClick(w.brand, Qt.MouseButton.LeftButton)
    assert posted.calls == []
    qtbot.mouseClick(w.brand, Qt.MouseButton.LeftButton)
    assert posted.calls == [("technician_requested", {})]


def test_diagnostics_screen_lists_checks_and_the_switch(
    qtbot: QtBot, window: tuple[KioskWindow, Posted]
) -> None:
    from kiosk.diagnostics import Check

    w, posted = window
    checks = (
        Check("printer|queue=adm-a4", True, "ready"),
        Check("blank_cards", False, "cards_left|left=0"),
    )
    w.show_view(view("diagnostics", checks=checks, closed="Ganti toner"))
    screen = w.screens["diagnostics"]
    assert "✓  Printer adm-a4: siap" in screen.checks.text()  # type: ignore[attr-defined]
    assert "✕  Blangko kartu: 0 tersisa" in screen.checks.text()  # type: ignore[attr-defined]
    assert screen.buttons["close"].isHidden()  # type: ignore[attr-defined]
    qtbot.mouseClick(screen.buttons["open"], Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert posted.calls == [("open_kiosk", {})]


@pytest.mark.parametrize(
    ("paths", "ektp", "qr"),
    [(("ektp", "pin", "qr"), True, True), (("pin",), False, False), (("ektp", "pin"), True, False)],
)
def test_attract_offers_only_the_paths_the_kiosk_has(
    window: tuple[KioskWindow, Posted], paths: tuple[str, ...], ektp: bool, qr: bool
) -> None:
    """A kiosk without a fingerprint scanner does not ask for the e-KTP; one without a QR
    scanner does not advertise it."""
    w, _ = window
    w.show_view(view("attract", paths=paths))
    screen = w.screens["attract"]
    assert ("e-KTP" in screen.body.text()) is ektp  # type: ignore[attr-defined]
    assert screen.qr_hint.isVisibleTo(w) is qr  # type: ignore[attr-defined]


def test_flow_driver_runs_the_flow_on_the_gui_thread(
    qtbot: QtBot, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the flow driven by ``FlowDriver`` under a running Qt event loop WHEN events
    arrive from other threads (the health monitor, the card watcher, the flow's own
    workers) and a state times out with no event at all THEN every transition is applied,
    in order, on the GUI thread (screens are only touched there)."""
    import threading

    from drivers.card.sam import ApduSam
    from drivers.card.sim import SimReader
    from drivers.card.virtual import VirtualSam
    from kiosk import timeouts
    from kiosk.card_service import CardService
    from kiosk.diagnostics import Diagnostics
    from kiosk.flow import Flow, Services
    from kiosk.print_service import PrintService
    from kiosk.technician import DEMO_PIN, PinGuard, hash_pin
    from printing.sim_spooler import SimSpooler
    from sim import keys
    from tests.conftest import kiosk_client
    from ui.main import FlowDriver

    client = kiosk_client(server)
    printer = PrintService(client, SimSpooler(), poll=0.001)
    sam = ApduSam(SimReader(VirtualSam(keys.SAM_MASTER_KEY)))
    card = CardService(SimReader(), sam, keys.issuer_private_key().public_key())
    flow = Flow(
        Services(
            card,
            None,
            client,
            printer,
            diagnostics=Diagnostics(printer, None, "kiosk-test"),
            technician=PinGuard(hash_pin(DEMO_PIN)),
        )
    )
    gui = threading.current_thread()
    seen: list[tuple[str, threading.Thread]] = []
    flow.add_listener(lambda state, _view: seen.append((state, threading.current_thread())))

    def from_thread(trigger: str, **kw: Any) -> None:
        poster = threading.Thread(target=lambda: flow.post(trigger, **kw))
        poster.start()
        poster.join()

    def reach(state: str) -> None:
        qtbot.waitUntil(lambda: flow.state == state, timeout=5000)

    try:
        # The health thread's first verdict can come before the window and its driver
        # exist (the kiosk starts them without waiting): it must not be lost.
        from_thread("service_up")
        driver = FlowDriver(flow)
        reach("attract")
        from_thread("technician_requested")
        reach("technician_pin")
        from_thread("technician_pin_entered", pin=DEMO_PIN)  # checked by a worker thread
        reach("diagnostics")
        qtbot.waitUntil(lambda: bool(flow.session.checks), timeout=10000)  # a worker's result
        from_thread("diagnostics_done")
        reach("attract")
        # Short only now: the PIN check above (scrypt on a worker) must not race the
        # timeout on a loaded machine. The deadline is set on entering the state.
        monkeypatch.setitem(timeouts.STATE_TIMEOUTS, "technician_pin", 0.3)
        from_thread("technician_requested")
        reach("technician_pin")
        reach("attract")  # nothing posted: the driver's own timer fired the timeout
    finally:
        flow.shutdown()
        client.close()
    # listeners also hear view updates (the checks arriving): keep the changes of state
    states = [s for i, (s, _) in enumerate(seen) if i == 0 or seen[i - 1][0] != s]
    assert states == [
        "attract",
        "technician_pin",
        "diagnostics",
        "attract",
        "technician_pin",
        "attract",
    ]
    assert {thread for _, thread in seen} == {gui}
    assert driver.flow is flow


def test_attract_asks_to_lift_a_card_left_on_the_reader(
    window: tuple[KioskWindow, Posted],
) -> None:
    from kiosk import messages

    w, _posted = window
    w.show_view(view("attract", prompt=messages.LIFT_AND_TAP, paths=("ektp", "pin")))
    screen = w.screens["attract"]
    assert screen.body.text() == "Angkat e-KTP dari pembaca kartu, lalu tempelkan kembali."
    assert w.set_language("en")  # the same notice, in the other language, at once
    assert screen.body.text().startswith("Lift your e-KTP")
    assert w.set_language("id")
    w.show_view(view("attract", prompt="", paths=("ektp", "pin")))
    assert screen.body.text().startswith("Tempelkan e-KTP")


def test_the_kiosk_ui_opens_and_closes_without_leaving_anything_behind(
    qtbot: QtBot, server: Any
) -> None:
    """GIVEN one process that opens the kiosk's UI again and again (the demo, tests) WHEN
    each is closed THEN no window, flow listener or doorbell of an earlier one is left."""
    from types import SimpleNamespace

    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QApplication

    from drivers.card.sam import ApduSam
    from drivers.card.sim import SimReader
    from drivers.card.virtual import VirtualSam
    from kiosk.card_service import CardService
    from kiosk.flow import Flow, Services
    from kiosk.print_service import PrintService
    from printing.sim_spooler import SimSpooler
    from sim import keys
    from tests.conftest import kiosk_client
    from ui.main import KioskUi

    client = kiosk_client(server)
    printer = PrintService(client, SimSpooler(), poll=0.001)
    sam = ApduSam(SimReader(VirtualSam(keys.SAM_MASTER_KEY)))
    card = CardService(SimReader(), sam, keys.issuer_private_key().public_key())
    flow = Flow(Services(card, None, client, printer))
    listeners, wakeups = list(flow._listeners), list(flow._wakeups)

    def windows() -> set[int]:
        return {id(w) for w in QApplication.topLevelWidgets() if isinstance(w, KioskWindow)}

    before = windows()
    try:
        for _ in range(5):
            ui = KioskUi(SimpleNamespace(flow=flow, warm_up=lambda then=None: None))  # type: ignore[arg-type]
            ui.close()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        assert flow._listeners == listeners and flow._wakeups == wakeups
        assert windows() <= before
    finally:
        flow.shutdown()
        client.close()


def test_the_kiosk_display_hides_the_pointer_and_the_input_method(
    qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from ui.main import kiosk_display

    qapp = QApplication.instance()
    assert isinstance(qapp, QApplication)
    monkeypatch.setenv("QT_IM_MODULE", "compose")  # restored after the test
    kiosk_display(qapp)
    try:
        cursor = qapp.overrideCursor()
        assert cursor is not None and cursor.shape() == Qt.CursorShape.BlankCursor
        assert os.environ["QT_IM_MODULE"] == "none"
    finally:
        qapp.restoreOverrideCursor()


def test_the_pin_screen_forgets_the_last_citizens_nik(
    qtbot: QtBot, window: tuple[KioskWindow, Posted]
) -> None:
    """GIVEN a citizen who typed their NIK and left WHEN the next one opens the PIN
    screen THEN the NIK field is empty; a wrong PIN keeps the NIK for the retry."""
    w, _posted = window
    w.show_view(view("enter_pin"))
    for digit in "3201011203800001":
        w.pin.keypad.buttons[digit].click()
    w.show_view(view("enter_pin", prompt="wrong_pin|left=4"))  # the same visit: kept
    assert w.pin.nik.value == "3201011203800001"
    w.show_view(view("attract"))
    w.show_view(view("enter_pin"))  # the next citizen
    assert w.pin.nik.value == "" and w.pin.pin.value == ""
    assert "3201" not in w.pin.nik.text()


def test_the_office_notice_is_shown_on_the_idle_screen_as_written(
    window: tuple[KioskWindow, Posted],
) -> None:
    from ui.screens.attract import AttractScreen

    w, _ = window
    attract = w.screens["attract"]
    assert isinstance(attract, AttractScreen)
    w.show_view(view("attract"))
    assert not attract.notice.isVisibleTo(w)  # none configured
    attract.set_notice("Loket tutup pukul 15.00 WIB.")
    assert attract.notice.isVisibleTo(w) and attract.notice.text() == "Loket tutup pukul 15.00 WIB."
    assert w.set_language("en")  # the office's words are not translated
    assert attract.notice.text() == "Loket tutup pukul 15.00 WIB."
    assert w.set_language("id")


def test_the_office_sets_a_notice_remotely_and_takes_it_back(
    window: tuple[KioskWindow, Posted],
) -> None:
    """kiosk.remote: the office's latest notice replaces the configured one until the
    office clears it (None in the view: the configured notice again)."""
    from ui.screens.attract import AttractScreen

    w, _ = window
    attract = w.screens["attract"]
    assert isinstance(attract, AttractScreen)
    attract.set_notice("Buka pukul 08.00-15.00 WIB.")
    w.show_view(view("attract", office_notice="Hari ini tutup pukul 12.00 WIB."))
    assert attract.notice.text() == "Hari ini tutup pukul 12.00 WIB."
    w.show_view(view("attract", office_notice=""))  # the office: no notice at all
    assert not attract.notice.isVisibleTo(w)
    w.show_view(view("attract"))
    assert attract.notice.text() == "Buka pukul 08.00-15.00 WIB." and attract.notice.isVisibleTo(w)
