"""The simulator panel: a second, small window beside the windowed demo kiosk
(``adm-kiosk simulate --window``) to do to the simulated world what a citizen or a fault
would do to the real one: tap or lift a demo citizen's e-KTP, put a matching or a wrong
finger on the scanner, scan a QR code, empty or refill the paper and the blank cards,
stop or start a printer, take the central server down and bring it back.

It talks only to the rig and the demo's embedded server, never to the kiosk: the kiosk
finds out as it would in a lobby.  Every action runs on a worker thread (stopping a
printer waits for its process to go), so neither window ever waits for one; the panel's
status line says what was done or what failed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from sim.population import DEMO_NIK, FAMILIES
from sim.rig import Rig
from sim.seed import DEMO_QR_TOKEN

log = logging.getLogger("sim.panel")


class _Done(QObject):
    finished = Signal(str)


class SimulatorPanel(QWidget):
    def __init__(self, rig: Rig, server: Any | None = None) -> None:
        """``server``: the demo's EmbeddedServer (stop/start), None when the kiosk talks
        to a server of its own."""
        super().__init__()
        self.rig, self.server = rig, server
        self.setWindowTitle("ADM simulator")
        self._pool = ThreadPoolExecutor(1, "sim-panel")  # actions in order, off the GUI
        self._done = _Done()
        self._done.finished.connect(self._show)
        self.pending = 0
        column = QVBoxLayout(self)

        card = QGroupBox("e-KTP")
        grid = QGridLayout(card)
        self.citizen = QComboBox()
        for family in FAMILIES:
            for member in family["members"]:
                self.citizen.addItem(f"{member['name']} ({member['nik']})", member["nik"])
        self.citizen.setCurrentIndex(max(0, self.citizen.findData(DEMO_NIK)))
        grid.addWidget(self.citizen, 0, 0, 1, 2)
        self.buttons: dict[str, QPushButton] = {}
        self._add(grid, 1, 0, "tap", "Tap card", lambda: rig.insert_card(self._nik()))
        self._add(grid, 1, 1, "lift", "Remove card", rig.remove_card)
        column.addWidget(card)

        finger = QGroupBox("Fingerprint")
        grid = QGridLayout(finger)

        def finger_on(what: str) -> Callable[[], None]:
            return lambda: rig.serial("fingerprint", finger=what)

        self._add(grid, 0, 0, "finger_good", "Good finger", finger_on("holder"))
        self._add(grid, 0, 1, "finger_wrong", "Wrong finger", finger_on("other"))
        self._add(grid, 1, 0, "finger_none", "No finger", finger_on("none"))
        column.addWidget(finger)

        qr = QGroupBox("QR scanner")
        grid = QGridLayout(qr)
        self.qr_text = QLineEdit(DEMO_QR_TOKEN)
        grid.addWidget(self.qr_text, 0, 0)
        self._add(
            grid, 0, 1, "qr", "Scan", lambda: rig.serial("qr", scan=self.qr_text.text(), eol="\r")
        )
        column.addWidget(qr)

        supplies = QGroupBox("Printers and supplies")
        grid = QGridLayout(supplies)
        self._add(grid, 0, 0, "paper_empty", "Empty A4 paper", lambda: rig.set_paper("adm-a4", 0))
        self._add(grid, 0, 1, "paper_fill", "Refill A4 paper", lambda: rig.set_paper("adm-a4", 250))
        self._add(
            grid, 1, 0, "cards_empty", "Empty blank cards", lambda: rig.set_paper("adm-card", 0)
        )
        self._add(
            grid, 1, 1, "cards_fill", "Refill blank cards", lambda: rig.set_paper("adm-card", 100)
        )
        self._add(grid, 2, 0, "a4_stop", "Stop A4 printer", lambda: rig.stop_printer("adm-a4"))
        self._add(grid, 2, 1, "a4_start", "Start A4 printer", lambda: rig.start_printer("adm-a4"))
        column.addWidget(supplies)

        central = QGroupBox("Central server")
        grid = QGridLayout(central)
        self._add(grid, 0, 0, "server_down", "Take down", self._server_down)
        self._add(grid, 0, 1, "server_up", "Bring up", self._server_up)
        for key in ("server_down", "server_up"):
            self.buttons[key].setEnabled(server is not None)
        column.addWidget(central)

        self.status = QLabel("Ready.")
        self.status.setWordWrap(True)
        column.addWidget(self.status)

    def _nik(self) -> str:
        return str(self.citizen.currentData())

    def _add(
        self, grid: QGridLayout, row: int, col: int, key: str, text: str, action: Callable[[], Any]
    ) -> None:
        button = QPushButton(text)
        button.clicked.connect(lambda: self.run(text, action))
        grid.addWidget(button, row, col)
        self.buttons[key] = button

    def run(self, what: str, action: Callable[[], Any]) -> None:
        """Do ``action`` on the panel's worker; the status line reports its outcome."""
        self.pending += 1
        self.status.setText(f"{what}…")

        def work() -> None:
            try:
                action()
                message = f"{what}: done."
            except Exception as exc:  # shown to the operator, the panel goes on
                log.warning("%s failed: %s", what, exc)
                message = f"{what}: failed ({exc})."
            self._done.finished.emit(message)

        self._pool.submit(work)

    def _show(self, message: str) -> None:
        self.pending -= 1
        self.status.setText(message)

    def _server_down(self) -> None:
        assert self.server is not None
        self.server.stop()

    def _server_up(self) -> None:
        assert self.server is not None
        self.server.start()

    def close(self) -> bool:
        self._pool.shutdown(wait=True)
        return super().close()
