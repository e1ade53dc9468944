"""The pieces every screen is built of: sizes of the large-text mode, the sentences
of print progress, text buttons that keep their source for a language switch, the
keypad and its digit field, the tap animation and the step bar.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QElapsedTimer, QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from ui import icons
from ui.texts import QT_TRANSLATE_NOOP, notice_text
from ui.theme import THEMES

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


def text_label(source: str, name: str, wrap: bool = True) -> QLabel:
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
            repolish(w)
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


def mark_state(widget: QWidget, name: str, value: object) -> None:
    """Set the property the theme's rules select on (``[name="value"]``) and have them
    apply anew; nothing is done when the widget already has that value."""
    if widget.property(name) != value:
        widget.setProperty(name, value)
        repolish(widget)


def repolish(widget: QWidget) -> None:
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def text_button(source: str) -> TextButton:
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
            b = (
                text_button(QT_TRANSLATE_NOOP("Kiosk", "Hapus"))
                if key == "clear"
                else QPushButton(key)
            )
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
        mark_state(self, "active", active)  # the theme's rule for [active="true"]

    @property
    def complete(self) -> bool:
        return len(self.value) == self.length

    def _paint(self) -> None:
        shown = "•" * len(self.value) if self.secret else self.value
        shown += "_" * (self.length - len(self.value))
        if self.group:
            shown = " ".join(shown[i : i + self.group] for i in range(0, len(shown), self.group))
        self.setText(shown)


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
            mark_state(
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
