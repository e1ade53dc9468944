"""The fleet's rollouts: which version each kiosk is told to run, decided at its heartbeat.

A rollout names a release and a scope (one office, or the whole fleet).  It reaches the
kiosks in two stages, as the fleets that work do it:

1. the **canary**: the kiosks named in the rollout plus ``canary_percent`` of the scope,
   chosen by a stable hash of the rollout and the kiosk (the same kiosks for as long as
   the rollout lasts, different ones for the next), and at least one kiosk whenever
   the percentage is not 0;
2. once every canary seen lately runs the version and passed its health gate, the rest
   of the scope up to ``percent`` (the same hash: raising the percentage only adds).

A kiosk that rolled a version back is never told that version again by the same
rollout; when ``max_failures`` kiosks have rolled it back the server pauses the rollout
on its own, so a broken release stops with the canary.  A paused rollout tells nobody
new; the kiosks that already run the version stay on it.

Only the newest rollout of a scope governs (a new one supersedes the last); an office's
own rollout wins over the fleet-wide one.  The target is a hint: the kiosk's updater
installs only a bundle its own keyring verifies.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from protocol.api import UpdateReport, UpdateTarget
from server.db import AuditEntry, Kiosk, Release, Rollout, utcnow

API_BUNDLE = "/api/v1/releases/{version}/bundle"
WINDOW = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
FAILED = ("rolled_back", "failed")
# A canary not heard from for this long does not hold the rest of the fleet back.
CANARY_SILENCE = dt.timedelta(minutes=15)
GOVERNING = ("active", "paused")


class RolloutError(ValueError):
    """A rollout that cannot be made as asked (said to the supervisor as it is)."""


def bucket(rollout_id: int, kiosk_id: str) -> int:
    """The kiosk's place 0..99 in this rollout: stable, and independent between
    rollouts, so the same kiosks are not always the first."""
    digest = hashlib.sha256(f"{rollout_id}:{kiosk_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100


def is_canary(rollout: Rollout, kiosk_id: str) -> bool:
    return kiosk_id in (rollout.canary or []) or bucket(rollout.id, kiosk_id) < (
        rollout.canary_percent
    )


def in_scope(rollout: Rollout, office: str) -> bool:
    return not rollout.office or rollout.office == office


@dataclass(frozen=True)
class Progress:
    """A rollout's state across its scope (the console's row, the canary gate)."""

    scope: int  # kiosks in scope
    chosen: int  # of them, the ones the rollout is for (canary or within the percentage)
    canaries: int
    canaries_ok: int
    canaries_waiting: int  # canaries seen lately that do not run the version healthy yet
    updated: int  # run the version and passed the gate
    updating: int  # told, and on their way
    failed: int  # rolled it back or failed
    per_office: dict[str, tuple[int, int, int]]  # office -> (chosen, updated, failed)
    # The scope's kiosk with the lowest place: a canary whenever the rollout has a canary
    # percentage, so 5 % of a small office is one kiosk, not none.
    first: str = ""

    @property
    def canary_passed(self) -> bool:
        """Every canary heard from lately runs the release healthy, and one at least; a
        rollout without a canary (no kiosk named, no percentage) waits for nothing."""
        if self.canaries == 0:
            return True
        return self.canaries_ok > 0 and self.canaries_waiting == 0


def progress(db: Session, rollout: Rollout, now: dt.datetime | None = None) -> Progress:
    """Count the scope's kiosks by where they stand with ``rollout``."""
    now = now or utcnow()
    rows = db.execute(
        select(
            Kiosk.id,
            Kiosk.office,
            Kiosk.version,
            Kiosk.update_target,
            Kiosk.update_state,
            Kiosk.last_seen,
        ).where(Kiosk.status == "active")
    ).all()
    rows = [r for r in rows if in_scope(rollout, r[1])]
    first = first_of(rollout, [r[0] for r in rows])
    scope = chosen = canaries = canaries_ok = waiting = updated = updating = failed = 0
    offices: dict[str, list[int]] = {}
    for kiosk_id, office, version, target, state, seen in rows:
        scope += 1
        canary = is_canary(rollout, kiosk_id) or kiosk_id == first
        if not (canary or bucket(rollout.id, kiosk_id) < rollout.percent):
            continue
        chosen += 1
        row = offices.setdefault(office, [0, 0, 0])
        row[0] += 1
        healthy = version == rollout.version and state not in ("booted", *FAILED)
        broke = target == rollout.version and state in FAILED
        if healthy:
            updated += 1
            row[1] += 1
        elif broke:
            failed += 1
            row[2] += 1
        elif target == rollout.version:
            updating += 1
        if canary:
            canaries += 1
            canaries_ok += healthy
            if not healthy and not broke and seen is not None and now - seen < CANARY_SILENCE:
                waiting += 1
    return Progress(
        scope,
        chosen,
        canaries,
        canaries_ok,
        waiting,
        updated,
        updating,
        failed,
        {k: (v[0], v[1], v[2]) for k, v in sorted(offices.items())},
        first,
    )


def first_of(rollout: Rollout, kiosk_ids: list[str]) -> str:
    """The kiosk that is a canary by its place alone ("" without a canary percentage)."""
    if rollout.canary_percent <= 0 or not kiosk_ids:
        return ""
    return min(kiosk_ids, key=lambda k: (bucket(rollout.id, k), k))


class CanaryGate:
    """Each rollout's canary as last counted (passed or not, its first kiosk), at most
    every ``ttl`` seconds per server process: a heartbeat must not count the whole fleet
    (500 kiosks a minute would each scan 500 rows).  A stale count only delays the rest
    by ``ttl``."""

    def __init__(self, ttl: Callable[[], float] = lambda: 5.0) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._known: dict[tuple[int, str], tuple[float, Progress]] = {}

    def clear(self) -> None:
        """Forget every count (another database is served from now on)."""
        with self._lock:
            self._known.clear()

    def progress(self, db: Session, rollout: Rollout) -> Progress:
        key, now = (rollout.id, rollout.changed_at.isoformat()), time.monotonic()
        with self._lock:
            known = self._known.get(key)
        if known is not None and now - known[0] < self.ttl():
            return known[1]
        counted = progress(db, rollout)
        with self._lock:
            self._known[key] = (now, counted)
        return counted

    def passed(self, db: Session, rollout: Rollout) -> bool:
        return self.progress(db, rollout).canary_passed


def governing(db: Session, office: str) -> Rollout | None:
    """The rollout that decides for a kiosk of ``office``: the newest of its office's
    own, else the newest fleet-wide one."""
    for scope in ([office] if office else []) + [""]:
        found = db.scalars(
            select(Rollout)
            .where(Rollout.office == scope, Rollout.state.in_(GOVERNING))
            .order_by(Rollout.id.desc())
            .limit(1)
        ).first()
        if found is not None:
            return found
    return None


def target_for(db: Session, kiosk: Kiosk, gate: CanaryGate) -> UpdateTarget | None:
    """The version ``kiosk`` should run now, or None (stay as it is)."""
    rollout = governing(db, kiosk.office)
    if rollout is None:
        return None
    release = db.get(Release, rollout.version)
    if release is None:  # pragma: no cover - the foreign key keeps it
        return None
    answer = UpdateTarget(
        rollout=rollout.id,
        version=release.version,
        url=release.url,
        sha256=release.sha256,
        size=release.size,
        window_start=rollout.window_start,
        window_end=rollout.window_end,
    )
    if kiosk.version == rollout.version:
        return answer  # it is there: the answer says so, nothing to do
    if kiosk.update_target == rollout.version and kiosk.update_state in FAILED:
        return None  # rolled back here once: not again by this rollout
    if kiosk.update_target == rollout.version and kiosk.update_state in (
        "downloading",
        "installing",
        "booted",
    ):
        return answer  # on its way: a pause does not strand a kiosk mid-install
    if rollout.state != "active":
        return None
    if is_canary(rollout, kiosk.id) or (
        rollout.canary_percent > 0 and gate.progress(db, rollout).first == kiosk.id
    ):
        return answer
    if bucket(rollout.id, kiosk.id) < rollout.percent and gate.passed(db, rollout):
        return answer
    return None


def record_report(
    db: Session, kiosk: Kiosk, version: str, report: UpdateReport | None, now: dt.datetime
) -> None:
    """Keep what the kiosk says of its version and updater; a new failure counts against
    the rollout that asked for the version, which pauses when it has had too many."""
    if version:
        kiosk.version = version[:40]
    if report is None:
        return
    new_failure = report.state in FAILED and (
        kiosk.update_state not in FAILED or kiosk.update_target != report.target
    )
    changed = (kiosk.update_target, kiosk.update_state, kiosk.update_why) != (
        report.target,
        report.state,
        report.why,
    )
    kiosk.update_target, kiosk.update_state, kiosk.update_why = (
        report.target,
        report.state,
        report.why,
    )
    if changed:
        kiosk.update_at = now
    if new_failure:
        db.add(
            AuditEntry(
                actor=kiosk.id,
                action="update_" + report.state,
                subject=report.target or "",
                detail={"why": report.why, "running": kiosk.version},
            )
        )
        db.flush()
        pause_on_failures(db, kiosk.office, report.target, now, kiosk.id)


def pause_on_failures(
    db: Session, office: str, version: str | None, now: dt.datetime, kiosk_id: str = ""
) -> None:
    """Pause at ``max_failures``, or when every canary has failed: a canary that is all
    failures can never pass, and a rollout must not wait on it for ever."""
    rollout = governing(db, office)
    if rollout is None or rollout.state != "active" or rollout.version != version:
        return
    failures = db.scalar(
        select(func.count())
        .select_from(Kiosk)
        .where(
            Kiosk.update_target == version,
            Kiosk.update_state.in_(FAILED),
            *([Kiosk.office == rollout.office] if rollout.office else []),
        )
    )
    counted = progress(db, rollout, now) if failures else None
    canary_failed = (
        counted is not None
        and counted.canaries > 0
        and (counted.canaries_ok == 0 and counted.canaries_waiting == 0)
    )
    if failures and (failures >= rollout.max_failures or canary_failed):
        rollout.state = "paused"
        rollout.paused_reason = f"{failures} kiosk(s) rolled {version} back"
        rollout.changed_at = now
        db.add(
            AuditEntry(
                actor="server",
                action="rollout_paused",
                subject=str(rollout.id),
                detail={"failures": failures, "version": version},
            )
        )


def parse_window(start: str, end: str) -> tuple[str | None, str | None]:
    """The maintenance window from a form: both empty (any time) or both "HH:MM"."""
    start, end = start.strip(), end.strip()
    if not start and not end:
        return None, None
    if not (WINDOW.match(start) and WINDOW.match(end)) or start == end:
        raise RolloutError("window")
    return start, end


def create(
    db: Session,
    *,
    version: str,
    office: str,
    canary: list[str],
    canary_percent: int,
    percent: int,
    window: tuple[str | None, str | None],
    max_failures: int,
    actor: str,
) -> Rollout:
    """A new rollout for ``office`` ("" the fleet); the scope's last one is superseded."""
    if db.get(Release, version) is None:
        raise RolloutError("version")
    if not (0 <= canary_percent <= 100 and 0 <= percent <= 100 and 1 <= max_failures <= 10_000):
        raise RolloutError("numbers")
    unknown = [k for k in canary if db.get(Kiosk, k) is None]
    if unknown or len(canary) > 200:
        raise RolloutError("canary")
    now = utcnow()
    for old in db.scalars(
        select(Rollout).where(Rollout.office == office, Rollout.state.in_(GOVERNING))
    ):
        old.state, old.changed_at = "superseded", now
    rollout = Rollout(
        version=version,
        office=office,
        canary=canary,
        canary_percent=canary_percent,
        percent=percent,
        window_start=window[0],
        window_end=window[1],
        max_failures=max_failures,
        state="active",
        paused_reason="",
        created_by=actor,
        created_at=now,
        changed_at=now,
    )
    db.add(rollout)
    db.flush()
    db.add(
        AuditEntry(
            actor=actor,
            action="rollout_created",
            subject=str(rollout.id),
            detail=describe(rollout),
        )
    )
    return rollout


def change(db: Session, rollout: Rollout, action: str, actor: str, **values: Any) -> None:
    """A supervisor pauses, resumes or widens a rollout (audited)."""
    if rollout.state == "superseded":
        raise RolloutError("superseded")
    if action == "pause":
        rollout.state, rollout.paused_reason = "paused", f"paused by {actor}"[:200]
    elif action == "resume":
        rollout.state, rollout.paused_reason = "active", ""
    elif action == "percent":
        percent = values.get("percent")
        if not isinstance(percent, int) or not 0 <= percent <= 100:
            raise RolloutError("numbers")
        rollout.percent = percent
    else:
        raise RolloutError("action")
    rollout.changed_at = utcnow()
    db.add(
        AuditEntry(
            actor=actor,
            action=f"rollout_{action}",
            subject=str(rollout.id),
            detail=describe(rollout),
        )
    )


def describe(rollout: Rollout) -> dict[str, Any]:
    return {
        "version": rollout.version,
        "office": rollout.office,
        "canary": list(rollout.canary or []),
        "canary_percent": rollout.canary_percent,
        "percent": rollout.percent,
        "window": [rollout.window_start, rollout.window_end],
        "max_failures": rollout.max_failures,
        "state": rollout.state,
    }


def publish(
    db: Session, version: str, sha256: str, size: int, url: str | None, actor: str
) -> Release:
    """Record a release whose bundle is in the server's release folder (or at ``url``)."""
    from protocol.api import VERSION

    if not re.match(VERSION, version):
        raise RolloutError("version")
    if db.get(Release, version) is not None:
        raise RolloutError("exists")
    release = Release(
        version=version,
        sha256=sha256,
        size=size,
        url=url or API_BUNDLE.format(version=version),
        published_at=utcnow(),
        published_by=actor,
    )
    db.add(release)
    db.add(
        AuditEntry(
            actor=actor,
            action="release_published",
            subject=version,
            detail={"sha256": sha256, "size": size},
        )
    )
    return release


def versions(db: Session) -> list[tuple[str, int]]:
    """How many active kiosks run each version, most first ("" not reported)."""
    rows = db.execute(
        select(Kiosk.version, func.count())
        .where(Kiosk.status == "active")
        .group_by(Kiosk.version)
        .order_by(func.count().desc(), Kiosk.version)
    ).all()
    return [(v, n) for v, n in rows]
