"""The console's fleet updates page: versions across the fleet, each rollout's progress per
office, and the supervisor's rollout policy (server.rollout does the deciding).

Kept out of ``web.py``: the page's reading and its form handling are one idea, and the
routes there stay two lines each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server import rollout
from server.db import Kiosk, Release, Rollout
from server.rollout import Progress

KIOSK_LIST = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class RolloutRow:
    rollout: Rollout
    progress: Progress


def view(db: Session) -> dict[str, Any]:
    """What the page shows: versions, releases, rollouts (newest first) and the choices
    of the new-rollout form."""
    rollouts = list(db.scalars(select(Rollout).order_by(Rollout.id.desc()).limit(20)))
    offices = sorted(
        {o for o in db.scalars(select(Kiosk.office).where(Kiosk.status == "active")) if o}
    )
    failing = list(
        db.scalars(
            select(Kiosk)
            .where(Kiosk.update_state.in_(rollout.FAILED))
            .order_by(Kiosk.update_at.desc())
            .limit(20)
        )
    )
    return {
        "versions": rollout.versions(db),
        "releases": list(db.scalars(select(Release).order_by(Release.published_at.desc()))),
        "rows": [RolloutRow(r, rollout.progress(db, r)) for r in rollouts],
        "offices": offices,
        "failing": failing,
    }


def act(db: Session, action: str, form: dict[str, str], actor: str) -> str:
    """Do what the form asks; the notice's key.  RolloutError (with the reason's key)
    when the form is wrong, and nothing is changed."""
    if action == "new":
        rollout.create(
            db,
            version=form.get("version", ""),
            office=form.get("office", "").strip()[:100],
            canary=[k for k in KIOSK_LIST.split(form.get("canary", "")) if k],
            canary_percent=_number(form.get("canary_percent", "0")),
            percent=_number(form.get("percent", "100")),
            window=rollout.parse_window(form.get("window_start", ""), form.get("window_end", "")),
            max_failures=_number(form.get("max_failures", "1")),
            actor=actor,
        )
        db.commit()
        return "rollout_created"
    found = db.get(Rollout, _number(form.get("rollout", "0")))
    if found is None:
        raise rollout.RolloutError("rollout")
    values = {"percent": _number(form.get("percent", ""))} if action == "percent" else {}
    rollout.change(db, found, action, actor, **values)
    db.commit()
    return f"rollout_{action}_done"


def _number(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise rollout.RolloutError("numbers") from None
