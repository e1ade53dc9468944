"""The print spooler interface: submit a PDF to a medium's queue, follow it, cancel it.

Backends: ``printing.cups_spooler`` (pycups, the one module that imports ``cups``) and
``printing.sim_spooler`` (in-process, for unit tests).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol


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


class SpoolerError(Exception):
    """The print system refused or failed an operation; ``str()`` says what to do."""


class QueueMissing(SpoolerError):
    """The queue for a medium does not exist."""


class Spooler(Protocol):
    def open(self) -> None: ...

    def close(self) -> None: ...

    def submit(self, queue: str, pdf: bytes, title: str) -> int:
        """Send ``pdf`` to ``queue``; return the print system's job id."""
        ...

    def status(self, job_id: int) -> JobStatus: ...

    def cancel(self, job_id: int) -> None: ...
