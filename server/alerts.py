"""What the office must know about its kiosks without walking to the lobby: each kiosk's
state as the fleet page shows it, and the alerts (a kiosk that stopped calling in, low
supplies, a print job left unsettled, an audit chain that was cut or rewritten, repeated
refused certificates).

Everything here is codes and values, no sentences: the console words them in its
reader's language, the JSON feed and the metrics hand them on as they are.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections import Counter
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from protocol.api import KioskBuild
from server.db import CertRefusal, Document, Kiosk, Reservation

# Kiosk flow states that mean a citizen is being served.
_IDLE = {"attract", "starting"}
_CLOSED_STATES = {"technician_pin", "diagnostics"}


@dataclass(frozen=True)
class AlertRules:
    """Thresholds, from ``[alerts]`` of the server's ``server.toml`` (all optional)."""

    heartbeat_seconds: float = 60.0  # the kiosks' interval (kiosk.timeouts.HEARTBEAT)
    missed_heartbeats: int = 3  # not heard from after this many intervals
    supply_low_percent: int = 15  # toner, ribbon, ink: marker level at or under
    blank_cards_low: int = 20  # blank ID cards left at or under
    unsettled_minutes: float = 10.0  # a print job reserved and not settled for longer
    refusals: int = 3  # refused certificates of one name within the window
    refusal_window_minutes: float = 60.0

    @property
    def stale_after(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.heartbeat_seconds * self.missed_heartbeats)

    @classmethod
    def load(cls, path: Path) -> AlertRules:
        """The rules of ``path`` (a missing file: the defaults).  A bad value is an error
        naming it, not a silent default."""
        if not path.is_file():
            return cls()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8")).get("alerts", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"{path}: {exc}") from None
        known = {f.name: f.type for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                raise ValueError(f"{path}: [alerts] has no setting {key!r}")
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"{path}: [alerts] {key} must be a positive number")
            values[key] = int(value) if known[key] == "int" else float(value)
        return cls(**values)


@dataclass(frozen=True)
class Alert:
    kind: str  # not_heard | supply_low | blank_cards_low | unsettled_job | audit_chain |
    #            refused_certificates | printer | untrusted | held_job
    kiosk: str
    since: dt.datetime | None = None
    values: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        since = self.since.replace(tzinfo=dt.UTC).isoformat() if self.since else None
        return {"kind": self.kind, "kiosk": self.kiosk, "since": since, "values": self.values}


@dataclass(frozen=True)
class KioskView:
    """One row of the fleet page."""

    id: str
    office: str
    state: str  # serving | in_session | out_of_service | closed | not_heard | revoked | new
    reason: str
    last_seen: dt.datetime | None
    supplies: dict[str, int]
    devices: dict[str, str]
    blank_cards: int | None
    unsettled: int
    version: str
    alerts: tuple[Alert, ...]
    # What the kiosk reports it is made of ("production", "demo", "simulated:card"), or
    # "" when it reports nothing (a kiosk from before the report).
    build: str = ""

    @property
    def problem(self) -> bool:
        return bool(self.alerts) or self.state in ("out_of_service", "not_heard")

    @property
    def rank(self) -> tuple[int, str]:
        """Problems first, then kiosks a person closed, then the rest; by id within."""
        order = {"not_heard": 0, "out_of_service": 1}.get(self.state, 3)
        if self.alerts and order == 3:
            order = 2
        if self.state in ("closed", "revoked", "new"):
            order = 4
        return (order, self.id)


def audit_check(
    stored: tuple[int, str] | None, count: int | None, head: str | None, anchor: str | None
) -> tuple[tuple[int, str] | None, str | None]:
    """The pair to keep and an alert code (None: no alert) for a heartbeat's audit fields.

    ``stored`` is the (count, head) the server holds.  The chain may only grow, and the
    heartbeat proves growth by the hash of record ``stored[0]`` (``anchor``), which must
    be the stored head: a log that was truncated has a smaller count, one rewritten from
    some record on has another hash there.  Without an anchor (the kiosk restarted and
    does not know the stored count yet) the pair stays until the next heartbeat brings it.
    """
    if count is None or head is None:
        return stored, None
    if stored is None:
        return (count, head), None
    known, known_head = stored
    if count < known:
        return stored, "truncated"
    if count == known:
        return (stored, None) if head == known_head else (stored, "rewritten")
    if anchor is None:
        return stored, None
    if anchor != known_head:
        return stored, "rewritten"
    return (count, head), None


def state_of(kiosk: Kiosk, now: dt.datetime, rules: AlertRules) -> tuple[str, str]:
    """(state, reason) of one kiosk for the fleet page."""
    status: dict[str, Any] = kiosk.last_status or {}
    if kiosk.status != "active":
        return "revoked", ""
    if kiosk.last_seen is None:
        return "new", ""
    if now - kiosk.last_seen > rules.stale_after:
        return "not_heard", ""
    reason = str(status.get("reason") or "")
    flow = str(status.get("state") or "")
    if status.get("closed") or flow in _CLOSED_STATES:
        return "closed", reason
    if flow == "out_of_service" or reason:
        return "out_of_service", reason
    if flow in _IDLE:
        return "serving", ""
    return "in_session", ""


def _supply_alerts(kiosk: Kiosk, rules: AlertRules) -> list[Alert]:
    status: dict[str, Any] = kiosk.last_status or {}
    out = []
    supplies: dict[str, int] = status.get("supplies") or {}
    for name, level in sorted(supplies.items()):
        if name == "blank_cards":
            if level <= rules.blank_cards_low:
                out.append(Alert("blank_cards_low", kiosk.id, None, {"left": level}))
        elif 0 <= level <= rules.supply_low_percent:
            out.append(Alert("supply_low", kiosk.id, None, {"supply": name, "level": level}))
    devices: dict[str, str] = status.get("devices") or {}
    for device, codes in sorted(devices.items()):
        media = [c for c in codes.split(",") if c in ("media_empty", "media_low")]
        if media:  # paper: printers report out or low, not a level
            out.append(Alert("paper", kiosk.id, None, {"printer": device, "condition": media[0]}))
    return out


def _build_label(build: Any) -> str:
    """The build a heartbeat reported, as the alerts name it ("" for none)."""
    try:
        return KioskBuild.model_validate(build).label if build else ""
    except ValidationError:
        return ""


def fleet(db: Session, rules: AlertRules, now: dt.datetime) -> list[KioskView]:
    """Every kiosk with its state and alerts, problems first."""
    kiosks = list(db.scalars(select(Kiosk)))
    unsettled_since = now - dt.timedelta(minutes=rules.unsettled_minutes)
    open_jobs = Counter[str]()
    old_jobs: dict[str, list[tuple[str, dt.datetime]]] = {}
    for job_id, kiosk_id, created in db.execute(
        select(Reservation.job_id, Reservation.kiosk_id, Reservation.created_at).where(
            Reservation.state == "reserved"
        )
    ):
        open_jobs[kiosk_id] += 1
        if created <= unsettled_since:
            old_jobs.setdefault(kiosk_id, []).append((job_id, created))
    # Jobs held for the office: a kiosk could not tell whether they printed.
    held: dict[str, list[tuple[str, str, dt.datetime | None]]] = {}
    for job_id, kiosk_id, number, settled in db.execute(
        select(Reservation.job_id, Reservation.kiosk_id, Document.number, Reservation.settled_at)
        .join(Document, Document.id == Reservation.document_id)
        .where(Reservation.state == "held")
    ):
        held.setdefault(kiosk_id, []).append((job_id, number, settled))
    refused = dict(
        db.execute(
            select(CertRefusal.kiosk_id, func.count())
            .where(CertRefusal.at >= now - dt.timedelta(minutes=rules.refusal_window_minutes))
            .group_by(CertRefusal.kiosk_id)
        ).all()
    )
    views = []
    for kiosk in kiosks:
        state, reason = state_of(kiosk, now, rules)
        status: dict[str, Any] = kiosk.last_status or {}
        alerts: list[Alert] = []
        if state == "not_heard":
            alerts.append(Alert("not_heard", kiosk.id, kiosk.last_seen))
        if state not in ("revoked", "not_heard"):
            alerts += _supply_alerts(kiosk, rules)
        for job_id, created in sorted(old_jobs.get(kiosk.id, []), key=lambda j: j[1]):
            alerts.append(Alert("unsettled_job", kiosk.id, created, {"job": job_id}))
        for job_id, number, settled in held.get(kiosk.id, []):
            alerts.append(Alert("held_job", kiosk.id, settled, {"job": job_id, "number": number}))
        if kiosk.audit_alert:
            alerts.append(
                Alert("audit_chain", kiosk.id, kiosk.audit_alert_at, {"what": kiosk.audit_alert})
            )
        if kiosk.trust_alert:
            alerts.append(
                Alert("untrusted", kiosk.id, kiosk.trust_alert_at, {"what": kiosk.trust_alert})
            )
        if refused.get(kiosk.id, 0) >= rules.refusals:
            alerts.append(
                Alert("refused_certificates", kiosk.id, None, {"count": refused[kiosk.id]})
            )
        supplies = {str(k): int(v) for k, v in (status.get("supplies") or {}).items()}
        views.append(
            KioskView(
                id=kiosk.id,
                office=kiosk.office,
                state=state,
                reason=reason,
                last_seen=kiosk.last_seen,
                supplies={k: v for k, v in supplies.items() if k != "blank_cards"},
                devices=dict(status.get("devices") or {}),
                blank_cards=supplies.get("blank_cards"),
                unsettled=open_jobs.get(kiosk.id, 0),
                version=str(status.get("version") or ""),
                alerts=tuple(alerts),
                build=_build_label(status.get("build")),
            )
        )
    views.sort(key=lambda v: v.rank)
    # Certificates refused for a name no kiosk row has (an unknown or forged kiosk):
    # a row of its own, on top.
    known = {k.id for k in kiosks}
    for name, n in sorted(refused.items(), reverse=True):
        if name not in known and n >= rules.refusals:
            alert = Alert("refused_certificates", name, None, {"count": n})
            views.insert(0, KioskView(name, "", "unknown", "", None, {}, {}, None, 0, "", (alert,)))
    return views


def alerts(db: Session, rules: AlertRules, now: dt.datetime) -> list[Alert]:
    return [a for view in fleet(db, rules, now) for a in view.alerts]
