"""The print spooler interface: submit a PDF to a medium's queue, follow it, cancel it.

Backends: ``printing.cups_spooler`` (pycups, the one module that imports ``cups``) and
``printing.sim_spooler`` (in-process, for unit tests).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from printing.ipp import JobList


class JobState(enum.IntEnum):
    """IPP job states (RFC 8011 section 5.3.7)."""

    PENDING = 3
    HELD = 4
    PROCESSING = 5
    STOPPED = 6
    CANCELED = 7
    ABORTED = 8
    COMPLETED = 9

    @property
    def final(self) -> bool:
        return self >= JobState.CANCELED


@dataclass(frozen=True)
class JobStatus:
    state: JobState
    reasons: tuple[str, ...] = ()
    name: str | None = None  # the job's title, when the print system said it


class PrinterState(enum.IntEnum):
    """IPP printer states."""

    IDLE = 3
    PROCESSING = 4
    STOPPED = 5


class Condition(enum.Enum):
    """What a kiosk technician (and the flow) needs to know about a printer."""

    MEDIA_EMPTY = "media_empty"
    MEDIA_LOW = "media_low"
    MEDIA_JAM = "media_jam"
    OFFLINE = "offline"
    DOOR_OPEN = "door_open"
    TONER_LOW = "toner_low"
    TONER_EMPTY = "toner_empty"
    OTHER = "other"


# IPP printer-state-reasons keywords (without -report/-warning/-error) → kiosk condition
REASONS: dict[str, Condition] = {
    "media-empty": Condition.MEDIA_EMPTY,
    "media-needed": Condition.MEDIA_EMPTY,
    "input-tray-missing": Condition.MEDIA_EMPTY,
    "media-low": Condition.MEDIA_LOW,
    "media-jam": Condition.MEDIA_JAM,
    "offline": Condition.OFFLINE,
    "shutdown": Condition.OFFLINE,
    "connecting-to-device": Condition.OFFLINE,
    "timed-out": Condition.OFFLINE,
    "door-open": Condition.DOOR_OPEN,
    "cover-open": Condition.DOOR_OPEN,
    "interlock-open": Condition.DOOR_OPEN,
    "toner-low": Condition.TONER_LOW,
    "marker-supply-low": Condition.TONER_LOW,
    "toner-empty": Condition.TONER_EMPTY,
    "marker-supply-empty": Condition.TONER_EMPTY,
}
_IGNORED = {"none", "paused", "cups-waiting-for-job-completed", "moving-to-paused"}


def conditions_from_reasons(reasons: tuple[str, ...] | list[str]) -> frozenset[Condition]:
    """Map IPP state-reason keywords to kiosk conditions; unknown errors become OTHER."""
    found: set[Condition] = set()
    for reason in reasons:
        base = reason
        severity = ""
        for suffix in ("-report", "-warning", "-error"):
            if reason.endswith(suffix):
                base, severity = reason[: -len(suffix)], suffix
                break
        if base in REASONS:
            found.add(REASONS[base])
        elif severity == "-error" and base not in _IGNORED:
            found.add(Condition.OTHER)
    return frozenset(found)


@dataclass(frozen=True)
class Supply:
    name: str
    level: int  # percent, -1 unknown
    kind: str  # toner, ink, ribbon, ...


@dataclass(frozen=True)
class PrinterStatus:
    queue: str
    state: PrinterState
    accepting: bool
    conditions: frozenset[Condition]
    reasons: tuple[str, ...]
    supplies: tuple[Supply, ...] = ()
    message: str = ""

    @property
    def ready(self) -> bool:
        """Can a citizen's document be started on this printer now?"""
        blocking = {
            Condition.MEDIA_EMPTY,
            Condition.MEDIA_JAM,
            Condition.OFFLINE,
            Condition.DOOR_OPEN,
            Condition.TONER_EMPTY,
            Condition.OTHER,
        }
        return (
            self.accepting
            and self.state != PrinterState.STOPPED
            and not (self.conditions & blocking)
        )


class SpoolerError(Exception):
    """The print system refused or failed an operation; ``str()`` says what to do."""


class QueueMissing(SpoolerError):
    """The queue for a medium does not exist."""


class JobUnknown(SpoolerError):
    """The print system does not know this job (its history pruned, or its spool lost)."""


class Spooler(Protocol):
    def open(self) -> None: ...

    def close(self) -> None: ...

    def submit(self, queue: str, pdf: bytes, title: str) -> int:
        """Send ``pdf`` to ``queue``; return the print system's job id."""
        ...

    def status(self, job_id: int) -> JobStatus: ...

    def cancel(self, job_id: int) -> None: ...

    def find_job(self, marker: str) -> int | None:
        """The newest job (any state, history included) whose title contains ``marker``:
        how a kiosk that crashed between submitting and recording finds its job."""
        ...

    def printer_status(self, queue: str) -> PrinterStatus:
        """State, conditions and supply levels of the printer behind ``queue``."""
        ...

    def printer_jobs(self, queue: str) -> JobList | None:
        """The jobs the printer behind ``queue`` itself remembers, asked over IPP (not
        CUPS's history); None when that printer cannot be asked."""
        ...

    def cancel_at_printer(self, queue: str, printer_job: int) -> None:
        """Cancel a job at the printer itself (CUPS no longer knows it)."""
        ...
