"""Fingerprint matcher interface: capture a live finger and match it 1:1 against a template.

The skeleton has only the simulator; the serial scanner protocol comes with its own driver.
"""

from __future__ import annotations

import enum
from typing import Protocol


class MatchResult(enum.Enum):
    MATCH = "match"
    NO_MATCH = "no_match"
    NO_FINGER = "no_finger"


class FingerprintError(Exception):
    """The scanner failed (unplugged, timed out, bad frame)."""


class FingerprintMatcher(Protocol):
    def open(self) -> None: ...

    def close(self) -> None: ...

    def verify(self, templates: tuple[bytes, ...], timeout: float) -> MatchResult:
        """Capture a finger within ``timeout`` s and match it against ``templates``."""
        ...
