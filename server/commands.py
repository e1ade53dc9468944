"""The office's remote actions on one kiosk: out of service and back, the idle screen's
notice, a restart, a diagnostics bundle.

An action is a row the console writes (audited with the officer's name); the kiosk gets
it with its heartbeat's answer, does it, and posts the result.  While a citizen is being
served the kiosk refuses it (the console refuses it first when the kiosk's last
heartbeat said so) unless a supervisor forced it.  An action not picked up within
``EXPIRY`` (a kiosk switched off) expires: a restart asked on Monday must not happen on
Friday.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from protocol.api import CommandResult, KioskCommand
from server.db import AuditEntry, Kiosk, KioskCommandRow, utcnow

ACTIONS = ("out_of_service", "in_service", "notice", "restart", "diagnostics")
EXPIRY = dt.timedelta(hours=1)
# The flow states in which no citizen is being served (kiosk.flow; ui.widgets.IDLE_STATES).
IDLE = ("starting", "attract", "out_of_service", "diagnostics", "")
OPEN = ("pending", "sent")


class CommandError(ValueError):
    """The action cannot be asked as it is (said to the officer)."""


def in_session(kiosk: Kiosk) -> bool:
    """Whether the kiosk's last heartbeat said a citizen was being served."""
    state = str((kiosk.last_status or {}).get("state", ""))
    return state not in IDLE


def ask(
    db: Session, kiosk: Kiosk, action: str, text: str, actor: str, *, force: bool = False
) -> KioskCommandRow:
    if action not in ACTIONS:
        raise CommandError("action")
    text = " ".join(text.split())[:200]
    if action == "out_of_service" and not text:
        raise CommandError("reason")
    if kiosk.status != "active":
        raise CommandError("revoked")
    if in_session(kiosk) and not force:
        raise CommandError("in_session")
    row = KioskCommandRow(
        kiosk_id=kiosk.id,
        action=action,
        text=text,
        force=force,
        state="pending",
        detail="",
        created_by=actor,
        created_at=utcnow(),
    )
    db.add(row)
    db.flush()
    db.add(
        AuditEntry(
            actor=actor,
            action=f"kiosk_{action}_asked",
            subject=kiosk.id,
            detail={"command": row.id, "text": text, "force": force},
        )
    )
    return row


def deliver(db: Session, kiosk_id: str, now: dt.datetime) -> list[KioskCommand]:
    """The kiosk's open actions, oldest first (and the stale ones expired)."""
    db.execute(
        update(KioskCommandRow)
        .where(
            KioskCommandRow.kiosk_id == kiosk_id,
            KioskCommandRow.state.in_(OPEN),
            KioskCommandRow.created_at < now - EXPIRY,
        )
        .values(state="expired", done_at=now)
    )
    rows = list(
        db.scalars(
            select(KioskCommandRow)
            .where(KioskCommandRow.kiosk_id == kiosk_id, KioskCommandRow.state.in_(OPEN))
            .order_by(KioskCommandRow.id)
            .limit(10)
        )
    )
    for row in rows:
        row.state = "sent"
    return [KioskCommand(id=r.id, action=r.action, text=r.text, force=r.force) for r in rows]


def settle(
    db: Session, kiosk_id: str, command_id: int, result: CommandResult, now: dt.datetime
) -> KioskCommandRow | None:
    """The kiosk's result, once (a repeated post changes nothing); None when the
    command is not this kiosk's."""
    row = db.get(KioskCommandRow, command_id)
    if row is None or row.kiosk_id != kiosk_id:
        return None
    if row.state not in OPEN:
        return row
    row.state, row.detail, row.done_at = result.outcome, result.detail, now
    if result.diagnostics is not None and row.action == "diagnostics":
        row.result = result.diagnostics.model_dump()
    db.add(
        AuditEntry(
            actor=kiosk_id,
            action=f"kiosk_{row.action}_{result.outcome}",
            subject=kiosk_id,
            detail={"command": row.id, "detail": result.detail},
        )
    )
    return row


def recent(db: Session, kiosk_id: str, most: int = 10) -> list[KioskCommandRow]:
    return list(
        db.scalars(
            select(KioskCommandRow)
            .where(KioskCommandRow.kiosk_id == kiosk_id)
            .order_by(KioskCommandRow.id.desc())
            .limit(most)
        )
    )


def as_json(row: KioskCommandRow) -> dict[str, Any]:
    return {
        "command": row.id,
        "kiosk": row.kiosk_id,
        "asked_by": row.created_by,
        "asked_at": row.created_at.isoformat() + "Z",
        "collected_at": row.done_at.isoformat() + "Z" if row.done_at else None,
        **(row.result or {}),
    }
