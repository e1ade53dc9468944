"""Screens that take digits on the keypad: the citizen's PIN, a document's print code
and the technician's PIN.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import (
    QLabel,
)

from kiosk.flow import SessionView
from ui.screens.base import Screen
from ui.texts import QT_TRANSLATE_NOOP, notice_text
from ui.widgets import DigitField, Keypad, breakable, kind_title, repolish, text_button, text_label

translate = QCoreApplication.translate


class PinScreen(Screen):
    """NIK (16 digits, grouped 4-4-4-4) and the kiosk PIN (6 digits, hidden) on one
    keypad.  Large text shows one field at a time, under its own label as the title:
    the NIK until it is complete, then the PIN."""

    def __init__(self, on_submit: Callable[[str, str], None], on_cancel: Callable[[], None]):
        super().__init__()
        self.shares = (3, 2)
        self.title = text_label(QT_TRANSLATE_NOOP("Kiosk", "Masuk dengan NIK dan PIN"), "title")
        self.column.addWidget(self.title)
        self.prompt = text_label("", "error")
        self.column.addWidget(self.prompt)
        self.nik_label = text_label(QT_TRANSLATE_NOOP("Kiosk", "NIK (16 angka)"), "hint")
        self.column.addWidget(self.nik_label)
        self.nik = DigitField(16, group=4)
        self.column.addWidget(self.nik)
        self.pin_label = text_label(QT_TRANSLATE_NOOP("Kiosk", "PIN ADM (6 angka)"), "hint")
        self.column.addWidget(self.pin_label)
        self.pin = DigitField(6, secret=True)
        self.column.addWidget(self.pin)
        self.column.addStretch(1)
        self.keypad = Keypad(self._key)
        self.second.addWidget(self.keypad)
        self.submit = text_button(QT_TRANSLATE_NOOP("Kiosk", "Masuk"))
        self.submit.setObjectName("primary")
        self.submit.clicked.connect(lambda: on_submit(self.nik.value, self.pin.value))
        cancel = text_button(QT_TRANSLATE_NOOP("Kiosk", "Batal"))
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
            repolish(label)
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
        self.column.addWidget(text_label(title, "title"))
        self.hints = hints
        for hint in hints:
            self.column.addWidget(hint)
        self.prompt = text_label("", "error")
        self.column.addWidget(self.prompt)
        self.code = field
        self.code.set_active(True)
        self.column.addWidget(self.code)
        self.column.addStretch(1)
        self.keypad = Keypad(self._key)
        self.second.addWidget(self.keypad)
        self.submit = text_button(submit_text)
        self.submit.setObjectName("primary")
        self.submit.clicked.connect(lambda: on_submit(self.code.value))
        cancel = text_button(QT_TRANSLATE_NOOP("Kiosk", "Batal"))
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
        self.document = text_label("", "body")
        hint = text_label(
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


class TechnicianPinScreen(DigitEntryScreen):
    """Six hidden digits; a wrong PIN simply returns to the idle screen."""

    def __init__(self, on_submit: Callable[[str], None], on_cancel: Callable[[], None]):
        super().__init__(
            QT_TRANSLATE_NOOP("Kiosk", "Mode teknisi"),
            [text_label(QT_TRANSLATE_NOOP("Kiosk", "Masukkan PIN teknisi"), "hint")],
            DigitField(6, secret=True),
            QT_TRANSLATE_NOOP("Kiosk", "Masuk"),
            on_submit,
            on_cancel,
        )
