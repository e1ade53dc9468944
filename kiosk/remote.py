"""The office's actions on this kiosk, as the heartbeat's answer hands them over
(server.commands): out of service with a reason and back, the idle screen's notice, a
restart, a diagnostics bundle.

While a citizen is being served each is refused unless a supervisor forced it; even
forced, going out of service waits for the session's end (the flow takes a verdict only
between sessions), and a restart happens only after the server has the result, so a
result that did not arrive does not restart the kiosk twice.
"""

from __future__ import annotations

import logging
import os
import platform
import re
import signal
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kiosk.diagnostics import Diagnostics
from kiosk.messages import notice
from protocol.api import KioskCommand
from protocol.nik import mask_nik

log = logging.getLogger("kiosk.remote")
# The flow states in which no citizen is being served.
IDLE = frozenset({"starting", "attract", "out_of_service", "diagnostics"})
SIXTEEN_DIGITS = re.compile(r"(?<!\d)\d{16}(?!\d)")


class RecentErrors(logging.Handler):
    """The kiosk's last warnings and errors, kept in memory for a diagnostics bundle
    (never written anywhere by this handler).  A 16-digit number in a line is masked
    again here: a NIK must not leave the kiosk even if a log call forgot to mask it."""

    def __init__(self, most: int = 50) -> None:
        super().__init__(logging.WARNING)
        self.lines: deque[str] = deque(maxlen=most)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = f"{record.levelname} {record.name}: {record.getMessage()}"
        except Exception:  # a malformed log call must not break logging
            text = f"{record.levelname} {record.name}: {record.msg!r}"
        text = SIXTEEN_DIGITS.sub(lambda m: mask_nik(m.group(0)), text)
        self.lines.append("".join(c if c.isprintable() else " " for c in text)[:300])


@dataclass
class Outcome:
    outcome: str  # done | refused | failed
    detail: str = ""
    diagnostics: dict[str, Any] | None = None
    after: Callable[[], None] | None = None  # once the server has the result


def restart_process() -> None:
    """End the kiosk in order (its SIGTERM handler); systemd starts it again."""
    os.kill(os.getpid(), signal.SIGTERM)


class RemoteActions:
    def __init__(
        self,
        flow_state: Callable[[], str],
        diagnostics: Diagnostics | None,
        set_notice: Callable[[str | None], None],
        supplies: Callable[[], dict[str, int]],
        errors: RecentErrors | None = None,
        restart: Callable[[], None] = restart_process,
        version: str = "",
    ) -> None:
        self.flow_state, self.diagnostics, self.set_notice = flow_state, diagnostics, set_notice
        self.supplies, self.errors, self.restart, self.version = (
            supplies,
            errors,
            restart,
            version,
        )

    def run(self, cmd: KioskCommand) -> Outcome:
        state = self.flow_state()
        if state not in IDLE and not cmd.force:
            return Outcome("refused", "a citizen is being served")
        try:
            return self._do(cmd, state)
        except Exception as exc:  # said to the office, not raised into the health thread
            log.exception("office action %s failed", cmd.action)
            return Outcome("failed", str(exc)[:200])

    def _do(self, cmd: KioskCommand, state: str) -> Outcome:
        d = self.diagnostics
        if cmd.action == "out_of_service":
            if d is None:
                return Outcome("failed", "this kiosk has no diagnostics")
            d.manual_out_of_service = notice("closed_by_office", reason=cmd.text)
            log.warning("closed by the office: %s", cmd.text)
            later = "" if state in IDLE else "; after the citizen's session"
            return Outcome("done", f"out of service{later}")
        if cmd.action == "in_service":
            if d is not None:
                d.manual_out_of_service = ""
            log.warning("opened again by the office")
            return Outcome("done", "back in service once its checks pass")
        if cmd.action == "notice":
            self.set_notice(cmd.text or None)
            return Outcome("done", "notice shown" if cmd.text else "the configured notice again")
        if cmd.action == "restart":
            log.warning("restart asked by the office")
            return Outcome("done", "restarting", after=self.restart)
        if cmd.action == "diagnostics":
            return Outcome("done", "collected", diagnostics=self.bundle(state))
        return Outcome("failed", f"unknown action {cmd.action}")

    def bundle(self, state: str) -> dict[str, Any]:
        checks = []
        if self.diagnostics is not None:
            for check in self.diagnostics.run_checks()[:64]:
                checks.append(
                    {"name": check.name[:64], "ok": bool(check.ok), "detail": check.detail[:300]}
                )
        return {
            "state": state[:40],
            "checks": checks,
            "errors": list(self.errors.lines) if self.errors is not None else [],
            "supplies": dict(list(self.supplies().items())[:32]),
            "versions": {
                "adm-kiosk": self.version[:80],
                "python": platform.python_version(),
                "kernel": platform.release()[:80],
            },
        }
