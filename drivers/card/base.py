"""The card reader interface: what the kiosk needs from an e-KTP reader, whatever the backend.

The e-KTP protocol (``drivers.card.ektp``) talks to a :class:`CardConnection` only, so it
runs unchanged over pcscd (``pcsc`` backend) and in-process (``sim`` backend).  pyscard
is imported only inside ``drivers.card.pcsc``.
"""

from __future__ import annotations

import enum
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol


class SW(enum.IntEnum):
    """ISO 7816-4 status words the protocol cares about."""

    OK = 0x9000
    END_OF_FILE = 0x6282
    VERIFICATION_FAILED = 0x6300
    CONDITIONS_NOT_SATISFIED = 0x6985
    WRONG_LENGTH = 0x6700
    SECURITY_STATUS = 0x6982
    FILE_NOT_FOUND = 0x6A82
    WRONG_P1P2 = 0x6B00
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00


class CardError(Exception):
    """Base of every card reader failure; ``str()`` is a message a technician can act on."""


class ReaderUnavailable(CardError):
    """No PC/SC service, or the configured reader is not there."""


class NoCard(CardError):
    """The reader is there but no card is present."""


class CardRemoved(CardError):
    """The card left the reader in the middle of an operation."""


class CardStatusError(CardError):
    """The card answered a command with an error status word."""

    def __init__(self, command: str, sw: int, meaning: str = "") -> None:
        self.command = command
        self.sw = sw
        detail = f"{meaning} ({sw:04X})" if meaning else f"status {sw:04X}"
        super().__init__(f"{command} failed: {detail}")


class CardProtocolError(CardError):
    """The card's answer does not follow the expected encoding (foreign or damaged card)."""


class NotAnEktp(CardError):
    """The card on the reader has no e-KTP application (blank or foreign card)."""


class AuthenticationFailed(CardError):
    """Card and SAM did not authenticate each other (wrong keys, cloned or damaged chip)."""


class DataNotAuthentic(CardError):
    """The chip's data does not match its digital signature (tampered or damaged)."""


class CardConnection(Protocol):
    """A connected card: send one APDU, receive its data and status word."""

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send ``apdu``; return (response data, status word)."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """Hold the card for this connection alone while the block runs.

        A reader slot is shared (the SAM by every process that uses it); commands whose
        state spans several APDUs (authentication, SELECT then READ) must not be
        interleaved with another connection's.
        """
        ...


class ReaderState(enum.Enum):
    """What the reader slot holds."""

    UNAVAILABLE = "unavailable"
    EMPTY = "empty"
    PRESENT = "present"


class CardReader(Protocol):
    """One reader slot.  ``open``/``close`` bracket its use; no I/O happens in constructors."""

    def open(self) -> None: ...

    def close(self) -> None: ...

    def wait_for_change(self, known: ReaderState, timeout: float) -> ReaderState:
        """Block up to ``timeout`` s until the slot differs from ``known``; return its state."""
        ...

    def cancel(self) -> None:
        """End a ``wait_for_change`` blocked in another thread now, and every later one at
        once (the watcher is stopping: a kiosk shutting down should not wait a poll)."""
        ...

    def connect(self) -> CardConnection:
        """Connect to the card in the slot (raises :class:`NoCard` when there is none)."""
        ...

    def disconnect(self) -> None: ...


@dataclass(frozen=True)
class Identity:
    """Who the card belongs to (the skeleton reads only NIK and name)."""

    nik: str
    name: str
