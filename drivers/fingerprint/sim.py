"""Simulated fingerprint scanner: answers with a scripted result (MATCH by default)."""

from __future__ import annotations

from drivers.fingerprint.base import MatchResult


class SimMatcher:
    def __init__(self, result: MatchResult = MatchResult.MATCH) -> None:
        self.result = result
        self.calls = 0

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def verify(self, templates: tuple[bytes, ...], timeout: float) -> MatchResult:
        self.calls += 1
        return self.result
