"""Lockouts for guessing: wrong PINs, print codes and QR tokens.

Failures are counted per citizen (the NIK typed or the session's NIK, whether or not it
exists, so a lockout does not reveal which NIKs are registered) and per kiosk.  After
``max_failures`` within ``window`` the path is locked for ``lock`` for that subject; a
success clears the citizen's count (not the kiosk's: interleaving one good login between
guesses must not reset a kiosk under attack).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from server.prepared import Db
from server.queries import Queries

PATHS = ("pin", "code", "qr")


@dataclass(frozen=True)
class Limits:
    citizen_failures: int = 5
    kiosk_failures: int = 20
    window: dt.timedelta = dt.timedelta(minutes=15)
    lock: dt.timedelta = dt.timedelta(minutes=15)

    def max_for(self, scope: str) -> int:
        return self.citizen_failures if scope == "citizen" else self.kiosk_failures


@dataclass(frozen=True)
class Check:
    until: dt.datetime | None  # the latest lock end among the subjects, if any is locked
    counted: frozenset[tuple[str, str]]  # subjects with failures on record


def check(
    db: Db, q: Queries, citizen: str | None, kiosk: str, path: str, now: dt.datetime
) -> Check:
    """One statement for the citizen (None: not known, as for a QR token) and the kiosk."""
    return verdict(db.all(q.attempts, path=path, citizen=citizen, kiosk=kiosk), now)


def verdict(rows: list[Any], now: dt.datetime) -> Check:
    """The lock and the counted subjects from the ``attempts`` rows of the subjects."""
    until: dt.datetime | None = None
    for row in rows:
        if row.locked_until is not None and row.locked_until > now:
            until = max(until or row.locked_until, row.locked_until)
    counted = frozenset(
        (r.scope, r.subject) for r in rows if r.failures or r.locked_until is not None
    )
    return Check(until, counted)


def subjects_of(citizen: str | None, kiosk: str) -> list[tuple[str, str]]:
    return ([("citizen", citizen)] if citizen is not None else []) + [("kiosk", kiosk)]


def record_failure(
    db: Db,
    q: Queries,
    limits: Limits,
    citizen: str | None,
    kiosk: str,
    path: str,
    now: dt.datetime,
) -> tuple[int, dt.datetime | None]:
    """Count one failure for the citizen and the kiosk; (guesses left for the citizen, lock
    end or None).

    Committed at once and with an atomic increment, so concurrent guesses all count.
    """
    left = limits.citizen_failures
    lock_end: dt.datetime | None = None
    for scope, subject in subjects_of(citizen, kiosk):
        key = {"scope": scope, "subject": subject, "path": path}
        db.send(q.attempt_row, now=now, **key)
        db.send(q.attempt_restart, now=now, cutoff=now - limits.window, **key)
        db.send(q.attempt_count, **key)
        failures = int(db.scalar(q.attempt_failures, **key))
        if failures >= limits.max_for(scope):
            end = now + limits.lock
            db.send(q.attempt_lock, until=end, **key)
            lock_end = max(lock_end or end, end)
        if scope == "citizen":
            left = max(0, limits.citizen_failures - failures)
    db.commit()
    return left, lock_end


def clear(db: Db, q: Queries, scope: str, subject: str, path: str) -> None:
    db.send(q.attempt_clear, scope=scope, subject=subject, path=path)
