"""Fingerprint matcher interface: capture a live finger and match it 1:1 against a template.

The result carries the matcher's score, which the kiosk reports to the central server as
it is: a kiosk never claims a match it did not measure.  Only the simulator exists so
far; the serial module driver plugs in behind the same interface.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol


class MatchResult(enum.Enum):
    MATCH = "match"
    NO_MATCH = "no_match"
    NO_FINGER = "no_finger"


@dataclass(frozen=True)
class FingerMatch:
    """One verification: the decision and the score it was made on (0..1)."""

    result: MatchResult
    score: float


class FingerprintError(Exception):
    """The scanner failed (unplugged, timed out, bad frame)."""


class FingerMismatch(FingerprintError):
    """The finger was read but does not match the card's templates."""


class NoFinger(FingerprintError):
    """No finger was placed (or it could not be imaged) within the time allowed."""


class PoorImage(FingerprintError):
    """The finger was imaged but gave too few usable features (smudged, worn, dry)."""


# Failures of the citizen's attempt, not of the scanner: another attempt may succeed.
RETRYABLE = (FingerMismatch, NoFinger, PoorImage)


class FingerprintMatcher(Protocol):
    def open(self) -> None: ...

    def close(self) -> None: ...

    def verify(self, templates: tuple[bytes, ...], timeout: float) -> FingerMatch:
        """Capture a finger within ``timeout`` s and match it against ``templates``."""
        ...
