"""The citizen's screens: one widget per flow state, shown in a portrait 1080x1920 window.

Screens only render a :class:`SessionView` and turn taps into flow events; they never call
drivers or the server, and never run on any thread but the Qt main thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk import timeouts
from kiosk.flow import SessionView

BLUE = "#0b4f9c"
STYLE = f"""
QWidget#root {{ background: #f3f6fa; }}
QLabel {{ color: #1b2430; }}
QLabel#brand {{ background: {BLUE}; color: white; font-size: 40px; font-weight: bold;
               padding: 36px; }}
QLabel#title {{ font-size: 64px; font-weight: bold; color: {BLUE}; }}
QLabel#body {{ font-size: 40px; }}
QLabel#hint {{ font-size: 32px; color: #4a5565; }}
QLabel#footer {{ font-size: 30px; color: #4a5565; padding: 24px; }}
QLabel#footer[warning="true"] {{ font-size: 38px; font-weight: bold; color: white;
                                background: #b45309; }}
QLabel#error {{ font-size: 34px; color: #9b1c1c; }}
QPushButton {{ font-size: 44px; min-height: 150px; border-radius: 24px; padding: 12px 40px;
              background: white; border: 4px solid {BLUE}; color: {BLUE}; }}
QPushButton:checked {{ background: #dbe8f8; }}
QPushButton#primary {{ background: {BLUE}; color: white; }}
QPushButton:disabled {{ color: #9aa3ad; border-color: #c4cad1; background: #eceff3; }}
QProgressBar {{ min-height: 48px; font-size: 28px; border: 3px solid {BLUE};
               border-radius: 12px; text-align: center; }}
QProgressBar::chunk {{ background: {BLUE}; }}
"""

PRINT_STEPS = {"render": 25, "spool": 45, "printing": 70, "confirm": 95}
STEP_TEXT = {
    "render": "Menyiapkan dokumen…",
    "spool": "Mengirim ke printer…",
    "printing": "Printer sedang mencetak…",
    "confirm": "Mencatat pencetakan…",
}


CONDITION_TEXT = {
    "media_empty": "Printer kehabisan kertas.",
    "media_jam": "Kertas tersangkut di printer.",
    "door_open": "Pintu printer terbuka.",
    "offline": "Printer tidak terhubung.",
    "toner_empty": "Tinta/toner printer habis.",
}


def step_text(progress: str) -> str:
    """What the printing screen says about the current step, including why a job waits."""
    if progress.startswith("waiting:"):
        reasons = [CONDITION_TEXT[c] for c in progress[8:].split(",") if c in CONDITION_TEXT]
        if reasons:
            return " ".join(reasons) + " Mohon hubungi petugas."
        return STEP_TEXT["printing"]
    return STEP_TEXT.get(progress, "")


def _label(text: str, name: str, wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    label.setWordWrap(wrap)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return label


class Screen(QWidget):
    """Base: a centred column; subclasses fill it and implement ``show_view``."""

    def __init__(self) -> None:
        super().__init__()
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(80, 60, 80, 60)
        self.column.setSpacing(40)

    def show_view(self, view: SessionView) -> None:
        pass


class MessageScreen(Screen):
    def __init__(self, title: str, body: str, hint: str = "") -> None:
        super().__init__()
        self.column.addStretch(2)
        self.title = _label(title, "title")
        self.body = _label(body, "body")
        self.column.addWidget(self.title)
        self.column.addWidget(self.body)
        if hint:
            self.column.addWidget(_label(hint, "hint"))
        self.column.addStretch(3)


class AttractScreen(MessageScreen):
    def __init__(self) -> None:
        super().__init__(
            "Selamat datang",
            "Tempelkan e-KTP Anda pada pembaca kartu untuk mencetak dokumen kependudukan.",
            "Place your e-KTP on the card reader to print your documents.",
        )
        for text in ("Masuk dengan NIK dan PIN", "Pindai kode QR"):
            button = QPushButton(text)
            button.setEnabled(False)  # the other ways in come with their own drivers
            self.column.insertWidget(self.column.count() - 1, button)


class DocumentsScreen(Screen):
    """Greets the citizen and lists the approved documents as large toggle buttons."""

    def __init__(self, on_print: Callable[[list[int]], None], on_cancel: Callable[[], None]):
        super().__init__()
        self.photo = QLabel()
        self.photo.setFixedSize(180, 240)
        self.photo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.photo.setStyleSheet("border: 3px solid #c4cad1; background: white;")
        self.column.addWidget(self.photo, 0, Qt.AlignmentFlag.AlignHCenter)
        self.greeting = _label("", "title")
        self.nik = _label("", "hint")
        self.column.addWidget(self.greeting)
        self.column.addWidget(self.nik)
        self.column.addWidget(_label("Pilih dokumen yang akan dicetak:", "body"))
        self.list_box = QVBoxLayout()
        self.list_box.setSpacing(24)
        self.column.addLayout(self.list_box)
        self.empty = _label("Tidak ada dokumen yang siap dicetak.", "body")
        self.column.addWidget(self.empty)
        self.column.addStretch(1)
        self.print_button = QPushButton("Cetak")
        self.print_button.setObjectName("primary")
        self.print_button.clicked.connect(lambda: on_print(self.selected()))
        self.cancel_button = QPushButton("Batal")
        self.cancel_button.clicked.connect(on_cancel)
        self.column.addWidget(self.print_button)
        self.column.addWidget(self.cancel_button)
        self.doc_buttons: dict[int, QPushButton] = {}

    def selected(self) -> list[int]:
        return [doc_id for doc_id, b in self.doc_buttons.items() if b.isChecked()]

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
        self.photo.setVisible(bool(view.photo))
        self.greeting.setText(f"Halo, {view.name}")
        self.nik.setText(f"NIK {view.masked_nik}")
        ids = [d["id"] for d in view.documents]
        if ids != list(self.doc_buttons):
            for b in self.doc_buttons.values():
                b.deleteLater()
            self.doc_buttons = {}
            for doc in view.documents:
                b = QPushButton()
                b.setCheckable(True)
                reason = str(doc.get("unavailable", ""))
                b.setChecked(not reason)
                b.setEnabled(not reason)  # shown, with the reason, but not printable now
                b.setProperty("label", f"{doc['title']}\n{reason or doc['number']}")
                b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
                b.toggled.connect(self._update_print_button)
                self.list_box.addWidget(b)
                self.doc_buttons[doc["id"]] = b
        self.empty.setVisible(not view.documents)
        self._update_print_button()

    def _update_print_button(self) -> None:
        for b in self.doc_buttons.values():
            # The tick says "selected" without relying on colour alone.
            mark = "☑  " if b.isChecked() else ("☐  " if b.isEnabled() else "✕  ")
            b.setText(mark + str(b.property("label")))
        self.print_button.setEnabled(bool(self.selected()))


class PrintingScreen(MessageScreen):
    def __init__(self) -> None:
        super().__init__("Sedang mencetak", "", "Mohon tunggu, jangan tinggalkan anjungan.")
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.column.insertWidget(3, self.bar)

    def show_view(self, view: SessionView) -> None:
        done = len(view.results)
        total = max(1, len(view.selected))
        titles = {d["id"]: d["title"] for d in view.documents}
        current = next(
            (d for d in view.selected if d not in {r.doc_id for r in view.results}), None
        )
        name = titles.get(current, "") if current is not None else ""
        step = PRINT_STEPS.get(view.progress.split(":")[0].replace("waiting", "printing"), 5)
        self.bar.setValue(int((done + step / 100) / total * 100))
        self.body.setText(
            f"{name} ({done + 1} dari {total})\n{step_text(view.progress)}"
            if current is not None
            else "Selesai mencetak."
        )


class DoneScreen(MessageScreen):
    def __init__(self, on_finish: Callable[[], None]) -> None:
        super().__init__(
            "Silakan ambil dokumen Anda",
            "",
            "Jangan lupa mengambil kembali e-KTP Anda.",
        )
        button = QPushButton("Selesai")
        button.setObjectName("primary")
        button.clicked.connect(on_finish)
        self.column.insertWidget(self.column.count() - 1, button)

    def show_view(self, view: SessionView) -> None:
        lines = [f"✓ {r.title} — {r.number}" for r in view.results]
        self.body.setText("\n".join(lines))


class ErrorScreen(MessageScreen):
    def __init__(self, on_finish: Callable[[], None]) -> None:
        super().__init__(
            "Maaf, terjadi kendala",
            "Dokumen yang belum tercetak tetap dapat dicetak nanti.",
            "",
        )
        self.detail = _label("", "error")
        self.column.insertWidget(3, self.detail)
        self.button = QPushButton("Kembali ke awal")
        self.button.clicked.connect(on_finish)
        self.column.insertWidget(self.column.count() - 1, self.button)

    def show_view(self, view: SessionView) -> None:
        self.detail.setText(view.error)


class OutOfServiceScreen(MessageScreen):
    def __init__(self) -> None:
        super().__init__(
            "Anjungan sedang tidak dapat digunakan",
            "",
            "Silakan menggunakan anjungan lain atau layanan di kantor Dinas Dukcapil.",
        )

    def show_view(self, view: SessionView) -> None:
        self.body.setText(view.error)


class KioskWindow(QWidget):
    """Header, one stacked screen per flow state, and a footer with the session countdown."""

    def __init__(self, post: Callable[..., Any]) -> None:
        super().__init__()
        self.setObjectName("root")
        self.setWindowTitle("Anjungan Dukcapil Mandiri")
        self.setStyleSheet(STYLE)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(_label("ANJUNGAN DUKCAPIL MANDIRI", "brand"))
        self.stack = QStackedWidget()
        layout.addWidget(self.stack, 1)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        layout.addWidget(line)
        self.footer = _label("", "footer")
        layout.addWidget(self.footer)
        self.documents = DocumentsScreen(
            on_print=lambda ids: post("print_selected", doc_ids=ids),
            on_cancel=lambda: post("finish"),
        )
        self.screens: dict[str, Screen] = {
            "attract": AttractScreen(),
            "reading_card": MessageScreen(
                "Membaca e-KTP", "Jangan angkat kartu Anda dari pembaca.", "Reading your card…"
            ),
            "verify_finger": MessageScreen(
                "Verifikasi sidik jari",
                "Letakkan jari telunjuk Anda pada pemindai sidik jari.",
                "Place your index finger on the scanner.",
            ),
            "loading_documents": MessageScreen(
                "Memuat dokumen", "Mengambil dokumen Anda yang telah disetujui…"
            ),
            "choose_documents": self.documents,
            "printing": PrintingScreen(),
            "done": DoneScreen(on_finish=lambda: post("finish")),
            "error": ErrorScreen(on_finish=lambda: post("finish")),
            "out_of_service": OutOfServiceScreen(),
        }
        for screen in self.screens.values():
            self.stack.addWidget(screen)

    def show_view(self, view: SessionView) -> None:
        screen = self.screens[view.state]
        screen.show_view(view)
        self.stack.setCurrentWidget(screen)
        self.update_countdown(view.seconds_left)

    def update_countdown(self, seconds_left: float | None) -> None:
        warning = seconds_left is not None and seconds_left <= timeouts.TIMEOUT_WARNING
        if seconds_left is None:
            text = "Layanan gratis · Dinas Kependudukan dan Pencatatan Sipil"
        elif warning:
            text = (
                f"Sesi akan berakhir dalam {int(seconds_left + 0.5)} detik. "
                "Sentuh layar untuk melanjutkan."
            )
        else:
            text = f"Sesi berakhir dalam {int(seconds_left + 0.5)} detik"
        self.footer.setText(text)
        if self.footer.property("warning") != warning:
            self.footer.setProperty("warning", warning)
            self.footer.style().unpolish(self.footer)  # re-apply the stylesheet
            self.footer.style().polish(self.footer)
