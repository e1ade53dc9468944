"""The idle screen: what the kiosk offers, the tap animation, the languages."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication

from kiosk.flow import SessionView
from ui.screens.base import MessageScreen
from ui.texts import QT_TRANSLATE_NOOP, notice_text
from ui.widgets import TapAnimation, text_button, text_label

translate = QCoreApplication.translate


class AttractScreen(MessageScreen):
    """The idle screen: welcome, where to tap the e-KTP (animated), the other ways in,
    and the office's notice.  Landscape: the notice and the animation on the right."""

    def __init__(self, on_pin: Callable[[], None]) -> None:
        super().__init__(QT_TRANSLATE_NOOP("Kiosk", "Selamat datang"), "")
        self.pin_button = text_button(QT_TRANSLATE_NOOP("Kiosk", "Masuk dengan NIK dan PIN"))
        self.pin_button.clicked.connect(on_pin)
        self.column.insertWidget(self.column.count() - 1, self.pin_button)
        self.qr_hint = text_label(
            QT_TRANSLATE_NOOP(
                "Kiosk", "Punya kode QR dari Dukcapil? Arahkan ke pemindai di bawah layar."
            ),
            "hint",
        )
        self.column.insertWidget(self.column.count() - 1, self.qr_hint)
        # The office's own notice (``[ui] office_notice``: opening hours, a closure), as
        # the office wrote it.
        self.notice = text_label("", "notice")
        self.notice.setVisible(False)
        self._configured: str | None = None  # the configured notice, while the office's shows
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
        """Only the ways in whose devices this kiosk has; the office's latest notice."""
        if view.office_notice is not None:
            if self._configured is None:
                self._configured = self.notice.text()
            self.set_notice(view.office_notice)
        elif self._configured is not None:  # the office took its notice back
            self.set_notice(self._configured)
            self._configured = None
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
