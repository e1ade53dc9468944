"""Barrier-free modes: high contrast (every text/background pair of the theme at 7:1 or
more), voice guidance in the session's language (a recording backend, and espeak-ng
itself writing WAV files), operation from a keypad alone (focus ring, arrows, Enter,
digits), and every mode off again for the next citizen."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton

from sim.speech import RecordingSpeech
from tests.test_fit import views
from ui.speech import EspeakSpeech
from ui.theme import HIGH_CONTRAST, NORMAL, contrast
from ui.widgets import LARGE_GREETING
from ui.window import KioskWindow

VIEWS = dict(views())


@pytest.mark.parametrize(("theme", "least"), [(HIGH_CONTRAST, 7.0), (NORMAL, 4.5)])
def test_every_text_of_the_theme_has_its_contrast(theme: Any, least: float) -> None:
    low = [
        f"{what}: {fg} on {bg} = {contrast(fg, bg):.2f}"
        for what, fg, bg in theme.pairs()
        if contrast(fg, bg) < least
    ]
    assert low == []
    assert contrast("#ffffff", "#000000") == pytest.approx(21.0)


def window_with(qtbot: Any, speech: Any = None) -> tuple[KioskWindow, list[tuple[str, dict]]]:
    posted: list[tuple[str, dict]] = []
    w = KioskWindow(post=lambda trigger, **kw: posted.append((trigger, kw)), speech=speech)
    qtbot.addWidget(w)
    w.resize(1080, 1920)
    w.show()
    return w, posted


def test_high_contrast_restyles_every_screen_and_ends_with_the_session(qtbot: Any) -> None:
    w, posted = window_with(qtbot)
    w.show_view(VIEWS["choose_documents"])
    qtbot.mouseClick(w.contrast_button, Qt.MouseButton.LeftButton)
    assert w.theme is HIGH_CONTRAST and w.contrast_button.isChecked() and posted == []
    assert HIGH_CONTRAST.background in w.styleSheet()
    w.show_view(VIEWS["done"])
    assert w.theme is HIGH_CONTRAST  # kept through the session
    w.show_view(VIEWS["attract"])  # the session ended
    assert w.theme is NORMAL and not w.contrast_button.isChecked()


def test_voice_speaks_each_screen_and_the_focus_in_the_sessions_language(qtbot: Any) -> None:
    speech = RecordingSpeech()
    w, _posted = window_with(qtbot, speech)
    w.show_view(VIEWS["attract"])
    assert speech.said == []  # off until the citizen turns it on
    qtbot.mouseClick(w.voice_button, Qt.MouseButton.LeftButton)
    assert speech.texts("id")[-1].startswith("Selamat datang")
    w.show_view(VIEWS["enter_code"])
    spoken = speech.texts("id")[-1]
    assert "Masukkan kode cetak" in spoken and "Kode cetak salah. Sisa 3" in spoken
    assert "________" not in spoken  # the digits typed are never read aloud
    w.set_language("en")
    assert speech.said[-1][0] == "en" and "Enter the print code" in speech.said[-1][1]
    # The keypad moves the focus; the voice says where it is.
    before = len(speech.said)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    w.code.submit.setEnabled(True)
    w.code.submit.setFocus()
    qtbot.waitUntil(lambda: len(speech.said) > before)
    assert speech.said[-1] == ("en", "Continue")
    w.show_view(VIEWS["attract"])  # the session ended: voice off, default language
    assert not w.voice and w.languages.current == "id" and not w.voice_button.isChecked()
    count = len(speech.said)
    w.show_view(VIEWS["reading_card"])
    assert len(speech.said) == count


def test_espeak_ng_speaks_both_languages_off_the_gui_thread(tmp_path: Path) -> None:
    speech = EspeakSpeech(device=f"wav:{tmp_path}")
    try:
        speech.say("Selamat datang di Anjungan Dukcapil Mandiri.", "id")
        assert speech.wait_idle(30)
        speech.say("Welcome to the self-service kiosk.", "en")
        assert speech.wait_idle(30)
    finally:
        speech.close()
    files = sorted(tmp_path.glob("*.wav"))
    assert [f.name.split("-")[1] for f in files] == ["id.wav", "en.wav"]
    for f in files:
        with wave.open(str(f)) as audio:
            assert audio.getnframes() / audio.getframerate() > 0.5  # seconds of speech
    assert speech.spoken == 2


def test_a_newer_sentence_replaces_one_not_yet_spoken(tmp_path: Path) -> None:
    speech = EspeakSpeech(device=f"wav:{tmp_path}")
    try:
        for n in range(20):  # faster than speech: only the last of a burst must be said
            speech.say(f"Layar nomor {n}.", "id")
        assert speech.wait_idle(30)
    finally:
        speech.close()
    assert 1 <= speech.spoken < 20


def _press(qtbot: Any, w: KioskWindow, key: Any) -> None:
    qtbot.keyClick(w, key, Qt.KeyboardModifier.NoModifier)


def test_every_control_is_reached_and_pressed_from_a_keypad(qtbot: Any) -> None:
    """No touch: the arrows walk the focus over the screen's controls, each shown with the
    focus ring's colour, Enter presses the focused one, digits type on the keypad."""
    w, posted = window_with(qtbot)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)  # key events go to the active window
    w.show_view(VIEWS["attract"])
    w.setFocus()
    seen: list[str] = []
    for _ in range(6):  # the language, the PIN button, the two modes, ...
        _press(qtbot, w, Qt.Key.Key_Down)
        focused = QApplication.focusWidget()
        assert isinstance(focused, QPushButton)
        seen.append(focused.text())
        if focused.text() == "Masuk dengan NIK dan PIN":
            break
    assert "Masuk dengan NIK dan PIN" in seen
    _press(qtbot, w, Qt.Key.Key_Return)
    assert posted[-1][0] == "pin_login"
    # The code screen: digits from the keypad, Enter on the submit button.
    w.show_view(VIEWS["enter_code"])
    for digit in "12345678":
        qtbot.keyClick(w, digit)
    assert w.code.code.value == "12345678" and w.code.submit.isEnabled()
    _press(qtbot, w, Qt.Key.Key_Backspace)
    qtbot.keyClick(w, "9")
    w.code.submit.setFocus()
    _press(qtbot, w, Qt.Key.Key_Enter)
    assert posted[-1] == ("code_entered", {"code": "12345679"})
    # The document list: a document reached with the arrows and chosen with Enter.
    w.show_view(VIEWS["choose_documents"])
    target = w.documents.doc_buttons[3]
    for _ in range(12):
        if QApplication.focusWidget() is target:
            break
        _press(qtbot, w, Qt.Key.Key_Down)
    assert QApplication.focusWidget() is target
    _press(qtbot, w, Qt.Key.Key_Return)
    assert posted[-1] == ("document_tapped", {"doc_id": 3})


def test_the_focus_ring_is_its_own_colour_in_both_themes() -> None:
    for theme in (NORMAL, HIGH_CONTRAST):
        assert contrast(theme.focus, theme.surface) >= 3.0  # WCAG non-text contrast
        assert theme.focus not in (theme.accent, theme.surface, theme.background)


def test_a_whole_session_from_the_keypad_alone(qtbot: Any, rig: Any, pcsc_kiosk: Any) -> None:
    """GIVEN the kiosk on the rig (real PC/SC, the test server) WHEN a citizen taps their
    e-KTP and then uses only the keypad (arrows, Enter, digits) THEN the document is
    chosen, its code typed, printed and the session ended, with no touch at all."""
    from PySide6.QtCore import QEvent, QObject

    from sim.population import DEMO_NIK
    from sim.seed import demo_code
    from ui.main import KioskUi

    class NoTouch(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.presses = 0

        def eventFilter(self, _watched: QObject, event: QEvent) -> bool:
            if event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin):
                self.presses += 1
            return False

    app = pcsc_kiosk
    ui = KioskUi(app)
    touches = NoTouch()
    QApplication.instance().installEventFilter(touches)  # type: ignore[union-attr]
    w = ui.window
    w.show()
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    try:
        qtbot.waitUntil(lambda: app.flow.state == "attract", timeout=30_000)
        rig.insert_card(DEMO_NIK)  # the tap: a card, not a touch
        qtbot.waitUntil(lambda: app.flow.state == "choose_documents", timeout=60_000)
        kk = next(d for d in app.flow.session.documents if d["kind"] == "kartu_keluarga")

        def focus_on(target: QPushButton) -> None:
            for _ in range(40):
                if QApplication.focusWidget() is target:
                    return
                qtbot.keyClick(w, Qt.Key.Key_Down)
            raise AssertionError(f"the keypad never reached {target.text()!r}")

        focus_on(w.documents.doc_buttons[kk["id"]])
        qtbot.keyClick(w, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: app.flow.state == "enter_code", timeout=10_000)
        for digit in demo_code(kk["number"]):
            qtbot.keyClick(w, digit)
        focus_on(w.code.submit)
        qtbot.keyClick(w, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: app.flow.state == "choose_documents", timeout=30_000)
        assert kk["id"] in app.flow.session.reservations
        focus_on(w.documents.print_button)
        qtbot.keyClick(w, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: app.flow.state == "done", timeout=60_000)
        assert [r.number for r in app.flow.session.results] == [kk["number"]]
        done = w.screens["done"].findChild(QPushButton)
        focus_on(done)
        qtbot.keyClick(w, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: app.flow.state == "attract", timeout=30_000)
        assert touches.presses == 0
    finally:
        QApplication.instance().removeEventFilter(touches)  # type: ignore[union-attr]
        rig.remove_card()
        ui.close()


def test_low_reach_brings_every_control_down_and_ends_with_the_session(qtbot: Any) -> None:
    from ui.main import LOW_REACH_TOP

    w, posted = window_with(qtbot)
    w.setFixedSize(1080, 1920)
    w.show_view(VIEWS["enter_code"])
    QApplication.processEvents()
    header_before = w.header.mapTo(w, w.header.rect().topLeft()).y()
    qtbot.mouseClick(w.reach_button, Qt.MouseButton.LeftButton)
    QApplication.processEvents()
    assert w.low_reach and w.reach_button.property("glyph") == "tick" and posted == []
    top = LOW_REACH_TOP["portrait"] * 1920
    for b in w.findChildren(QPushButton):
        if b.isVisibleTo(w):
            assert b.mapTo(w, b.rect().topLeft()).y() >= top, b.text()
    assert w.header.mapTo(w, w.header.rect().topLeft()).y() > header_before  # moved down
    w.show_view(VIEWS["attract"])  # the session ended
    QApplication.processEvents()
    assert not w.low_reach and w.header.mapTo(w, w.header.rect().topLeft()).y() == 0


def test_large_text_shows_long_screens_in_parts_and_ends_with_the_session(qtbot: Any) -> None:
    """200 %: the document list turns pages (arrows the voice names), the PIN screen
    shows one field at a time, the done screen counts what a list would not fit; the
    next citizen starts at the normal size."""
    speech = RecordingSpeech()
    w, posted = window_with(qtbot, speech)
    w.setFixedSize(1080, 1920)
    view = VIEWS["choose_documents"]
    w.show_view(view)
    docs = w.documents
    assert not docs.pager.isVisibleTo(w)  # every document on one screen
    assert all(b.isVisibleTo(w) for b in docs.doc_buttons.values())
    qtbot.mouseClick(w.text_button, Qt.MouseButton.LeftButton)
    assert w.large_text and w.text_button.property("glyph") == "tick" and posted == []
    shown = [i for i, b in docs.doc_buttons.items() if b.isVisibleTo(w)]
    assert len(shown) == 2 and docs.pager.isVisibleTo(w)
    assert docs.page_label.text() == f"Halaman 1 dari {-(-len(view.documents) // 2)}"
    assert len(docs.greeting.text()) <= len("Halo, ") + LARGE_GREETING  # first names only
    qtbot.mouseClick(docs.next, Qt.MouseButton.LeftButton)
    following = [i for i, b in docs.doc_buttons.items() if b.isVisibleTo(w)]
    assert following and not set(following) & set(shown)
    assert docs.previous.isEnabled()
    w.set_voice(True)
    w.set_language("en")
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    before = len(speech.said)
    docs.previous.setFocus()  # the click left the focus on the other arrow
    qtbot.waitUntil(lambda: len(speech.said) > before)
    assert speech.said[-1] == ("en", "Previous page")
    w.set_language("id")

    w.show_view(VIEWS["enter_pin"])
    pin = w.pin
    assert pin.nik.isVisibleTo(w) and not pin.pin.isVisibleTo(w) and not pin.title.isVisibleTo(w)
    for digit in "3201011203800001":
        pin.keypad.buttons[digit].click()
    assert pin.nik.text() == "3201 0112 0380 0001"  # grouped as on the card
    assert pin.pin.isVisibleTo(w) and not pin.nik.isVisibleTo(w)
    pin.keypad.buttons["⌫"].click()  # back into the NIK
    assert pin.nik.isVisibleTo(w) and not pin.pin.isVisibleTo(w)

    done = VIEWS["done"]
    w.show_view(done)
    assert w.screens["done"].body.text() == f"✓ {len(done.results)} dokumen telah dicetak."
    qtbot.mouseClick(w.text_button, Qt.MouseButton.LeftButton)  # back to normal size
    assert all(r.number.split("-")[0] in w.screens["done"].body.text() for r in done.results)
    qtbot.mouseClick(w.text_button, Qt.MouseButton.LeftButton)
    w.show_view(VIEWS["attract"])  # the session ended
    assert not w.large_text and not w.text_button.isChecked()
    assert "80px" not in w.styleSheet()


def test_first_names_stay_within_their_limit() -> None:
    from hypothesis import given
    from hypothesis import strategies as st

    from ui.widgets import first_names

    assert first_names("MUHAMMAD RIZKY PRATAMA SAPUTRA", 22) == "MUHAMMAD RIZKY PRATAMA"
    assert first_names("Siti", 22) == "Siti"
    assert first_names("A" * 30, 22) == "A" * 21 + "…"
    assert first_names("  ", 22) == ""

    @given(st.text(), st.integers(min_value=2, max_value=60))
    def within(name: str, limit: int) -> None:
        shown = first_names(name, limit)
        assert len(shown) <= limit
        assert bool(shown) == bool(name.split())  # a name is never greeted as nothing
        assert " ".join(name.split()).startswith(shown.removesuffix("…"))

    within()


def test_the_step_indicator_follows_the_main_path(qtbot: Any) -> None:
    """Five steps; the current one is marked, those behind ticked, none off the main
    path; the voice says which step a screen is."""
    speech = RecordingSpeech()
    w, _posted = window_with(qtbot, speech)
    w.show_view(VIEWS["attract"])
    assert not w.steps.isVisibleTo(w)
    path = ["reading_card", "choose_documents", "enter_code", "printing", "done"]
    for n, state in enumerate(path):
        w.show_view(VIEWS[state])
        assert w.steps.isVisibleTo(w)
        marks = [label.property("step") for label in w.steps.labels]
        assert marks == ["done"] * n + ["current"] + ["next"] * (4 - n)
        assert all(label.text().startswith("✓") for label in w.steps.labels[:n])
        assert w.steps.labels[n].text().startswith(str(n + 1))
    w.show_view(VIEWS["enter_code"])
    w.set_voice(True)
    assert speech.texts("id")[-1].endswith("Langkah 3 dari 5: Kode")
    w.set_language("en")
    assert speech.texts("en")[-1].endswith("Step 3 of 5: Code")
    w.set_large_text(True)  # the current step named, the others by their mark
    assert [label.text() for label in w.steps.labels] == ["✓", "✓", "3  Code", "4", "5"]
    w.show_view(VIEWS["error"])
    assert not w.steps.isVisibleTo(w)
    w.set_orientation("landscape")  # the indicator moves into the header
    w.show_view(VIEWS["enter_code"])
    assert w.header.isAncestorOf(w.steps) and w.steps.isVisibleTo(w)
