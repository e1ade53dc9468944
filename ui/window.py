"""The kiosk's window: the step bar over a stack of screens, one per flow state, at
the panel's size and orientation, switched as the flow moves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QSize, Qt
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk import timeouts
from kiosk.flow import SessionView
from ui.i18n import DEFAULT, NAMES, Languages
from ui.screens.attract import AttractScreen
from ui.screens.base import FingerScreen, MessageScreen, Screen
from ui.screens.documents import DocumentsScreen
from ui.screens.entry import CodeScreen, PinScreen, TechnicianPinScreen
from ui.screens.outcome import DoneScreen, ErrorScreen, PrintingScreen
from ui.screens.technician import DiagnosticsScreen, OutOfServiceScreen
from ui.speech import NoSpeech, Speech
from ui.texts import QT_TRANSLATE_NOOP
from ui.theme import NORMAL, THEMES, stylesheet
from ui.widgets import (
    IDLE_STATES,
    LARGE_TEXT,
    TECHNICIAN_STATES,
    StepBar,
    mark_state,
    retranslate,
    text_button,
    text_label,
)

translate = QCoreApplication.translate


class ScreenStack(QStackedWidget):
    """The screens, one shown at a time, asking for the room of the one shown: a plain
    stack asks for the largest of all, so one crowded screen would squeeze every other."""

    def __init__(self) -> None:
        super().__init__()
        layout = self.layout()
        assert layout is not None
        layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)

    def sizeHint(self) -> QSize:
        shown = self.currentWidget()
        return shown.sizeHint() if shown is not None else super().sizeHint()

    def minimumSizeHint(self) -> QSize:
        shown = self.currentWidget()
        return shown.minimumSizeHint() if shown is not None else super().minimumSizeHint()

    def show_screen(self, screen: QWidget) -> None:
        if screen is not self.currentWidget():
            self.setCurrentWidget(screen)
        self.updateGeometry()


class KioskWindow(QWidget):
    """Header, one stacked screen per flow state, and a footer with the session countdown."""

    def __init__(
        self, post: Callable[..., Any], speech: Speech | None = None, language: str = DEFAULT
    ) -> None:
        super().__init__()
        self.default_language = language
        Languages().set(language)  # a new window starts in the kiosk's language
        self.speech: Speech = speech or NoSpeech()
        self.voice = False
        self.setObjectName("root")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setWindowTitle("Anjungan Dukcapil Mandiri")
        self.theme = NORMAL
        self.orientation = "portrait"
        self.large_text = False
        self.setStyleSheet(stylesheet(NORMAL))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.brand = text_label(QT_TRANSLATE_NOOP("Kiosk", "ANJUNGAN DUKCAPIL MANDIRI"), "brand")
        # The language switch, on every screen: the other language, named in itself.
        self.languages = Languages()
        self.language = QPushButton()
        self.language.setObjectName("language")
        self.language.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.language.clicked.connect(self._switch_language)
        header = self.header = QWidget()
        header.setObjectName("header")
        row = self.header_row = QHBoxLayout(header)
        row.setContentsMargins(0, 0, 24, 0)
        row.addWidget(self.brand, 1)
        row.addWidget(self.language)
        layout.addWidget(header)
        self._view: SessionView | None = None
        # Five taps on the header within three seconds: the technician's way in.
        self._taps: list[float] = []
        self._post = post
        self.brand.mousePressEvent = self._brand_tapped  # type: ignore[method-assign]
        self.steps = StepBar()
        layout.addWidget(self.steps)
        self.stack = ScreenStack()
        layout.addWidget(self.stack, 1)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        layout.addWidget(line)
        # The barrier-free switches, on every screen and low on it (in reach from a
        # wheelchair); each stays on for the session and is off for the next citizen.
        access = QWidget()
        self.access_bar = QGridLayout(access)
        self.access_bar.setContentsMargins(24, 0, 24, 0)
        self.access_bar.setSpacing(16)
        self.contrast_button = text_button(QT_TRANSLATE_NOOP("Kiosk", "Kontras"))
        self.voice_button = text_button(QT_TRANSLATE_NOOP("Kiosk", "Suara"))
        self.reach_button = text_button(QT_TRANSLATE_NOOP("Kiosk", "Posisi rendah"))
        self.text_button = text_button(QT_TRANSLATE_NOOP("Kiosk", "Teks besar"))
        self.contrast_button.setProperty("mode_icon", "contrast")
        self.voice_button.setProperty("mode_icon", "voice")
        self.reach_button.setProperty("mode_icon", "reach")
        self.text_button.setProperty("mode_icon", "text")
        self.low_reach = False
        self.large_text = False
        self.access_buttons = (
            self.contrast_button,
            self.text_button,
            self.voice_button,
            self.reach_button,
        )
        for b, toggle in zip(
            self.access_buttons,
            (
                self._toggle_contrast,
                lambda: self.set_large_text(not self.large_text),
                self._toggle_voice,
                lambda: self.set_low_reach(not self.low_reach),
            ),
            strict=True,
        ):
            b.setObjectName("access")
            b.setCheckable(True)
            b.clicked.connect(toggle)
        for i, b in enumerate(self.access_buttons):  # one row, on every screen
            self.access_bar.addWidget(b, 0, i)
        layout.addWidget(access)
        self.footer = text_label("", "footer")
        layout.addWidget(self.footer)
        self._spoken_screen = ""
        QApplication.instance().focusChanged.connect(self._focus_moved)  # type: ignore[union-attr]
        self.documents = DocumentsScreen(
            on_print=lambda ids: post("print_selected", doc_ids=ids),
            on_cancel=lambda: post("finish"),
            on_tap=lambda doc_id: post("document_tapped", doc_id=doc_id),
        )
        self.pin = PinScreen(
            on_submit=lambda nik, pin: post("pin_entered", nik=nik, pin=pin),
            on_cancel=lambda: post("finish"),
        )
        self.code = CodeScreen(
            on_submit=lambda code: post("code_entered", code=code),
            on_cancel=lambda: post("cancel"),
        )
        self.screens: dict[str, Screen] = {
            "starting": MessageScreen(
                QT_TRANSLATE_NOOP("Kiosk", "Anjungan sedang disiapkan"),
                QT_TRANSLATE_NOOP(
                    "Kiosk", "Memeriksa perangkat dan menyelesaikan pencetakan sebelumnya…"
                ),
            ),
            "attract": AttractScreen(on_pin=lambda: post("pin_login")),
            "enter_pin": self.pin,
            "enter_code": self.code,
            "checking_code": MessageScreen(
                QT_TRANSLATE_NOOP("Kiosk", "Memeriksa kode cetak"),
                QT_TRANSLATE_NOOP("Kiosk", "Mohon tunggu sebentar…"),
            ),
            "reading_card": MessageScreen(
                QT_TRANSLATE_NOOP("Kiosk", "Membaca e-KTP"),
                QT_TRANSLATE_NOOP("Kiosk", "Jangan angkat kartu Anda dari pembaca."),
            ),
            "verify_finger": FingerScreen(),
            "loading_documents": MessageScreen(
                QT_TRANSLATE_NOOP("Kiosk", "Memuat dokumen"),
                QT_TRANSLATE_NOOP("Kiosk", "Mengambil dokumen Anda yang telah disetujui…"),
            ),
            "choose_documents": self.documents,
            "printing": PrintingScreen(),
            "done": DoneScreen(on_finish=lambda: post("finish")),
            "error": ErrorScreen(on_finish=lambda: post("finish")),
            "out_of_service": OutOfServiceScreen(),
            "technician_pin": TechnicianPinScreen(
                on_submit=lambda pin: post("technician_pin_entered", pin=pin),
                on_cancel=lambda: post("cancel"),
            ),
            "diagnostics": DiagnosticsScreen(post),
        }
        for screen in self.screens.values():
            self.stack.addWidget(screen)
        self.set_orientation("portrait")
        self._mark_access()

    def _brand_tapped(self, _event: Any) -> None:
        now = time.monotonic()
        self._taps = [t for t in self._taps if now - t < 3.0] + [now]
        if len(self._taps) >= 5:
            self._taps = []
            self._post("technician_requested")

    def show_view(self, view: SessionView) -> None:
        ended = (
            self._view is not None
            and self._view.state not in IDLE_STATES
            and view.state in IDLE_STATES
        )
        if ended:  # the next citizen starts with the kiosk's language and no modes on
            self.reset_modes()
        moved = self._view is None or self._view.state != view.state
        self._view = view
        screen = self.screens[view.state]
        if moved:
            screen.entered()
        screen.show_view(view)
        self.steps.show_state(view.state, self.large_text)
        self.stack.show_screen(screen)
        if moved:
            # A new screen: the focus rests on the window (no ring on a touch screen);
            # the keypad's first arrow brings it to the first control.
            self.setFocus()
        self.update_countdown(view.seconds_left)
        other = "en" if self.languages.current == "id" else "id"
        self.language.setText(NAMES[other])
        self._speak_screen(screen)

    def set_orientation(self, orientation: str) -> None:
        """Lay every screen out for a portrait (1080x1920) or landscape (1920x1080)
        panel; the window's size is the panel's (``ui.main.SCREENS``).  Landscape has
        less height: its buttons are lower (88 px, still 22 mm at a 21.5-inch panel's
        102 dpi, over the 15 mm a finger needs)."""
        self.orientation = orientation
        self.setProperty("landscape", orientation == "landscape")
        # The step indicator: its own row under the header in portrait; in landscape,
        # which has width to spare and no height, inside the header beside the brand.
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.removeWidget(self.steps)
        self.header_row.removeWidget(self.steps)
        if orientation == "landscape":
            self.header_row.insertWidget(1, self.steps)
        else:
            layout.insertWidget(layout.indexOf(self.stack), self.steps)
        self._restyle()  # the [landscape] rules apply anew
        for screen in self.screens.values():
            screen.set_orientation(orientation == "landscape")

    def _restyle(self) -> None:
        self.setProperty("theme", self.theme.name)
        self.setStyleSheet(stylesheet(self.theme, LARGE_TEXT if self.large_text else 1.0))
        # The technician's screens keep their size in the large-text mode (a citizen's
        # mode, reset with the session): eight device checks at 200 % would not fit.
        for state in TECHNICIAN_STATES:
            screen = self.screens.get(state) if hasattr(self, "screens") else None
            if screen is not None:
                screen.setStyleSheet(stylesheet(self.theme) if self.large_text else "")

    def _switch_language(self) -> None:
        self.set_language("en" if self.languages.current == "id" else "id")

    def reset_modes(self) -> None:
        if self.languages.current != self.default_language:
            self.set_language(self.default_language)
        self.set_high_contrast(False)
        self.set_large_text(False)
        self.set_voice(False)
        self.set_low_reach(False)

    def _toggle_contrast(self) -> None:
        self.set_high_contrast(self.theme is NORMAL)

    def _toggle_voice(self) -> None:
        self.set_voice(not self.voice)

    def set_low_reach(self, on: bool) -> None:
        """Every control low on the screen: the header (with the language switch) moves
        below the content, and each screen gives its free space above its controls."""
        self.reach_button.setChecked(on)
        self._mark_access()
        if on == self.low_reach:
            return
        self.low_reach = on
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.removeWidget(self.header)
        layout.insertWidget(layout.indexOf(self.stack) + 1 if on else 0, self.header)
        for screen in self.screens.values():
            screen.set_low_reach(on)

    def set_large_text(self, on: bool) -> None:
        """Every text at twice its size (``LARGE_TEXT``); screens whose content would not
        fit then show it in parts (``Screen.set_large_text``)."""
        self.text_button.setChecked(on)
        changed = on != self.large_text
        self.large_text = on
        self._mark_access()
        if not changed:
            return
        self._restyle()
        for state, screen in self.screens.items():
            if state not in TECHNICIAN_STATES:  # they keep their size (``_restyle``)
                screen.set_large_text(on)
        if self._view is not None:
            self.show_view(self._view)

    def _mark_access(self) -> None:
        """A switched-on mode says so by a tick in place of its icon, not by colour
        alone; the voice says "on" as well (``_focus_moved``)."""
        size = 32
        for button in self.access_buttons:
            on = button.isChecked()
            mark = "tick" if on else str(button.property("mode_icon"))
            colour = self.theme.on_accent if on else self.theme.accent
            button.set_glyph(mark, colour, size)
            if button.property("on") != on:
                button.setProperty("on", on)
                button.restyle()

    def set_high_contrast(self, on: bool) -> None:
        theme = THEMES["high_contrast" if on else "normal"]
        self.contrast_button.setChecked(on)
        self._mark_access()
        if theme is not self.theme:
            self.theme = theme
            self._restyle()
            self._mark_access()  # the icons in the new theme's colours
            if self._view is not None:
                self.show_view(self._view)

    def set_voice(self, on: bool) -> None:
        self.voice_button.setChecked(on)
        self._mark_access()
        if on != self.voice:
            self.voice = on
            self._spoken_screen = ""
            if on and self._view is not None:
                self._speak_screen(self.screens[self._view.state])

    def _speak_screen(self, screen: QWidget) -> None:
        """With voice on: the screen's words, top to bottom, once per change."""
        if not self.voice:
            return
        words = [
            w.text()
            for w in screen.findChildren(QLabel)
            if w.isVisibleTo(self) and w.text() and w.objectName() != "digits"
        ]
        if self.steps.spoken():  # after the screen's own words: where it is on the way
            words.append(self.steps.spoken())
        text = " ".join(words)
        if text and text != self._spoken_screen:
            self._spoken_screen = text
            self.speech.say(text, self.languages.current)

    def _focus_moved(self, _old: QWidget | None, new: QWidget | None) -> None:
        """With voice on: where the keypad focus is now (the button's words)."""
        if self.voice and isinstance(new, QPushButton) and self.isAncestorOf(new):
            spoken = new.property("spoken")  # a source text, as with ``_keep_source``
            words = new.text() if not spoken else translate("Kiosk", str(spoken))
            if new.isCheckable():
                state = (
                    translate("Kiosk", "aktif")
                    if new.isChecked()
                    else translate("Kiosk", "tidak aktif")
                )
                words = f"{words}, {state}"
            self.speech.say(words, self.languages.current)

    def keyPressEvent(self, event: Any) -> None:
        """The tactile keypad (or a keyboard): arrows move the focus, Enter presses the
        focused control, digits and Backspace type on the screen's number keypad."""
        key = event.key()
        focused = QApplication.focusWidget()
        keypad = getattr(self.stack.currentWidget(), "keypad", None)
        if key in (Qt.Key.Key_Down, Qt.Key.Key_Right):
            self.focusNextChild()
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Left):
            self.focusPreviousChild()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if isinstance(focused, QPushButton) and focused.isEnabled():
                focused.click()
        elif keypad is not None and event.text().isdigit():
            keypad.buttons[event.text()].click()
        elif keypad is not None and key == Qt.Key.Key_Backspace:
            keypad.buttons["⌫"].click()
        else:
            super().keyPressEvent(event)

    def set_language(self, lang: str) -> bool:
        """Speak ``lang`` from now on; what is on screen changes at once and the session
        goes on where it is."""
        if not self.languages.set(lang):
            return False
        retranslate(self)
        self._mark_access()
        if self._view is not None:
            self.show_view(self._view)
        return True

    def update_countdown(self, seconds_left: float | None) -> None:
        warning = seconds_left is not None and seconds_left <= timeouts.TIMEOUT_WARNING
        seconds = int(seconds_left + 0.5) if seconds_left is not None else 0
        if seconds_left is None:
            text = translate("Kiosk", "Layanan gratis · Dinas Kependudukan dan Pencatatan Sipil")
        elif warning:
            text = translate(
                "Kiosk",
                "Sesi akan berakhir dalam {seconds} detik. Sentuh layar untuk melanjutkan.",
            ).format(seconds=seconds)
        else:
            text = translate("Kiosk", "Sesi berakhir dalam {seconds} detik").format(seconds=seconds)
        self.footer.setText(text)
        mark_state(self.footer, "warning", warning)
