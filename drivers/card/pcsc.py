"""PC/SC backend (pyscard): the one module that imports ``smartcard``.

Uses pyscard's thin ``scard`` layer so that every call has an explicit timeout and every
PC/SC error code is mapped to the kiosk's own :mod:`drivers.card.base` errors.  A lost
PC/SC service (pcscd restarted) or a vanished reader is recovered by rebuilding the
context on the next call, without restarting the kiosk.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from drivers.card.base import (
    CardConnection,
    CardError,
    CardRemoved,
    NoCard,
    ReaderState,
    ReaderUnavailable,
)

log = logging.getLogger("drivers.card.pcsc")
traffic = logging.getLogger("drivers.card.traffic")

_PNP = "\\\\?PnP?\\Notification"
CANCEL_SLICE = 1.0  # longest single status wait, s


def _scard() -> Any:
    from smartcard import scard  # lazy: the core imports without pyscard

    return scard


class PcscConnection:
    """A connected card handle; transmit maps PC/SC errors to kiosk errors."""

    def __init__(self, hcard: Any, protocol: int) -> None:
        self._hcard = hcard
        self._protocol = protocol

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        sc = _scard()
        # Log only the command header: data fields and responses can carry personal data.
        traffic.debug("> %s", apdu[:4].hex(" "))
        hresult, response = sc.SCardTransmit(self._hcard, self._protocol, list(apdu))
        if hresult != sc.SCARD_S_SUCCESS:
            raise _map_error(hresult, "transmit")
        if len(response) < 2:
            # vpcd (and some readers) answer an empty frame when the chip leaves the field
            # in the middle of a command.
            raise CardRemoved("card left the reader or stopped answering during transmit")
        sw = (response[-2] << 8) | response[-1]
        traffic.debug("< %04X (%d bytes)", sw, len(response) - 2)
        return bytes(response[:-2]), sw

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """SCardBeginTransaction .. SCardEndTransaction: other handles to the same card
        (another process sharing the SAM) wait until the block ends."""
        sc = _scard()
        hresult = sc.SCardBeginTransaction(self._hcard)
        if hresult == sc.SCARD_W_RESET_CARD:
            # The card was reset since we connected (pcscd finishing its power-up of a
            # card just tapped, or another application): nothing of ours was lost yet, so
            # take the card as it is now and begin again, once.
            log.info("card reset before the transaction; reconnecting")
            hresult, protocol = sc.SCardReconnect(
                self._hcard,
                sc.SCARD_SHARE_SHARED,
                sc.SCARD_PROTOCOL_T0 | sc.SCARD_PROTOCOL_T1,
                sc.SCARD_LEAVE_CARD,
            )
            if hresult == sc.SCARD_S_SUCCESS:
                self._protocol = protocol
                hresult = sc.SCardBeginTransaction(self._hcard)
        if hresult != sc.SCARD_S_SUCCESS:
            raise _map_error(hresult, "begin transaction")
        try:
            yield
        finally:
            hresult = sc.SCardEndTransaction(self._hcard, sc.SCARD_LEAVE_CARD)
            if hresult != sc.SCARD_S_SUCCESS:
                # The card or the service went away inside the block; the transaction
                # ended with it, and the block's own error (if any) says why.
                log.debug("end transaction: %s", sc.SCardGetErrorMessage(hresult))


def _map_error(hresult: int, what: str) -> CardError:
    sc = _scard()
    message = sc.SCardGetErrorMessage(hresult)
    if hresult in (
        sc.SCARD_W_REMOVED_CARD,
        sc.SCARD_E_NO_SMARTCARD,
        sc.SCARD_W_RESET_CARD,
        sc.SCARD_W_UNPOWERED_CARD,
        sc.SCARD_W_UNRESPONSIVE_CARD,
        sc.SCARD_E_NOT_TRANSACTED,
        sc.SCARD_F_COMM_ERROR,
        # a handle to a card that left and was replaced in the slot since it was opened
        sc.SCARD_E_PROTO_MISMATCH,
    ):
        return CardRemoved(f"card left the reader or stopped answering during {what}: {message}")
    if hresult in (
        sc.SCARD_E_NO_SERVICE,
        sc.SCARD_E_SERVICE_STOPPED,
        sc.SCARD_E_UNKNOWN_READER,
        sc.SCARD_E_READER_UNAVAILABLE,
        sc.SCARD_E_NO_READERS_AVAILABLE,
        sc.SCARD_E_INVALID_HANDLE,
    ):
        return ReaderUnavailable(f"card reader unavailable during {what}: {message}")
    return CardError(f"PC/SC error during {what}: {message} (0x{hresult & 0xFFFFFFFF:08X})")


class PcscReader:
    """One reader slot through pcscd.  ``reader`` is a substring of the reader name."""

    def __init__(self, reader: str = "") -> None:
        self._want = reader
        self._ctx: Any = None
        self._hcard: Any = None
        self._lock = threading.Lock()
        self._cancelled = threading.Event()

    # --- context management -------------------------------------------------------------
    def open(self) -> None:
        self._ensure_context()

    def close(self) -> None:
        self.disconnect()
        with self._lock:
            if self._ctx is not None:
                _scard().SCardReleaseContext(self._ctx)
                self._ctx = None

    def _ensure_context(self) -> Any:
        with self._lock:
            if self._ctx is None:
                sc = _scard()
                hresult, ctx = sc.SCardEstablishContext(sc.SCARD_SCOPE_USER)
                if hresult != sc.SCARD_S_SUCCESS:
                    raise ReaderUnavailable(
                        f"PC/SC service not available: {sc.SCardGetErrorMessage(hresult)}"
                    )
                self._ctx = ctx
            return self._ctx

    def _drop_context(self) -> None:
        with self._lock:
            if self._ctx is not None:
                _scard().SCardReleaseContext(self._ctx)
                self._ctx = None

    def _reader_name(self) -> str:
        sc = _scard()
        for attempt in (1, 2):
            ctx = self._ensure_context()
            hresult, readers = sc.SCardListReaders(ctx, [])
            if hresult == sc.SCARD_E_NO_READERS_AVAILABLE:
                raise ReaderUnavailable("no card reader connected")
            if hresult == sc.SCARD_S_SUCCESS:
                break
            # A context from before a pcscd restart is dead: build a new one, once.
            self._drop_context()
            if attempt == 2:
                raise _map_error(hresult, "listing readers")
        for name in readers:
            if self._want in name:
                return str(name)
        raise ReaderUnavailable(f"card reader {self._want!r} not found (have: {readers})")

    def cancel(self) -> None:
        """SCardCancel: a SCardGetStatusChange blocked on this context returns at once."""
        self._cancelled.set()
        with self._lock:
            ctx = self._ctx
        if ctx is not None:
            _scard().SCardCancel(ctx)

    # --- presence -----------------------------------------------------------------------
    def _state_of(self, event_state: int) -> ReaderState:
        sc = _scard()
        if event_state & (sc.SCARD_STATE_UNAVAILABLE | sc.SCARD_STATE_UNKNOWN):
            return ReaderState.UNAVAILABLE
        if event_state & sc.SCARD_STATE_PRESENT and not event_state & sc.SCARD_STATE_MUTE:
            return ReaderState.PRESENT
        return ReaderState.EMPTY

    def wait_for_change(self, known: ReaderState, timeout: float) -> ReaderState:
        """Block until the slot's state differs from ``known`` or ``timeout`` passes."""
        sc = _scard()
        deadline = time.monotonic() + timeout
        if self._cancelled.is_set():
            return known
        try:
            name = self._reader_name()
        except ReaderUnavailable:
            # No service or no reader yet: wait (bounded) and let the caller ask again.
            self._drop_context()
            self._cancelled.wait(min(timeout, 0.5))
            return ReaderState.UNAVAILABLE
        ctx = self._ensure_context()
        hresult, states = sc.SCardGetStatusChange(ctx, 0, [(name, sc.SCARD_STATE_UNAWARE)])
        if hresult != sc.SCARD_S_SUCCESS:
            self._drop_context()
            return ReaderState.UNAVAILABLE
        _, event_state, _ = states[0]
        current = self._state_of(event_state)
        while current == known:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._cancelled.is_set():
                return current
            # In slices: a cancel that lands just before the call (SCardCancel wakes only
            # a call already waiting) is still seen within one slice.
            hresult, states = sc.SCardGetStatusChange(
                ctx,
                int(min(remaining, CANCEL_SLICE) * 1000),
                [(name, event_state & ~sc.SCARD_STATE_CHANGED)],
            )
            if hresult == sc.SCARD_E_CANCELLED:
                return current
            if hresult == sc.SCARD_E_TIMEOUT:
                continue
            if hresult != sc.SCARD_S_SUCCESS:
                self._drop_context()
                return ReaderState.UNAVAILABLE
            _, event_state, _ = states[0]
            current = self._state_of(event_state)
        return current

    # --- connection ---------------------------------------------------------------------
    def connect(self) -> CardConnection:
        sc = _scard()
        name = self._reader_name()
        ctx = self._ensure_context()
        self.disconnect()
        hresult, hcard, protocol = sc.SCardConnect(
            ctx, name, sc.SCARD_SHARE_SHARED, sc.SCARD_PROTOCOL_T0 | sc.SCARD_PROTOCOL_T1
        )
        if hresult in (sc.SCARD_E_NO_SMARTCARD, sc.SCARD_W_REMOVED_CARD):
            raise NoCard("no card on the reader")
        if hresult != sc.SCARD_S_SUCCESS:
            raise _map_error(hresult, "connect")
        self._hcard = hcard
        return PcscConnection(hcard, protocol)

    def disconnect(self) -> None:
        if self._hcard is not None:
            sc = _scard()
            sc.SCardDisconnect(self._hcard, sc.SCARD_UNPOWER_CARD)
            self._hcard = None
