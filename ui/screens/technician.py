"""The technician's diagnostics and the out-of-service screen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import (
    QLabel,
    QPushButton,
)

from kiosk.flow import SessionView
from ui.screens.base import MessageScreen, Screen
from ui.texts import QT_TRANSLATE_NOOP, check_text, notice_text
from ui.widgets import text_button, text_label

translate = QCoreApplication.translate


class DiagnosticsScreen(Screen):
    """Device checks, a test print and the out-of-service switch, for the technician."""

    def __init__(self, post: Callable[..., Any]) -> None:
        super().__init__()
        self.column.addWidget(
            text_label(QT_TRANSLATE_NOOP("Kiosk", "Diagnostik anjungan"), "title")
        )
        self.status = text_label("", "error")
        self.column.addWidget(self.status)
        self.checks = QLabel()
        self.checks.setObjectName("checks")
        self.checks.setWordWrap(True)
        self.column.addWidget(self.checks)
        self.note = text_label("", "hint")
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
            b = text_button(text)
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
