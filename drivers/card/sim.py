"""In-process card reader slot: a virtual chip held in memory, for fast unit tests.

Runs the same chip code (:mod:`drivers.card.virtual`) as the vpcd emulator, without
pcscd.  Tests (or the diagnostics screen) call :meth:`SimReader.insert` and
:meth:`SimReader.remove`; the slot can also be made unavailable (reader unplugged).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from drivers.card.base import (
    CardConnection,
    CardRemoved,
    NoCard,
    ReaderState,
    ReaderUnavailable,
)
from drivers.card.virtual import CardPulled
from drivers.card.virtual import VirtualChip as Chip


class _SimConnection:
    def __init__(self, reader: SimReader, chip: Chip) -> None:
        self._reader = reader
        self._chip = chip

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        if not self._reader.available:
            raise ReaderUnavailable("card reader unavailable during transmit")
        if self._reader.chip is not self._chip:
            raise CardRemoved("card removed during transmit")
        if self._chip.delay:
            time.sleep(self._chip.delay)  # the slow-card fault
        try:
            with self._reader.card_lock:  # waits while another thread holds a transaction
                reply = self._chip.process(apdu)
        except CardPulled:
            self._reader.remove()
            raise CardRemoved("card removed during transmit") from None
        return reply[:-2], int.from_bytes(reply[-2:], "big")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One connection at a time may hold the in-process card, as with PC/SC."""
        with self._reader.card_lock:
            yield


class SimReader:
    """A reader slot whose chip is inserted and removed by calls, thread-safely."""

    def __init__(self, chip: Chip | None = None) -> None:
        self.chip: Chip | None = chip
        self._cond = threading.Condition()
        self.available = True
        self.card_lock = threading.RLock()
        self._cancelled = False

    def insert(self, chip: Chip) -> None:
        with self._cond:
            chip.reset()
            self.chip = chip
            self._cond.notify_all()

    def remove(self) -> None:
        with self._cond:
            self.chip = None
            self._cond.notify_all()

    def set_available(self, available: bool) -> None:
        with self._cond:
            self.available = available
            self._cond.notify_all()

    def cancel(self) -> None:
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def _state(self) -> ReaderState:
        if not self.available:
            return ReaderState.UNAVAILABLE
        return ReaderState.PRESENT if self.chip is not None else ReaderState.EMPTY

    def wait_for_change(self, known: ReaderState, timeout: float) -> ReaderState:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._state() == known and not self._cancelled:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return self._state()

    def connect(self) -> CardConnection:
        with self._cond:
            if not self.available:
                raise ReaderUnavailable("card reader unavailable")
            if self.chip is None:
                raise NoCard("no card on the reader")
            self.chip.reset()
            return _SimConnection(self, self.chip)

    def disconnect(self) -> None:
        pass
