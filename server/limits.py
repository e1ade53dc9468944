"""Lockouts for guessing (wrong PINs, print codes, QR tokens) and the e-KTP session rate.

Failures are counted per citizen (the NIK typed or the session's NIK, whether or not it
exists, so a lockout does not reveal which NIKs are registered) and per kiosk.  After
``max_failures`` within ``window`` the path is locked for ``lock`` for that subject; a
success clears the citizen's count (not the kiosk's: interleaving one good login between
guesses must not reset a kiosk under attack).

Exact under concurrency, without a write on the common path.  What a guesser learns is
the answer, so the rule is about answers: of any burst, at most ``max_failures`` wrong
guesses are answered "wrong" (the last of them "locked"), every other one "locked".

- A request reads the counters with its other reads (the optimistic look) and answers
  "locked" if a subject is locked.
- A wrong guess is counted by one atomic upsert that returns the new count; it is
  answered "wrong" only if that count is within the limit, else "locked" (a guess
  counted past the limit tells nothing).  A read-then-increment answered 6-8 of 150
  concurrent wrong PINs "wrong" against a limit of 5.
- A right guess on a clean record (no failures in the look) writes nothing: it is
  ordered before the concurrent failures.  With failures on record it clears them with
  an UPDATE conditioned on the record still being open; if a concurrent burst locked it
  meanwhile, the right guess is answered "locked" too.
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
    # Kiosk certificate requests waiting for the office at once (anyone may send one).
    enrolments_waiting: int = 200

    def __post_init__(self) -> None:
        if min(self.citizen_failures, self.kiosk_failures) < 2:
            raise ValueError("a lockout needs at least two failures (one is a typo)")

    def max_for(self, scope: str) -> int:
        return self.citizen_failures if scope == "citizen" else self.kiosk_failures


@dataclass(frozen=True)
class Check:
    until: dt.datetime | None  # the latest lock end among the subjects, if any is locked
    counted: frozenset[tuple[str, str]]  # subjects with failures on record


def verdict(rows: list[Any], now: dt.datetime) -> Check:
    """The lock and the counted subjects from the ``attempts`` rows of the subjects
    (the optimistic look, read with the request's other reads)."""
    until: dt.datetime | None = None
    for row in rows:
        if row.locked_until is not None and row.locked_until > now:
            until = max(until or row.locked_until, row.locked_until)
    counted = frozenset(
        (r.scope, r.subject) for r in rows if r.failures or r.locked_until is not None
    )
    return Check(until, counted)


def subjects_of(citizen: str | None, kiosk: str) -> list[tuple[str, str]]:
    """In a fixed order (citizen, then kiosk), so concurrent upserts never deadlock."""
    return ([("citizen", citizen)] if citizen is not None else []) + [("kiosk", kiosk)]


@dataclass(frozen=True)
class Failure:
    left: int  # guesses left for the citizen
    locked_until: dt.datetime | None  # set: answer "locked"
    answered: bool  # counted within every subject's limit: the answer may say "wrong"


def fail(
    db: Db,
    q: Queries,
    limits: Limits,
    citizen: str | None,
    kiosk: str,
    path: str,
    now: dt.datetime,
) -> Failure:
    """Count one failure for the citizen and the kiosk, atomically (one upsert each, the
    new count returned).  The caller commits."""
    sent = [
        (
            scope,
            db.send(
                q.attempt_fail,
                scope=scope,
                subject=subject,
                path=path,
                now=now,
                cutoff=now - limits.window,
                max=limits.max_for(scope),
                lock_end=now + limits.lock,
            ),
        )
        for scope, subject in subjects_of(citizen, kiosk)
    ]  # sent together: one round trip on PostgreSQL
    left = limits.citizen_failures
    lock_end: dt.datetime | None = None
    answered = True
    for scope, pending in sent:
        row = pending.one()
        if row.locked_until is not None and row.locked_until > now:
            lock_end = max(lock_end or row.locked_until, row.locked_until)
        answered = answered and row.failures <= limits.max_for(scope)
        if scope == "citizen":
            left = max(0, limits.citizen_failures - row.failures)
    return Failure(left, lock_end, answered)


def succeed(
    db: Db, q: Queries, limits: Limits, check: Check, citizen: str, path: str, now: dt.datetime
) -> bool:
    """A right secret clears the citizen's count; False if a concurrent burst locked the
    record since the look (the right guess is then answered "locked" as well)."""
    if ("citizen", citizen) not in check.counted:
        return True  # nothing on record: ordered before any concurrent failure
    return (
        db.run(
            q.attempt_clear_open,
            scope="citizen",
            subject=citizen,
            path=path,
            now=now,
            max=limits.citizen_failures,
        )
        == 1
    )


def take_one(
    db: Db, q: Queries, limits: Limits, kiosk: str, path: str, limit: int, now: dt.datetime
) -> dt.datetime | None:
    """Count one use of a rate-limited ``path`` by ``kiosk`` (one atomic upsert): None if
    within ``limit`` for the window, else when the window ends.  The caller commits."""
    row = db.one(
        q.attempt_use,
        scope="kiosk",
        subject=kiosk,
        path=path,
        now=now,
        cutoff=now - limits.window,
    )
    if row.failures > limit:
        return row.window_start + limits.window
    return None
