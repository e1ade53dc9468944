"""The citizen's documents: what can be printed, chosen by taps."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kiosk.flow import SessionView
from ui.screens.base import Screen
from ui.texts import QT_TRANSLATE_NOOP, notice_text
from ui.theme import THEMES
from ui.widgets import (
    LARGE_GREETING,
    LARGE_PAGE,
    LARGE_TEXT,
    MEDIUM_TEXT,
    TextButton,
    breakable,
    first_names,
    kind_title,
    text_button,
    text_label,
)

translate = QCoreApplication.translate


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
        self.greeting = text_label("", "greeting")  # a name may be 100 characters long
        self.nik = text_label("", "hint")
        self.column.addWidget(self.greeting)
        self.column.addWidget(self.nik)
        self.column.addWidget(
            text_label(
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
        self.empty = text_label(
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
        self.page_label = text_label("", "hint")
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
        self.print_button = text_button(QT_TRANSLATE_NOOP("Kiosk", "Cetak"))
        self.print_button.setObjectName("primary")
        self.print_button.clicked.connect(lambda: on_print(self.selected()))
        self.cancel_button = text_button(QT_TRANSLATE_NOOP("Kiosk", "Batal"))
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
