"""Decides between sessions whether the kiosk can serve citizens at all.

Out of service while start-up is unfinished (a device that could not be opened, print
jobs a crash left that are not reconciled yet), when the e-KTP reader is gone, or when no
document medium can be printed (every printer out of paper, jammed, offline... or no
printer reachable).  Checks run in their own thread: the first at once, then every
``HEALTH_POLL`` seconds; each round first gives the composition root's ``prepare`` hook a
chance to open what is missing.  The monitor posts ``service_down(reason)`` or
``service_up`` only when the verdict changes; the flow ignores them during a session.
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
import time
from collections.abc import Callable

from pydantic import ValidationError

from drivers.card.base import ReaderState
from drivers.update.base import image_version
from kiosk import timeouts
from kiosk.print_service import PrintService
from kiosk.remote import RemoteActions
from kiosk.server_client import ServerError
from kiosk.update_link import UpdateLink
from printing.spooler import SpoolerError
from protocol.api import KioskCommand

log = logging.getLogger("kiosk.health")


def _version() -> str:
    """The image's version on an appliance, else the package's."""
    if image := image_version():
        return image
    try:
        return importlib.metadata.version("adm-kiosk")[:40]
    except importlib.metadata.PackageNotFoundError:
        return ""


VERSION = _version()
# The verdict while the updater waits to install (a notice: ui/texts.py says it).
UPDATING = "updating"


class HealthMonitor:
    def __init__(
        self,
        post: Callable[..., None],
        reader_state: Callable[[], ReaderState],
        printer: PrintService,
        *,
        closed_reason: Callable[[], str] = lambda: "",
        flow_state: Callable[[], str] = lambda: "",
        prepare: Callable[[], str] = lambda: "",
        devices: Callable[[], dict[str, str]] = dict,
        poll: float = timeouts.HEALTH_POLL,
        update_link: UpdateLink | None = None,
        version: str = VERSION,
        remote: RemoteActions | None = None,
    ) -> None:
        """``post`` is the flow's; ``reader_state`` the watcher's last view of the slot;
        ``closed_reason`` why a technician closed the kiosk ("" = open); ``flow_state``
        what the heartbeat reports; ``prepare`` opens what start-up could not and returns
        why the kiosk still cannot serve ("" = ready)."""
        self._post = post
        self._reader_state = reader_state
        self._closed_reason = closed_reason
        self._flow_state = flow_state
        self._prepare = prepare
        self._devices = devices
        self._printer = printer
        self._poll = poll
        # The privileged updater's files (kiosk.update_link); None: updated by hand.
        self._update = update_link
        self.version = version  # what this kiosk runs (the heartbeat and the health gate)
        self.remote = remote  # the office's actions (kiosk.remote); None: none taken
        if update_link is not None:
            # What an earlier run of the kiosk said no longer holds: this one may be about
            # to serve a citizen, and has passed no check yet.
            update_link.set_drained(False)
            update_link.set_ready("")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reason: str | None = None  # the last verdict ("" = in service)
        self._media: dict[str, str] = {}  # medium -> last unavailable reason
        # The audit record count the server last said it holds (None: not told yet).
        self._server_audit_count: int | None = None

    def verdict(self, media: dict[str, str] | None = None) -> str:
        """ "" when the kiosk can serve; otherwise why not, as a notice for the screen
        (``kiosk.messages``).
        ``media``: each medium's unavailable reason, when the caller already asked."""
        closed = self._closed_reason()
        if closed:
            return closed
        if self._update is not None and self._update.requested():
            return UPDATING
        if self._reader_state() is ReaderState.UNAVAILABLE:
            return "reader_missing"
        reasons = list((self._media_reasons() if media is None else media).values())
        if all(reasons):
            return f"no_printer|why={reasons[0]}"
        return ""

    def _media_reasons(self) -> dict[str, str]:
        return {m: self._printer.unavailable_reason(m) for m in self._printer.queues}

    def check_once(self) -> None:
        unready = self._prepare()
        media = self._media_reasons()  # one round of printer queries per check
        self._audit_media(media)
        reason = unready or self.verdict(media)
        self._tell_updater(reason)
        if reason == self.reason:
            return
        self.reason = reason
        if reason:
            self._post("service_down", reason=reason)
        else:
            self._post("service_up")

    def _office_actions(self, asked: object) -> None:
        """Do what the office asked (kiosk.remote) and post each result; a restart
        only once the server has its result."""
        if self.remote is None or not isinstance(asked, list):
            return
        server = self._printer.server
        for raw in asked:
            try:
                cmd = KioskCommand.model_validate(raw)
            except ValidationError:
                log.warning("a malformed office action was ignored")
                continue
            done = self.remote.run(cmd)
            try:
                server.command_result(cmd.id, done.outcome, done.detail, done.diagnostics)
            except ServerError as exc:
                log.warning("office action %d: result not delivered (%s)", cmd.id, exc)
                continue  # asked again with the next heartbeat
            if done.after is not None:
                done.after()

    def _tell_updater(self, reason: str) -> None:
        """The updater installs only once the kiosk stands idle, out of service for it
        (a session, and the print in it, end first: the flow takes a verdict only between
        sessions); its health gate passes once this version serves."""
        if self._update is None:
            return
        idle = self._flow_state() == "out_of_service" and self.reason == UPDATING
        self._update.set_drained(reason == UPDATING and idle)
        self._update.set_ready(self.version if not reason else "")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="health", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._poll + 10)

    def _audit_media(self, media: dict[str, str]) -> None:
        """A medium running out or coming back (paper, toner, ribbon, blank cards) goes
        into the audit log once per change."""
        store = self._printer.store
        for medium, reason in media.items():
            if self._media.get(medium, "") != reason and store is not None:
                store.audit("supply_changed", medium=medium, state=reason or "available")
            self._media[medium] = reason

    def supplies(self) -> dict[str, int]:
        """Each printer's supply levels and the blank cards left."""
        supplies: dict[str, int] = {}
        for queue in self._printer.queues.values():
            try:
                for supply in self._printer.spooler.printer_status(queue).supplies:
                    supplies[f"{queue}:{supply.name}"] = supply.level
            except SpoolerError:
                pass
        stock = self._printer.card_stock
        if stock is not None:
            supplies["blank_cards"] = stock.remaining
        return supplies

    def heartbeat_once(self) -> None:
        """Tell the server how this kiosk is: state, devices, supplies, and the head of
        the audit chain (kept outside the kiosk, so a truncated log is detectable)."""
        devices = {"card_reader": self._reader_state().name.lower(), **self._devices()}
        for medium, queue in self._printer.queues.items():
            devices[queue] = self._printer.condition_codes(medium)
        supplies = self.supplies()
        store = self._printer.store
        fields: dict[str, object] = {
            "reason": (self.reason or "")[:200],
            "closed": bool(self._closed_reason()),
            "version": self.version,
        }
        if self._update is not None:
            fields["update"] = self._update.report()
        # Twice at most: a server that holds a count this kiosk has not anchored yet (a
        # restart) is answered at once with the proof, not a minute later.
        for _ in range(2):
            head, known = None, self._server_audit_count
            if store is not None:
                count, head = store.audit_position()
                anchor = store.audit_hash_at(known) if known is not None else None
                fields.update(audit_count=count, audit_anchor=anchor)
            answer = self._printer.server.heartbeat(
                self._flow_state(), devices, supplies, head, **fields
            )
            if self._update is not None and isinstance(answer, dict):
                self._update.store_target(answer.get("target"))
            if isinstance(answer, dict) and answer.get("commands"):
                self._office_actions(answer["commands"])
            told = answer.get("audit_count") if isinstance(answer, dict) else None
            self._server_audit_count = told if isinstance(told, int) else None
            if store is None or known is not None or self._server_audit_count is None:
                break

    def _run(self) -> None:
        next_beat = 0.0
        first = True
        while first or not self._stop.wait(self._poll):
            first = False
            try:
                self.check_once()
                # Confirmations and releases the server could not take yet: retried here,
                # off the flow's thread, until acknowledged.
                self._printer.send_outbox()
                if time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + timeouts.HEARTBEAT
                    self.heartbeat_once()
            except Exception:  # a health check must never die silently
                log.exception("health check failed")
