"""Lockouts for guessing (wrong PINs, print codes, QR tokens) and the e-KTP session rate.

Failures are counted per citizen (the NIK typed or the session's NIK, whether or not it
exists, so a lockout does not reveal which NIKs are registered) and per kiosk.  After
``max_failures`` within ``window`` the path is locked for ``lock`` for that subject; a
success clears the citizen's count (not the kiosk's: interleaving one good login between
guesses must not reset a kiosk under attack).

Check and count are one step: :func:`hold` takes the subjects' counter rows for the rest
of the request's transaction (an upsert that locks the row on PostgreSQL and takes the
write lock on SQLite) before the secret is compared, so of a burst of concurrent guesses
exactly ``max_failures`` are compared and the rest are answered "locked" (a read, then a
separate increment, let 6-8 of 150 concurrent guesses through against a limit of 5).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from server.prepared import Db
from server.queries import Queries

PATHS = ("pin", "code", "qr", "ektp")


@dataclass(frozen=True)
class Limits:
    citizen_failures: int = 5
    kiosk_failures: int = 20
    window: dt.timedelta = dt.timedelta(minutes=15)
    lock: dt.timedelta = dt.timedelta(minutes=15)
    # e-KTP sessions one kiosk may open per window: a real session takes minutes, so a
    # kiosk opening more is a stolen certificate looking NIKs up (path "ektp").
    ektp_sessions: int = 30

    def max_for(self, scope: str) -> int:
        return self.citizen_failures if scope == "citizen" else self.kiosk_failures


@dataclass(frozen=True)
class Held:
    """The counters of one guess's subjects, held until the transaction ends."""

    path: str
    rows: dict[tuple[str, str], Any]  # (scope, subject) → failures, window_start, locked_until
    now: dt.datetime

    @property
    def locked_until(self) -> dt.datetime | None:
        """The latest lock end among the subjects, if any is locked now."""
        ends = [r.locked_until for r in self.rows.values() if r.locked_until is not None]
        return max((e for e in ends if e > self.now), default=None)


def subjects_of(citizen: str | None, kiosk: str) -> list[tuple[str, str]]:
    """In a fixed order (citizen, then kiosk), so concurrent holds never deadlock."""
    return ([("citizen", citizen)] if citizen is not None else []) + [("kiosk", kiosk)]


def hold(
    db: Db, q: Queries, limits: Limits, citizen: str | None, kiosk: str, path: str, now: dt.datetime
) -> Held:
    """Take and read the counters of the citizen (None: not known, as for a QR token) and
    the kiosk on ``path``; a window or lock that has run out starts afresh."""
    sent = {
        (scope, subject): db.send(
            q.attempt_hold,
            scope=scope,
            subject=subject,
            path=path,
            now=now,
            cutoff=now - limits.window,
        )
        for scope, subject in subjects_of(citizen, kiosk)
    }  # sent together: one round trip on PostgreSQL
    rows = {key: pending.one() for key, pending in sent.items()}
    return Held(path, rows, now)


def fail(db: Db, q: Queries, limits: Limits, held: Held) -> tuple[int, dt.datetime | None]:
    """Count one failure for every held subject; (guesses left for the citizen, lock end
    or None).  Exact, because the rows are held: no concurrent guess counts in between.
    The caller commits."""
    left = limits.citizen_failures
    lock_end: dt.datetime | None = None
    for (scope, subject), row in held.rows.items():
        failures = row.failures + 1
        until = held.now + limits.lock if failures >= limits.max_for(scope) else None
        db.send(
            q.attempt_set,
            scope=scope,
            subject=subject,
            path=held.path,
            failures=failures,
            until=until,
        )
        if until is not None:
            lock_end = max(lock_end or until, until)
        if scope == "citizen":
            left = max(0, limits.citizen_failures - failures)
    return left, lock_end


def succeed(db: Db, q: Queries, held: Held) -> None:
    """A right secret clears the citizen's count (the kiosk's stays)."""
    for (scope, subject), row in held.rows.items():
        if scope == "citizen" and row.failures:
            db.send(
                q.attempt_set, scope=scope, subject=subject, path=held.path, failures=0, until=None
            )


def take_one(
    db: Db, q: Queries, limits: Limits, kiosk: str, path: str, limit: int, now: dt.datetime
) -> dt.datetime | None:
    """Count one use of a rate-limited ``path`` by ``kiosk``: None if allowed, else when
    the window ends and it may try again.  The caller commits."""
    row = hold(db, q, limits, None, kiosk, path, now).rows[("kiosk", kiosk)]
    if row.failures >= limit:
        return row.window_start + limits.window
    used = row.failures + 1
    db.send(q.attempt_set, scope="kiosk", subject=kiosk, path=path, failures=used, until=None)
    return None
