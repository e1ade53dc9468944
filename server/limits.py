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

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.db import Attempt

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


def check(session: Session, subjects: list[tuple[str, str]], path: str, now: dt.datetime) -> Check:
    """One statement for all ``subjects`` (scope, subject) on ``path``."""
    rows = session.execute(
        select(Attempt.scope, Attempt.subject, Attempt.failures, Attempt.locked_until).where(
            Attempt.path == path,
            or_(*(and_(Attempt.scope == sc, Attempt.subject == su) for sc, su in subjects)),
        )
    ).all()
    until: dt.datetime | None = None
    for row in rows:
        if row.locked_until is not None and row.locked_until > now:
            until = max(until or row.locked_until, row.locked_until)
    counted = frozenset(
        (r.scope, r.subject) for r in rows if r.failures or r.locked_until is not None
    )
    return Check(until, counted)


def record_failure(
    session: Session,
    limits: Limits,
    subjects: list[tuple[str, str]],
    path: str,
    now: dt.datetime,
) -> tuple[int, dt.datetime | None]:
    """Count one failure for every subject; (guesses left for the citizen, lock end or None).

    Committed at once and with an atomic increment, so concurrent guesses all count.
    """
    left = limits.citizen_failures
    lock_end: dt.datetime | None = None
    for scope, subject in subjects:
        key = (scope, subject, path)
        row = session.get(Attempt, key)
        if row is None:
            try:
                with session.begin_nested():
                    session.add(Attempt(scope=scope, subject=subject, path=path, window_start=now))
            except IntegrityError:
                pass
            row = session.get(Attempt, key)
            assert row is not None
        if row.window_start < now - limits.window or (
            row.locked_until is not None and row.locked_until <= now
        ):
            session.execute(
                update(Attempt)
                .where(Attempt.scope == scope, Attempt.subject == subject, Attempt.path == path)
                .values(failures=0, window_start=now, locked_until=None)
            )
        session.execute(
            update(Attempt)
            .where(Attempt.scope == scope, Attempt.subject == subject, Attempt.path == path)
            .values(failures=Attempt.failures + 1)
        )
        failures = session.scalar(
            select(Attempt.failures).where(
                Attempt.scope == scope, Attempt.subject == subject, Attempt.path == path
            )
        )
        assert failures is not None
        if failures >= limits.max_for(scope):
            end = now + limits.lock
            session.execute(
                update(Attempt)
                .where(Attempt.scope == scope, Attempt.subject == subject, Attempt.path == path)
                .values(locked_until=end)
            )
            lock_end = max(lock_end or end, end)
        if scope == "citizen":
            left = max(0, limits.citizen_failures - failures)
    session.commit()
    return left, lock_end


def clear(session: Session, scope: str, subject: str, path: str) -> None:
    session.execute(
        update(Attempt)
        .where(Attempt.scope == scope, Attempt.subject == subject, Attempt.path == path)
        .values(failures=0, locked_until=None)
    )
