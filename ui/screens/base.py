"""What every citizen screen is: a widget that renders a :class:`SessionView` and
turns taps into flow events, and the message screens most states are.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import (
    QBoxLayout,
    QVBoxLayout,
    QWidget,
)

from kiosk.flow import SessionView
from ui.texts import QT_TRANSLATE_NOOP, notice_text
from ui.widgets import text_label

translate = QCoreApplication.translate


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
        self.title = text_label(title, "title")
        self.body = text_label(body, "body")
        self.column.addWidget(self.title)
        self.column.addWidget(self.body)
        self.hint = text_label(hint, "hint")
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
        self.prompt = text_label("", "error")
        self.prompt.setVisible(False)
        self.column.insertWidget(self.column.count() - 1, self.prompt)

    def show_view(self, view: SessionView) -> None:
        self.prompt.setText(notice_text(view.prompt))
        self.prompt.setVisible(bool(view.prompt))
