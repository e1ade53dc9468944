"""The citizen's screens: one widget per flow state, shown in a portrait 1080x1920 window.

Screens only render a :class:`SessionView` and turn taps into flow events; they never call
drivers or the server, and never run on any thread but the Qt main thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QElapsedTimer, QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QBoxLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk import timeouts
from kiosk.flow import SessionView
from ui import icons
from ui.i18n import DEFAULT, NAMES, Languages
from ui.speech import NoSpeech, Speech
from ui.texts import QT_TRANSLATE_NOOP, check_text, notice_text
from ui.theme import NORMAL, THEMES, stylesheet

translate = QCoreApplication.translate


# The large-text mode's scale: every type size twice its normal size (200 %).
LARGE_TEXT = 2.0
# Documents on one page of the list in large text: portrait has the height for two,
# landscape and low reach for one (a document's words take three or four lines at 200 %).
LARGE_PAGE = 2
# Large text greets with the first names up to this many characters (the whole of a
# 100-character name at 200 % would take the screen).
LARGE_GREETING = 12
# Large text lists this many printed documents by kind on the done screen; more are
# counted (five kinds at 200 % do not fit a landscape panel's half).
LARGE_DONE = 2
MEDIUM_TEXT = {
    "a4": QT_TRANSLATE_NOOP("Kiosk", "A4"),
    "card": QT_TRANSLATE_NOOP("Kiosk", "kartu"),
}
# The technician's screens (not enlarged by the large-text mode).
TECHNICIAN_STATES = ("technician_pin", "diagnostics")
# Where no session is open: leaving a session for one of these resets the language.
IDLE_STATES = frozenset({"starting", "attract", "out_of_service"})
PRINT_STEPS = {"render": 25, "spool": 45, "printing": 70, "confirm": 95}
STEP_TEXT = {
    "render": QT_TRANSLATE_NOOP("Kiosk", "Menyiapkan dokumen…"),
    "spool": QT_TRANSLATE_NOOP("Kiosk", "Mengirim ke printer…"),
    "printing": QT_TRANSLATE_NOOP("Kiosk", "Printer sedang mencetak…"),
    "confirm": QT_TRANSLATE_NOOP("Kiosk", "Mencatat pencetakan…"),
}


# What a waiting print job's printer condition is called (the notices' sentences).
CONDITION_NOTICE = {
    "media_empty": "paper_out",
    "media_jam": "paper_jam",
    "door_open": "door_open",
    "offline": "printer_offline",
    "toner_empty": "toner_out",
}
# The document kinds' titles as the server sends them (Indonesian), for the translator.
KIND_TITLES = (
    QT_TRANSLATE_NOOP("Kind", "Kartu Keluarga"),
    QT_TRANSLATE_NOOP("Kind", "KTP-el"),
    QT_TRANSLATE_NOOP("Kind", "Kartu Identitas Anak"),
    QT_TRANSLATE_NOOP("Kind", "Kutipan Akta Kelahiran"),
    QT_TRANSLATE_NOOP("Kind", "Kutipan Akta Kematian"),
    QT_TRANSLATE_NOOP("Kind", "Surat Keterangan Pindah WNI"),
    QT_TRANSLATE_NOOP("Kind", "Kutipan Akta Perkawinan"),
    QT_TRANSLATE_NOOP("Kind", "Kutipan Akta Perceraian"),
    QT_TRANSLATE_NOOP("Kind", "Kutipan Akta Pengakuan Anak"),
    QT_TRANSLATE_NOOP("Kind", "Kutipan Akta Pengesahan Anak"),
    QT_TRANSLATE_NOOP("Kind", "Surat Keterangan Pindah Datang WNI"),
    QT_TRANSLATE_NOOP("Kind", "Biodata Penduduk WNI"),
)


def breakable(number: str) -> str:
    """A document number that may break onto the next line after its hyphens (large
    text): a zero-width space after each, which Qt's line breaking takes."""
    return number.replace("-", "-\u200b")


def first_names(name: str, limit: int) -> str:
    """The leading words of ``name`` within ``limit`` characters (at least the first
    word, cut with an ellipsis if it alone is longer): a greeting in large text."""
    words = name.split()
    if not words:
        return ""
    shown = words[0]
    for word in words[1:]:
        if len(shown) + 1 + len(word) > limit:
            break
        shown += " " + word
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def kind_title(title: str) -> str:
    return translate("Kind", title)


def step_text(progress: str) -> str:
    """What the printing screen says about the current step, including why a job waits."""
    if progress.startswith("waiting:"):
        reasons = [
            notice_text(CONDITION_NOTICE[c])
            for c in progress[8:].split(",")
            if c in CONDITION_NOTICE
        ]
        if reasons:
            return " ".join(reasons) + " " + translate("Kiosk", "Mohon hubungi petugas.")
        return translate("Kiosk", STEP_TEXT["printing"])
    return translate("Kiosk", STEP_TEXT[progress]) if progress in STEP_TEXT else ""


def _label(source: str, name: str, wrap: bool = True) -> QLabel:
    """A label whose ``source`` text (marked with QT_TRANSLATE_NOOP, context "Kiosk") is
    shown in the current language, and again after a language switch (``retranslate``)."""
    label = QLabel()
    _keep_source(label, source)
    label.setObjectName(name)
    label.setWordWrap(wrap)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return label


class TextButton(QPushButton):
    """A push button whose words wrap onto more lines when they do not fit its width
    (large text, long translations), where a plain QPushButton would cut them.

    The words are shown by a child label (transparent to presses, so the button gets
    them), an optional icon before them; ``text()`` answers the words, as a
    QPushButton's would.  No layout inside: the button places both itself, so the
    layout around it asks the button (``heightForWidth``), not a layout of its own."""

    MARGIN_X, MARGIN_Y, GAP = 30, 10, 12  # inside the theme's border and padding

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.words = QLabel(self)
        self.words.setObjectName("words")
        self.words.setWordWrap(True)
        self.words.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.words.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.words.installEventFilter(self)
        self.glyph = QLabel(self)  # an icon before the words (``set_glyph``)
        self.glyph.setObjectName("glyph")
        self.glyph.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.glyph.setVisible(False)
        self._left = False
        # As wide as there is room (down to its longest word), as high as the words
        # need at that width.
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setText(text)

    def setText(self, text: str) -> None:
        self.words.setText(text)
        self.setAccessibleName(text)
        self.updateGeometry()
        self._place()

    def text(self) -> str:
        return self.words.text()

    def setAlignment(self, alignment: Qt.AlignmentFlag) -> None:
        self._left = bool(alignment & Qt.AlignmentFlag.AlignLeft)
        self.words.setAlignment(alignment | Qt.AlignmentFlag.AlignVCenter)
        self._place()

    def set_glyph(self, name: str, colour: str, size: int) -> None:
        """The icon ``name`` (ui.icons) before the words, or none for ""."""
        self.setProperty("glyph", name)
        if name:
            self.glyph.setPixmap(icons.pixmap(name, colour, size))
            self.glyph.setFixedSize(size, size)
        self.glyph.setVisible(bool(name))
        self.updateGeometry()
        self._place()

    def restyle(self) -> None:
        """Apply the theme's rules anew after a property they select on changed."""
        for w in (self, self.words):
            _repolish(w)
        self.updateGeometry()
        self._place()

    def _glyph_width(self) -> int:
        return self.glyph.width() + self.GAP if self.glyph.isVisibleTo(self) else 0

    def _room(self, width: int) -> int:
        """The width the words have in a button ``width`` wide."""
        return max(1, width - 2 * self.MARGIN_X - self._glyph_width())

    def _least_height(self) -> int:
        """The style's height for a button (the theme's min-height)."""
        return int(QPushButton.sizeHint(self).height())

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        words = self.words.heightForWidth(self._room(width))
        glyph = self.glyph.height() if self.glyph.isVisibleTo(self) else 0
        return max(max(words, glyph) + 2 * self.MARGIN_Y, self._least_height())

    def _natural_width(self) -> int:
        """The words' width unwrapped (each line as written on one line)."""
        metrics = self.words.fontMetrics()
        lines = self.words.text().replace("\u200b", "").split("\n")
        return max((metrics.horizontalAdvance(line) for line in lines), default=0) + 2

    def sizeHint(self) -> QSize:
        width = self._natural_width() + 2 * self.MARGIN_X + self._glyph_width()
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:
        metrics = self.words.fontMetrics()
        longest = max((metrics.horizontalAdvance(w) for w in self.words.text().split()), default=0)
        return QSize(longest + 2 * self.MARGIN_X + self._glyph_width(), self._least_height())

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._place()

    def event(self, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.StyleChange, QEvent.Type.FontChange):
            self._place()
        return super().event(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """The words' font comes from the stylesheet when they are polished, after the
        layout may have asked the button's height: ask again."""
        if watched is self.words and event.type() in (
            QEvent.Type.FontChange,
            QEvent.Type.StyleChange,
            QEvent.Type.Polish,
        ):
            self.updateGeometry()
            self._place()
        return False

    def _place(self) -> None:
        """The icon and the words inside the button: left-aligned, or centred together."""
        room = self._room(self.width())
        words_w = room if self._left else min(room, self._natural_width())
        words_h = min(self.words.heightForWidth(words_w), self.height())
        used = self._glyph_width() + words_w
        x = self.MARGIN_X if self._left else max(self.MARGIN_X, (self.width() - used) // 2)
        if self.glyph.isVisibleTo(self):
            self.glyph.move(x, (self.height() - self.glyph.height()) // 2)
            x += self._glyph_width()
        self.words.setGeometry(x, (self.height() - words_h) // 2, words_w, words_h)


def _mark(widget: QWidget, name: str, value: object) -> None:
    """Set the property the theme's rules select on (``[name="value"]``) and have them
    apply anew; nothing is done when the widget already has that value."""
    if widget.property(name) != value:
        widget.setProperty(name, value)
        _repolish(widget)


def _repolish(widget: QWidget) -> None:
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def _button(source: str) -> TextButton:
    button = TextButton()
    _keep_source(button, source)
    return button


def _keep_source(widget: QLabel | QPushButton, source: str) -> None:
    widget.setProperty("source", source)
    widget.setText(translate("Kiosk", source) if source else "")


def retranslate(root: QWidget) -> None:
    """Every label and button under ``root`` with a source text, in the current language."""
    for widget in root.findChildren(QLabel) + root.findChildren(QPushButton):
        source = widget.property("source")
        if source:
            widget.setText(translate("Kiosk", source))


class Screen(QWidget):
    """Base: two panes, ``column`` and ``second``; subclasses fill them and implement
    ``show_view``.  Portrait stacks them (one column, as if one), landscape sets them
    side by side: what is read on the left, what is pressed on the right."""

    def __init__(self) -> None:
        super().__init__()
        self.panes = QBoxLayout(QBoxLayout.Direction.TopToBottom, self)
        self.panes.setContentsMargins(72, 24, 72, 24)
        self.panes.setSpacing(20)
        self.column = QVBoxLayout()
        self.column.setSpacing(20)
        self.second = QVBoxLayout()
        self.second.setSpacing(20)
        self.panes.addLayout(self.column, 1)
        self.panes.addLayout(self.second, 0)
        # The submit and cancel buttons (in ``second`` where a screen has them), side by
        # side: short words, and the height goes to the content.
        self.action_row = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.action_row.setSpacing(20)
        self.large = False
        self._landscape = False
        self._low = False
        # Landscape: the shares of the width the two panes take (a keypad needs less
        # width than the words beside it).
        self.shares = (1, 1)

    def set_low_reach(self, on: bool) -> None:
        """Low reach: each pane's free space goes above its content instead of below, so
        the controls sit at the bottom of the screen (in reach from a wheelchair)."""
        self._low = on
        for pane in (self.column, self.second):
            if pane.count() == 0:
                continue
            if pane.property("lead") is None:
                pane.insertStretch(0, 0)  # the leading free space, used in low reach only
                pane.setProperty("lead", True)
            last = pane.count() - 1
            item = pane.itemAt(last)
            trailing = last > 0 and item is not None and item.spacerItem() is not None
            if trailing:
                if pane.property("tail") is None:
                    pane.setProperty("tail", pane.stretch(last))
                pane.setStretch(last, 0 if on else int(pane.property("tail")))
            pane.setStretch(0, 1 if on else 0)

    def set_orientation(self, landscape: bool) -> None:
        two = self.second.count() > 0
        self.panes.setDirection(
            QBoxLayout.Direction.LeftToRight if landscape else QBoxLayout.Direction.TopToBottom
        )
        self.panes.setSpacing(72 if landscape and two else 20)
        self.panes.setStretch(0, self.shares[0] if landscape and two else 1)
        self.panes.setStretch(1, self.shares[1] if landscape and two else 0)
        self._landscape = landscape

    def set_large_text(self, on: bool) -> None:
        """Large text: a screen whose content would not fit at twice the size shows it
        in parts (the document list in pages, the NIK and the PIN one at a time)."""
        self.large = on

    def show_view(self, view: SessionView) -> None:
        pass

    def entered(self) -> None:
        """The screen comes up anew (not re-shown with a new view): forget what an earlier
        visit left in it."""


class MessageScreen(Screen):
    def __init__(self, title: str, body: str, hint: str = "") -> None:
        super().__init__()
        self.column.addStretch(2)
        self.title = _label(title, "title")
        self.body = _label(body, "body")
        self.column.addWidget(self.title)
        self.column.addWidget(self.body)
        self.hint = _label(hint, "hint")
        self.hint.setVisible(bool(hint))
        self.column.addWidget(self.hint)
        self.column.addStretch(3)


class FingerScreen(MessageScreen):
    """Place your finger; after a failed attempt, why and how many attempts are left."""

    def __init__(self) -> None:
        super().__init__(
            QT_TRANSLATE_NOOP("Kiosk", "Verifikasi sidik jari"),
            QT_TRANSLATE_NOOP("Kiosk", "Letakkan jari telunjuk Anda pada pemindai sidik jari."),
        )
        self.prompt = _label("", "error")
        self.prompt.setVisible(False)
        self.column.insertWidget(self.column.count() - 1, self.prompt)

    def show_view(self, view: SessionView) -> None:
        self.prompt.setText(notice_text(view.prompt))
        self.prompt.setVisible(bool(view.prompt))


class TapAnimation(QWidget):
    """Where the e-KTP goes: a card coming down onto the reader below the screen, again
    and again, with an arrow pointing down to it.  Drawn from the theme's colours
    (ui.icons, in memory); its timer runs only while it is on screen."""

    PERIOD_MS = 1800
    FRAME_MS = 40

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumHeight(150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._timer = QTimer(self)
        self._timer.setInterval(self.FRAME_MS)
        self._timer.timeout.connect(self.update)
        self._clock = QElapsedTimer()
        self._clock.start()
        self.frames = 0  # drawn so far (tests: it moves while shown, stops when hidden)

    def showEvent(self, event: Any) -> None:
        self._timer.start()
        super().showEvent(event)

    def hideEvent(self, event: Any) -> None:
        self._timer.stop()
        super().hideEvent(event)

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def phase(self) -> float:
        """0 → 1 over a period: the card comes down (0-0.45), rests on the reader
        (0.45-0.75), and goes back up."""
        return (self._clock.elapsed() % self.PERIOD_MS) / self.PERIOD_MS

    def paintEvent(self, _event: Any) -> None:
        self.frames += 1
        window = self.window()
        theme = THEMES[str(window.property("theme") or "normal")]
        side = max(40, min(self.height() - 8, self.width() // 4, 220))
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        t = self.phase()
        # ease in, rest, back up
        down = min(1.0, t / 0.45) if t < 0.75 else max(0.0, 1.0 - (t - 0.75) / 0.25)
        down = down * down * (3 - 2 * down)
        reader = icons.pixmap("reader", theme.accent, side)
        card = icons.pixmap("card", theme.accent, int(side * 0.8))
        arrow = icons.pixmap("arrow_down", theme.muted, int(side * 0.6))
        cx = self.width() // 2
        reader_y = self.height() - side
        painter.drawPixmap(cx - side // 2, reader_y, reader)
        top = reader_y - card.height() // 2
        card_y = int(top - (1.0 - down) * max(0, top))
        painter.drawPixmap(cx - card.width() // 2, card_y, card)
        painter.drawPixmap(cx + side // 2 + side // 6, reader_y + side // 5, arrow)
        painter.end()


class AttractScreen(MessageScreen):
    """The idle screen: welcome, where to tap the e-KTP (animated), the other ways in,
    and the office's notice.  Landscape: the notice and the animation on the right."""

    def __init__(self, on_pin: Callable[[], None]) -> None:
        super().__init__(QT_TRANSLATE_NOOP("Kiosk", "Selamat datang"), "")
        self.pin_button = _button(QT_TRANSLATE_NOOP("Kiosk", "Masuk dengan NIK dan PIN"))
        self.pin_button.clicked.connect(on_pin)
        self.column.insertWidget(self.column.count() - 1, self.pin_button)
        self.qr_hint = _label(
            QT_TRANSLATE_NOOP(
                "Kiosk", "Punya kode QR dari Dukcapil? Arahkan ke pemindai di bawah layar."
            ),
            "hint",
        )
        self.column.insertWidget(self.column.count() - 1, self.qr_hint)
        # The office's own notice (``[ui] office_notice``: opening hours, a closure), as
        # the office wrote it.
        self.notice = _label("", "notice")
        self.notice.setVisible(False)
        self.second.addWidget(self.notice)
        self.tap = TapAnimation()
        self.second.addWidget(self.tap, 1)

    def set_orientation(self, landscape: bool) -> None:
        self._landscape = landscape
        self._arrange()
        super().set_orientation(landscape)

    def set_low_reach(self, on: bool) -> None:
        self._low = on
        self._arrange()
        super().set_low_reach(on)

    def _arrange(self) -> None:
        """Landscape: the QR hint goes right, under the notice, so the left pane holds
        what is read first and the button.  Low reach in portrait: the button goes
        last, under the animation, the lowest thing on the screen."""
        low = self._low and not self._landscape
        for pane in (self.column, self.second):
            pane.removeWidget(self.qr_hint)
            pane.removeWidget(self.pin_button)
        at = self.column.indexOf(self.body) + 1
        if not low:
            self.column.insertWidget(at, self.pin_button)
            at += 1
        if self._landscape:
            self.second.insertWidget(self.second.indexOf(self.notice) + 1, self.qr_hint)
        else:
            self.column.insertWidget(at, self.qr_hint)
        if low:
            self.second.addWidget(self.pin_button)

    def set_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    def show_view(self, view: SessionView) -> None:
        """Only the ways in whose devices this kiosk has."""
        if "ektp" in view.paths:
            self.body.setText(
                translate(
                    "Kiosk",
                    "Tempelkan e-KTP Anda pada pembaca kartu untuk mencetak dokumen kependudukan.",
                )
            )
        else:
            self.body.setText(
                translate("Kiosk", "Masuk dengan NIK dan PIN untuk mencetak dokumen kependudukan.")
            )
        self.qr_hint.setVisible("qr" in view.paths)
        self.tap.setVisible("ektp" in view.paths)
        if view.prompt:  # e.g. a card left on the reader: lift it and tap again
            self.body.setText(notice_text(view.prompt))
        # Large text: what to do now needs the room more than the welcome does.
        self.title.setVisible(not (self.large and view.prompt))


class Keypad(QWidget):
    """A large numeric keypad (no system keyboard on a kiosk); digits go to ``target``."""

    def __init__(self, on_key: Callable[[str], None]) -> None:
        super().__init__()
        self.setObjectName("keypad")  # its keys' type size (ui.theme)
        grid = QGridLayout(self)
        grid.setSpacing(18)
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "clear"]
        self.buttons: dict[str, QPushButton] = {}
        for i, key in enumerate(keys):
            b = _button(QT_TRANSLATE_NOOP("Kiosk", "Hapus")) if key == "clear" else QPushButton(key)
            b.clicked.connect(lambda _=False, k=key: on_key(k))
            grid.addWidget(b, i // 3, i % 3)
            self.buttons[key] = b
        for column in range(3):  # equal keys, whatever the width of "Hapus"
            grid.setColumnStretch(column, 1)


class DigitField(QLabel):
    """A fixed-length digit entry shown in large type; ``secret`` shows dots, ``group``
    spaces the digits in groups (a NIK reads 3201 0125 0518 0001, as on the card)."""

    def __init__(self, length: int, secret: bool = False, group: int = 0) -> None:
        super().__init__()
        self.length, self.secret, self.value, self.group = length, secret, "", group
        self.setObjectName("digits")  # styled by the theme (ui.theme)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.set_active(False)
        self._paint()

    def key(self, key: str) -> None:
        if key == "⌫":
            self.value = self.value[:-1]
        elif key == "clear":
            self.value = ""
        elif key.isdigit() and len(self.value) < self.length:
            self.value += key
        self._paint()

    def clear(self) -> None:
        self.value = ""
        self._paint()

    def set_active(self, active: bool) -> None:
        _mark(self, "active", active)  # the theme's rule for [active="true"]

    @property
    def complete(self) -> bool:
        return len(self.value) == self.length

    def _paint(self) -> None:
        shown = "•" * len(self.value) if self.secret else self.value
        shown += "_" * (self.length - len(self.value))
        if self.group:
            shown = " ".join(shown[i : i + self.group] for i in range(0, len(shown), self.group))
        self.setText(shown)


class PinScreen(Screen):
    """NIK (16 digits, grouped 4-4-4-4) and the kiosk PIN (6 digits, hidden) on one
    keypad.  Large text shows one field at a time, under its own label as the title:
    the NIK until it is complete, then the PIN."""

    def __init__(self, on_submit: Callable[[str, str], None], on_cancel: Callable[[], None]):
        super().__init__()
        self.shares = (3, 2)
        self.title = _label(QT_TRANSLATE_NOOP("Kiosk", "Masuk dengan NIK dan PIN"), "title")
        self.column.addWidget(self.title)
        self.prompt = _label("", "error")
        self.column.addWidget(self.prompt)
        self.nik_label = _label(QT_TRANSLATE_NOOP("Kiosk", "NIK (16 angka)"), "hint")
        self.column.addWidget(self.nik_label)
        self.nik = DigitField(16, group=4)
        self.column.addWidget(self.nik)
        self.pin_label = _label(QT_TRANSLATE_NOOP("Kiosk", "PIN ADM (6 angka)"), "hint")
        self.column.addWidget(self.pin_label)
        self.pin = DigitField(6, secret=True)
        self.column.addWidget(self.pin)
        self.column.addStretch(1)
        self.keypad = Keypad(self._key)
        self.second.addWidget(self.keypad)
        self.submit = _button(QT_TRANSLATE_NOOP("Kiosk", "Masuk"))
        self.submit.setObjectName("primary")
        self.submit.clicked.connect(lambda: on_submit(self.nik.value, self.pin.value))
        cancel = _button(QT_TRANSLATE_NOOP("Kiosk", "Batal"))
        cancel.clicked.connect(on_cancel)
        self.action_row.addWidget(self.submit)
        self.action_row.addWidget(cancel)
        self.second.addLayout(self.action_row)
        self._update()

    def entered(self) -> None:
        # The last citizen's NIK must not greet the next one.
        self.nik.clear()
        self.pin.clear()
        self._update()

    def _key(self, key: str) -> None:
        # The NIK fills first; the PIN takes the digits once the NIK is complete.
        field = self.pin if self.nik.complete and (key.isdigit() or self.pin.value) else self.nik
        field.key(key)
        self._update()

    def _update(self) -> None:
        self.nik.set_active(not self.nik.complete)
        self.pin.set_active(self.nik.complete)
        self.submit.setEnabled(self.nik.complete and self.pin.complete)
        self.title.setVisible(not self.large)
        for label, field, shown in (
            (self.nik_label, self.nik, not self.nik.complete),
            (self.pin_label, self.pin, self.nik.complete),
        ):
            label.setVisible(shown or not self.large)
            field.setVisible(shown or not self.large)

    def set_large_text(self, on: bool) -> None:
        super().set_large_text(on)
        for label in (self.nik_label, self.pin_label):  # the field's label is the title
            label.setObjectName("title" if on else "hint")
            _repolish(label)
        self._update()

    def show_view(self, view: SessionView) -> None:
        self.prompt.setText(notice_text(view.prompt))
        self.prompt.setVisible(bool(view.prompt))
        self.pin.clear()  # never keep a PIN on screen after an answer
        self._update()


class DigitEntryScreen(Screen):
    """One fixed-length digit entry on the keypad, a submit and a cancel button; the
    subclass adds what is shown above the entry."""

    def __init__(
        self,
        title: str,
        hints: list[QLabel],
        field: DigitField,
        submit_text: str,
        on_submit: Callable[[str], None],
        on_cancel: Callable[[], None],
    ):
        super().__init__()
        self.shares = (3, 2)
        self.column.addWidget(_label(title, "title"))
        self.hints = hints
        for hint in hints:
            self.column.addWidget(hint)
        self.prompt = _label("", "error")
        self.column.addWidget(self.prompt)
        self.code = field
        self.code.set_active(True)
        self.column.addWidget(self.code)
        self.column.addStretch(1)
        self.keypad = Keypad(self._key)
        self.second.addWidget(self.keypad)
        self.submit = _button(submit_text)
        self.submit.setObjectName("primary")
        self.submit.clicked.connect(lambda: on_submit(self.code.value))
        cancel = _button(QT_TRANSLATE_NOOP("Kiosk", "Batal"))
        cancel.clicked.connect(on_cancel)
        self.action_row.addWidget(self.submit)
        self.action_row.addWidget(cancel)
        self.second.addLayout(self.action_row)
        self.second.addStretch(1)
        self._key("")

    def _key(self, key: str) -> None:
        self.code.key(key)
        self.submit.setEnabled(self.code.complete)

    def set_large_text(self, on: bool) -> None:
        """Large text drops the secondary hints (what the body already makes clear)."""
        super().set_large_text(on)
        for hint in self.hints:
            if hint.objectName() == "hint":
                hint.setVisible(not on)

    def show_view(self, view: SessionView) -> None:
        self.prompt.setText(notice_text(view.prompt))
        self.prompt.setVisible(bool(view.prompt))
        self.code.clear()  # never keep a secret on screen after an answer
        self.submit.setEnabled(False)


class CodeScreen(DigitEntryScreen):
    """The single-use print code of one document (8 digits, from the office's message)."""

    def __init__(self, on_submit: Callable[[str], None], on_cancel: Callable[[], None]):
        self.document = _label("", "body")
        hint = _label(
            QT_TRANSLATE_NOOP(
                "Kiosk", "Kode 8 angka dikirim oleh Dinas Dukcapil saat dokumen disetujui."
            ),
            "hint",
        )
        super().__init__(
            QT_TRANSLATE_NOOP("Kiosk", "Masukkan kode cetak"),
            [self.document, hint],
            DigitField(8),
            QT_TRANSLATE_NOOP("Kiosk", "Lanjut"),
            on_submit,
            on_cancel,
        )

    def show_view(self, view: SessionView) -> None:
        doc = next((d for d in view.documents if d["id"] == view.code_doc), None)
        # Large text: the kind only (the number, four more lines at 200 %, is on the
        # list the citizen just tapped).
        if doc is None:
            self.document.setText("")
        elif self.large:
            self.document.setText(kind_title(doc["title"]))
        else:
            self.document.setText(f"{kind_title(doc['title'])}\n{breakable(doc['number'])}")
        super().show_view(view)


class DocumentsScreen(Screen):
    """Greets the citizen and lists the approved documents as large buttons: tapping one
    asks for its print code; documents whose code was accepted are ticked and printed."""

    def __init__(
        self,
        on_print: Callable[[list[int]], None],
        on_cancel: Callable[[], None],
        on_tap: Callable[[int], None],
    ):
        super().__init__()
        self.photo = QLabel()
        self.photo.setFixedSize(135, 180)
        self.photo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.photo.setObjectName("photo")
        self.column.addWidget(self.photo, 0, Qt.AlignmentFlag.AlignHCenter)
        self.greeting = _label("", "greeting")  # a name may be 100 characters long
        self.nik = _label("", "hint")
        self.column.addWidget(self.greeting)
        self.column.addWidget(self.nik)
        self.column.addWidget(
            _label(
                QT_TRANSLATE_NOOP(
                    "Kiosk", "Sentuh dokumen yang akan dicetak, lalu masukkan kode cetaknya:"
                ),
                "body",
            )
        )
        self.on_tap = on_tap
        self.reserved: tuple[int, ...] = ()
        self.column.addStretch(1)
        self.list_box = QVBoxLayout()
        self.list_box.setSpacing(14)
        self.second.addLayout(self.list_box)
        self.empty = _label(
            QT_TRANSLATE_NOOP("Kiosk", "Tidak ada dokumen yang siap dicetak."), "body"
        )
        self.second.addWidget(self.empty)
        # Turning the pages of the list (large text only): arrows either side of
        # "page n of m"; the voice names the arrows (their "spoken" words).
        self.pager = QWidget()
        pager = QHBoxLayout(self.pager)
        pager.setContentsMargins(0, 0, 0, 0)
        self.previous = QPushButton("◀")
        self.previous.setProperty("spoken", QT_TRANSLATE_NOOP("Kiosk", "Halaman sebelumnya"))
        self.next = QPushButton("▶")
        self.next.setProperty("spoken", QT_TRANSLATE_NOOP("Kiosk", "Halaman berikutnya"))
        self.page_label = _label("", "hint")
        self.previous.clicked.connect(lambda: self._turn(-1))
        self.next.clicked.connect(lambda: self._turn(1))
        pager.addWidget(self.previous, 0)
        pager.addWidget(self.page_label, 1)
        pager.addWidget(self.next, 0)
        self.second.addWidget(self.pager)
        self.pager.setVisible(False)
        self.page = 0
        self.second.addStretch(1)
        self.second.addLayout(self.action_row)
        self.print_button = _button(QT_TRANSLATE_NOOP("Kiosk", "Cetak"))
        self.print_button.setObjectName("primary")
        self.print_button.clicked.connect(lambda: on_print(self.selected()))
        self.cancel_button = _button(QT_TRANSLATE_NOOP("Kiosk", "Batal"))
        self.cancel_button.clicked.connect(on_cancel)
        self.action_row.addWidget(self.print_button)
        self.action_row.addWidget(self.cancel_button)
        self.doc_buttons: dict[int, TextButton] = {}

    def selected(self) -> list[int]:
        return [doc_id for doc_id in self.doc_buttons if doc_id in self.reserved]

    def show_view(self, view: SessionView) -> None:
        # The chip's photo lets the citizen (and a passing officer) see it is their card.
        # It lives only in this pixmap and the session, never on disk.
        pixmap = QPixmap()
        if view.photo and pixmap.loadFromData(view.photo):
            self.photo.setPixmap(
                pixmap.scaled(
                    self.photo.size(),
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
        else:
            self.photo.clear()
        # Large text needs the room more than the citizen needs their picture.
        self.photo.setVisible(bool(view.photo) and not self.large)
        name = first_names(view.name, LARGE_GREETING) if self.large else view.name
        self.greeting.setText(translate("Kiosk", "Halo, {name}").format(name=name))
        self.nik.setText(f"NIK {view.masked_nik}" if view.masked_nik else "")
        self.nik.setVisible(bool(view.masked_nik) and not self.large)
        self.reserved = view.reserved
        ids = [d["id"] for d in view.documents]
        if ids != list(self.doc_buttons):
            for b in self.doc_buttons.values():
                b.deleteLater()
            self.doc_buttons = {}
            for doc in view.documents:
                b = TextButton()
                b.setObjectName("document")
                b.setAlignment(Qt.AlignmentFlag.AlignLeft)
                b.clicked.connect(lambda _=False, d=doc["id"]: self.on_tap(d))
                self.list_box.addWidget(b)
                self.doc_buttons[doc["id"]] = b
            self.page = 0
        self._view = view
        theme = THEMES[str(self.window().property("theme") or "normal")]
        size = round(40 * (LARGE_TEXT if self.large else 1.0))
        for doc in view.documents:
            b = self.doc_buttons[doc["id"]]
            reason = str(doc.get("unavailable", ""))
            ready = doc["id"] in self.reserved
            medium = translate("Kiosk", MEDIUM_TEXT.get(str(doc.get("medium")), ""))
            # The mark says what state a document is in without relying on colour alone.
            if reason:  # shown, with the reason, but not printable now
                mark, detail = "✕  ", notice_text(reason)
            elif ready:
                mark, detail = "☑  ", translate("Kiosk", "Kode diterima · siap dicetak")
            else:
                mark, detail = "☐  ", f"{breakable(doc['number'])} · {medium}"
            b.setText(f"{mark}{kind_title(doc['title'])}\n{detail}")
            b.setEnabled(not reason)  # a ready document stays bright; the flow ignores a tap
            colour = theme.on_disabled if reason else theme.on_ready if ready else theme.accent
            b.set_glyph("card" if doc.get("medium") == "card" else "a4", colour, size)
            if b.property("ready") != ready:
                b.setProperty("ready", ready)
                b.restyle()
        self.empty.setVisible(not view.documents)
        self.print_button.setEnabled(bool(self.selected()))
        self._show_page()

    def set_large_text(self, on: bool) -> None:
        super().set_large_text(on)
        self.page = 0
        self.photo.setVisible(not on and not self.photo.pixmap().isNull())

    def _pages(self) -> int:
        return max(1, -(-len(self.doc_buttons) // self._per_page()))

    def _per_page(self) -> int:
        if not self.large:
            return len(self.doc_buttons) or 1
        return 1 if self._landscape or self._low else LARGE_PAGE

    def _turn(self, step: int) -> None:
        self.page = min(max(0, self.page + step), self._pages() - 1)
        self._show_page()

    def _show_page(self) -> None:
        """Large text: the documents a page at a time (``LARGE_PAGE``), with arrows to
        turn; otherwise all of them."""
        pages = self._pages()
        self.page = min(self.page, pages - 1)
        per = self._per_page()
        for i, b in enumerate(self.doc_buttons.values()):
            b.setVisible(i // per == self.page)
        self.pager.setVisible(pages > 1)
        self.page_label.setText(
            translate("Kiosk", "Halaman {n} dari {total}").format(n=self.page + 1, total=pages)
        )
        self.previous.setEnabled(self.page > 0)
        self.next.setEnabled(self.page < pages - 1)


class PrintingScreen(MessageScreen):
    def __init__(self) -> None:
        super().__init__(
            QT_TRANSLATE_NOOP("Kiosk", "Sedang mencetak"),
            "",
            QT_TRANSLATE_NOOP("Kiosk", "Mohon tunggu, jangan tinggalkan anjungan."),
        )
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.column.insertWidget(3, self.bar)

    def show_view(self, view: SessionView) -> None:
        done = len(view.results)
        total = max(1, len(view.selected))
        titles = {d["id"]: kind_title(d["title"]) for d in view.documents}
        current = next(
            (d for d in view.selected if d not in {r.doc_id for r in view.results}), None
        )
        name = titles.get(current, "") if current is not None else ""
        step = PRINT_STEPS.get(view.progress.split(":")[0].replace("waiting", "printing"), 5)
        self.bar.setValue(int((done + step / 100) / total * 100))
        self.body.setText(
            translate("Kiosk", "{name} ({n} dari {total})").format(
                name=name, n=done + 1, total=total
            )
            + f"\n{step_text(view.progress)}"
            if current is not None
            else translate("Kiosk", "Selesai mencetak.")
        )


class DoneScreen(MessageScreen):
    def __init__(self, on_finish: Callable[[], None]) -> None:
        super().__init__(
            QT_TRANSLATE_NOOP("Kiosk", "Silakan ambil dokumen Anda"),
            "",
            QT_TRANSLATE_NOOP("Kiosk", "Jangan lupa mengambil kembali e-KTP Anda."),
        )
        button = _button(QT_TRANSLATE_NOOP("Kiosk", "Selesai"))
        button.setObjectName("primary")
        button.clicked.connect(on_finish)
        # What is done on the left (landscape), what to do and the button on the right.
        self.column.removeWidget(self.hint)
        self.second.addWidget(self.hint)
        self.second.addWidget(button)
        self.second.addStretch(1)

    def show_view(self, view: SessionView) -> None:
        # Large text: the kinds only (five numbers at 200 % do not fit; the paper in
        # the citizen's hand carries them).
        if self.large and len(view.results) > LARGE_DONE:
            self.body.setText(
                "✓ " + translate("Kiosk", "{n} dokumen telah dicetak.").format(n=len(view.results))
            )
            return
        lines = [
            f"✓ {kind_title(r.title)}"
            if self.large
            else f"✓ {kind_title(r.title)} — {breakable(r.number)}"
            for r in view.results
        ]
        self.body.setText("\n".join(lines))


class ErrorScreen(MessageScreen):
    def __init__(self, on_finish: Callable[[], None]) -> None:
        super().__init__(
            QT_TRANSLATE_NOOP("Kiosk", "Maaf, terjadi kendala"),
            QT_TRANSLATE_NOOP("Kiosk", "Dokumen yang belum tercetak tetap dapat dicetak nanti."),
            "",
        )
        self.detail = _label("", "error")
        self.column.insertWidget(3, self.detail)
        self.button = _button(QT_TRANSLATE_NOOP("Kiosk", "Kembali ke awal"))
        self.button.clicked.connect(on_finish)
        self.column.insertWidget(self.column.count() - 1, self.button)

    def show_view(self, view: SessionView) -> None:
        self.detail.setText(notice_text(view.error))


class TechnicianPinScreen(DigitEntryScreen):
    """Six hidden digits; a wrong PIN simply returns to the idle screen."""

    def __init__(self, on_submit: Callable[[str], None], on_cancel: Callable[[], None]):
        super().__init__(
            QT_TRANSLATE_NOOP("Kiosk", "Mode teknisi"),
            [_label(QT_TRANSLATE_NOOP("Kiosk", "Masukkan PIN teknisi"), "hint")],
            DigitField(6, secret=True),
            QT_TRANSLATE_NOOP("Kiosk", "Masuk"),
            on_submit,
            on_cancel,
        )


class DiagnosticsScreen(Screen):
    """Device checks, a test print and the out-of-service switch, for the technician."""

    def __init__(self, post: Callable[..., Any]) -> None:
        super().__init__()
        self.column.addWidget(_label(QT_TRANSLATE_NOOP("Kiosk", "Diagnostik anjungan"), "title"))
        self.status = _label("", "error")
        self.column.addWidget(self.status)
        self.checks = QLabel()
        self.checks.setObjectName("checks")
        self.checks.setWordWrap(True)
        self.column.addWidget(self.checks)
        self.note = _label("", "hint")
        self.column.addWidget(self.note)
        self.column.addStretch(1)
        self.buttons: dict[str, QPushButton] = {}  # in the second pane
        for key, text, action in (
            ("checks", QT_TRANSLATE_NOOP("Kiosk", "Periksa perangkat"), lambda: post("run_checks")),
            (
                "test",
                QT_TRANSLATE_NOOP("Kiosk", "Cetak halaman uji A4"),
                lambda: post("test_print"),
            ),
            (
                "devices",
                QT_TRANSLATE_NOOP("Kiosk", "Tes sidik jari dan QR"),
                lambda: post("test_devices"),
            ),
            (
                "close",
                QT_TRANSLATE_NOOP("Kiosk", "Nonaktifkan anjungan"),
                lambda: post("close_kiosk"),
            ),
            ("open", QT_TRANSLATE_NOOP("Kiosk", "Aktifkan anjungan"), lambda: post("open_kiosk")),
            ("done", QT_TRANSLATE_NOOP("Kiosk", "Selesai"), lambda: post("diagnostics_done")),
        ):
            b = _button(text)
            b.clicked.connect(action)
            self.second.addWidget(b)
            self.buttons[key] = b
        self.buttons["done"].setObjectName("primary")

    def show_view(self, view: SessionView) -> None:
        lines = []
        for c in view.checks:
            name, detail = check_text(c.name, c.detail)
            lines.append(f"{'✓' if c.ok else '✕'}  {name}: {detail}")
        self.checks.setText("\n".join(lines) or translate("Kiosk", "Memeriksa…"))
        self.note.setText(notice_text(view.prompt))
        closed = notice_text(view.closed) if view.closed else ""
        self.status.setText(
            translate("Kiosk", "Anjungan nonaktif: {reason}").format(reason=closed)
            if closed
            else ""
        )
        self.status.setVisible(bool(view.closed))
        self.buttons["close"].setVisible(not view.closed)
        self.buttons["open"].setVisible(bool(view.closed))


class OutOfServiceScreen(MessageScreen):
    def __init__(self) -> None:
        super().__init__(
            QT_TRANSLATE_NOOP("Kiosk", "Anjungan sedang tidak dapat digunakan"),
            "",
            QT_TRANSLATE_NOOP(
                "Kiosk", "Silakan menggunakan anjungan lain atau layanan di kantor Dinas Dukcapil."
            ),
        )

    def show_view(self, view: SessionView) -> None:
        self.body.setText(notice_text(view.error))


# The main path's steps and the session states each covers: the step indicator.
STEPS = (
    (QT_TRANSLATE_NOOP("Kiosk", "Identitas"), ("reading_card", "verify_finger", "enter_pin")),
    (QT_TRANSLATE_NOOP("Kiosk", "Dokumen"), ("loading_documents", "choose_documents")),
    (QT_TRANSLATE_NOOP("Kiosk", "Kode"), ("enter_code", "checking_code")),
    (QT_TRANSLATE_NOOP("Kiosk", "Cetak"), ("printing",)),
    (QT_TRANSLATE_NOOP("Kiosk", "Selesai"), ("done",)),
)


class StepBar(QWidget):
    """Where the citizen is on the way from identity to paper: the five steps, the
    current one marked by a filled pill and its number, those behind by a tick (not by
    colour alone).  Hidden off the main path (idle, errors, technician).  Large text
    names the current step only; the others keep their number or tick."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("steps")
        row = QHBoxLayout(self)
        row.setContentsMargins(24, 8, 24, 0)
        row.setSpacing(8)
        row.addStretch(1)
        self.labels: list[QLabel] = []
        for _ in STEPS:
            label = QLabel()
            label.setObjectName("step")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            row.addWidget(label)
            self.labels.append(label)
        row.addStretch(1)
        self.current = -1

    def show_state(self, state: str, large: bool) -> None:
        self.current = next((i for i, (_, states) in enumerate(STEPS) if state in states), -1)
        self.setVisible(self.current >= 0)
        if self.current < 0:
            return
        for i, label in enumerate(self.labels):
            name = translate("Kiosk", STEPS[i][0])
            mark = "✓" if i < self.current else str(i + 1)
            named = i == self.current or not large
            label.setText(f"{mark}  {name}" if named else mark)
            _mark(
                label,
                "step",
                "done" if i < self.current else "current" if i == self.current else "next",
            )

    def spoken(self) -> str:
        """What the voice says of it: "Step 3 of 5: Code"."""
        if self.current < 0:
            return ""
        return translate("Kiosk", "Langkah {n} dari {total}: {name}").format(
            n=self.current + 1, total=len(STEPS), name=translate("Kiosk", STEPS[self.current][0])
        )


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
        self.brand = _label(QT_TRANSLATE_NOOP("Kiosk", "ANJUNGAN DUKCAPIL MANDIRI"), "brand")
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
        self.contrast_button = _button(QT_TRANSLATE_NOOP("Kiosk", "Kontras"))
        self.voice_button = _button(QT_TRANSLATE_NOOP("Kiosk", "Suara"))
        self.reach_button = _button(QT_TRANSLATE_NOOP("Kiosk", "Posisi rendah"))
        self.text_button = _button(QT_TRANSLATE_NOOP("Kiosk", "Teks besar"))
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
        self.footer = _label("", "footer")
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
        _mark(self.footer, "warning", warning)
