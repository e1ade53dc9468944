"""In-process card reader: a virtual e-KTP held in memory, for fast unit tests.

Runs the same card code (:class:`VirtualEktp`) as the vpcd emulator, without pcscd.
Tests (or the diagnostics screen) call :meth:`insert` and :meth:`remove`.
"""

from __future__ import annotations

import threading
import time

from drivers.card.base import CardConnection, CardRemoved, Identity, NoCard, ReaderState
from drivers.card.virtual import VirtualEktp


class _SimConnection:
    def __init__(self, reader: SimReader, card: VirtualEktp) -> None:
        self._reader = reader
        self._card = card

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        if self._reader.card is not self._card:
            raise CardRemoved("card removed during transmit")
        reply = self._card.process(apdu)
        return reply[:-2], int.from_bytes(reply[-2:], "big")


class SimReader:
    """A reader slot whose card is inserted and removed by calls, thread-safely."""

    def __init__(self) -> None:
        self.card: VirtualEktp | None = None
        self._cond = threading.Condition()
        self.available = True

    def insert(self, identity: Identity) -> None:
        with self._cond:
            self.card = VirtualEktp(identity)
            self._cond.notify_all()

    def remove(self) -> None:
        with self._cond:
            self.card = None
            self._cond.notify_all()

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def _state(self) -> ReaderState:
        if not self.available:
            return ReaderState.UNAVAILABLE
        return ReaderState.PRESENT if self.card is not None else ReaderState.EMPTY

    def wait_for_change(self, known: ReaderState, timeout: float) -> ReaderState:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._state() == known:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return self._state()

    def connect(self) -> CardConnection:
        with self._cond:
            if self.card is None:
                raise NoCard("no card on the reader")
            return _SimConnection(self, self.card)

    def disconnect(self) -> None:
        pass
