"""A print under way, a session done, a session ended by an error."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import (
    QProgressBar,
)

from kiosk.flow import SessionView
from ui.screens.base import MessageScreen
from ui.texts import QT_TRANSLATE_NOOP, notice_text
from ui.widgets import (
    LARGE_DONE,
    PRINT_STEPS,
    breakable,
    kind_title,
    step_text,
    text_button,
    text_label,
)

translate = QCoreApplication.translate


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
        button = text_button(QT_TRANSLATE_NOOP("Kiosk", "Selesai"))
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
        self.detail = text_label("", "error")
        self.column.insertWidget(3, self.detail)
        self.button = text_button(QT_TRANSLATE_NOOP("Kiosk", "Kembali ke awal"))
        self.button.clicked.connect(on_finish)
        self.column.insertWidget(self.column.count() - 1, self.button)

    def show_view(self, view: SessionView) -> None:
        self.detail.setText(notice_text(view.error))
