"""Log a repeated condition once per key and period, with a count of the repeats.

A kiosk certificate in the wrong hands can send the same bad heartbeat many times a
second; each one still raises (or keeps) the console's alert, but the log gets one line
per kiosk and condition per period and then a line saying how many more there were, so
that the one stolen certificate cannot bury every other line of the server's log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

PERIOD = 300.0  # seconds


class LogThrottle:
    """``emit(key, msg, *args)`` logs at ``level`` the first time ``key`` is seen in a
    period; later calls in the period are counted, and the first call after it logs the
    message with how many were held back.  Per process (each worker counts its own)."""

    def __init__(
        self,
        logger: logging.Logger,
        level: int = logging.ERROR,
        period: float = PERIOD,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self._log, self._level, self._period, self._clock = logger, level, period, clock
        self._max_keys = max_keys
        self._seen: dict[str, tuple[float, int]] = {}  # key -> (period start, held back)
        self._lock = threading.Lock()

    def emit(self, key: str, msg: str, *args: object) -> bool:
        """Log or count; True when a line was written."""
        now = self._clock()
        with self._lock:
            start, held = self._seen.get(key, (None, 0))
            if start is not None and now - start < self._period:
                self._seen[key] = (start, held + 1)
                return False
            if len(self._seen) >= self._max_keys and key not in self._seen:
                self._forget(now)
            self._seen[key] = (now, 0)
        if held:
            self._log.log(
                self._level,
                msg + " (and %d more times in the last %d s)",
                *args,
                held,
                int(self._period),
            )
        else:
            self._log.log(self._level, msg, *args)
        return True

    def _forget(self, now: float) -> None:
        """Drop keys whose period ended (their held-back count is lost: the bound on memory
        wins over a count nobody asked for again)."""
        for key in [k for k, (start, _) in self._seen.items() if now - start >= self._period]:
            del self._seen[key]
        if len(self._seen) >= self._max_keys:
            self._seen.pop(next(iter(self._seen)))
