"""Blank-card accounting for the card printer: every blank consumed or spoiled, by serial.

KTP-el blanks ("blangko") are serialised security stock; they are loaded into the
hopper as a serial range and fed in order, so the n-th card job takes the n-th serial.
Each serial ends in exactly one ledger record: consumed (the card came out and the job
completed) or spoiled (the job failed after the blank may have been fed).  A job that
fails before it reaches the printer returns its serial to the front of the hopper.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import threading
from dataclasses import dataclass
from typing import Protocol


class CardOutcome(enum.Enum):
    CONSUMED = "consumed"
    SPOILED = "spoiled"
    # Taken from the hopper for a job whose end nobody can tell (held for the office):
    # out of the hopper either way, and the ledger says it is not known which.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class CardRecord:
    serial: str
    outcome: CardOutcome
    job_id: str  # the kiosk's print job id
    document: str  # the document number printed (or attempted)
    reason: str = ""
    at: dt.datetime | None = None


class CardLedger(Protocol):
    """Where card records go (the kiosk store)."""

    def record(self, record: CardRecord) -> None: ...


class CardStockEmpty(Exception):
    """No blank cards left in the hopper."""


_SERIAL = re.compile(r"^(?P<prefix>[A-Z0-9-]*?)(?P<number>\d+)$")


def serial_range(first: str, last: str) -> list[str]:
    """All serials from ``first`` to ``last`` inclusive (same prefix, same digit count)."""
    a, b = _SERIAL.match(first), _SERIAL.match(last)
    if not a or not b or a["prefix"] != b["prefix"] or len(a["number"]) != len(b["number"]):
        raise ValueError(f"not a serial range: {first!r}..{last!r}")
    lo, hi = int(a["number"]), int(b["number"])
    if hi < lo:
        raise ValueError(f"serial range runs backwards: {first!r}..{last!r}")
    width = len(a["number"])
    return [f"{a['prefix']}{n:0{width}d}" for n in range(lo, hi + 1)]


class CardStock:
    """The hopper: serials in feed order, handed out one per card job, thread-safe."""

    def __init__(self, ledger: CardLedger) -> None:
        self._ledger = ledger
        self._hopper: list[str] = []
        self._out: dict[str, str] = {}  # serial -> job id, taken but not yet settled
        self._lock = threading.Lock()

    def load(self, first: str, last: str, used: frozenset[str] | set[str] = frozenset()) -> int:
        """The technician loads a pack of blanks; returns how many are now in the hopper.
        ``used``: serials the ledger already holds (after a restart, the configured range
        still names them, but they left the hopper long ago)."""
        serials = [s for s in serial_range(first, last) if s not in used]
        with self._lock:
            known = set(self._hopper) | set(self._out)
            clash = known.intersection(serials)
            if clash:
                raise ValueError(f"serials already loaded: {sorted(clash)[:3]}")
            self._hopper.extend(serials)
            return len(self._hopper)

    @property
    def remaining(self) -> int:
        with self._lock:
            return len(self._hopper)

    def take(self, job_id: str) -> str:
        with self._lock:
            if not self._hopper:
                raise CardStockEmpty("no blank cards left in the card printer")
            serial = self._hopper.pop(0)
            self._out[serial] = job_id
            return serial

    def put_back(self, serial: str) -> None:
        """The job failed before reaching the printer: the blank is still first in line."""
        with self._lock:
            self._out.pop(serial)
            self._hopper.insert(0, serial)

    def settle(self, serial: str, outcome: CardOutcome, document: str, reason: str = "") -> None:
        with self._lock:
            job_id = self._out.pop(serial)
        self._ledger.record(
            CardRecord(serial, outcome, job_id, document, reason, dt.datetime.now(dt.UTC))
        )


class MemoryCardLedger:
    """A ledger kept in memory (tests; the kiosk store keeps the durable one)."""

    def __init__(self) -> None:
        self.records: list[CardRecord] = []

    def record(self, record: CardRecord) -> None:
        self.records.append(record)
