"""Simulated fingerprint scanner: answers with a scripted result (MATCH by default)."""

from __future__ import annotations

from drivers.fingerprint.base import FingerMatch, MatchResult

SCORES = {MatchResult.MATCH: 0.93, MatchResult.NO_MATCH: 0.12, MatchResult.NO_FINGER: 0.0}


class SimMatcher:
    def __init__(self, result: MatchResult = MatchResult.MATCH, score: float | None = None) -> None:
        self.result = result
        self.score = score
        self.calls = 0
        self.available = True
        self.last_error = ""

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def verify(self, templates: tuple[bytes, ...], timeout: float) -> FingerMatch:
        self.calls += 1
        score = self.score if self.score is not None else SCORES[self.result]
        return FingerMatch(self.result, score)
