"""Print one approved document: reserve (with its print code) → render → spool → track →
confirm, or release when it did not come out.

Runs in a worker thread (it blocks on the server and the print system).  The payload was
verified against the pinned issuer key when it was reserved.  A job that is not completed
before its deadline is canceled, so a dead printer never hangs the kiosk.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kiosk import timeouts
from kiosk.crashpoints import crash_point
from kiosk.lost_jobs import ask_printer
from kiosk.server_client import (
    Reservation,
    ServerClient,
    ServerError,
    ServerRefused,
    ServerUnavailable,
)
from kiosk.store import SETTLING, KioskStore
from printing import renderers
from printing.card_stock import CardOutcome, CardStock, CardStockEmpty
from printing.spooler import Condition, JobState, JobStatus, JobUnknown, Spooler, SpoolerError
from printing.tracking import JobDeadline, follow_job
from protocol.errors import SETTLED, ErrorCode

log = logging.getLogger("kiosk.print")


@dataclass(frozen=True)
class PrintResult:
    doc_id: int
    title: str
    number: str
    job_id: str  # the kiosk's id for this print, sent to the server on confirmation
    queue: str
    cups_job: int
    pdf_bytes: int
    card_serial: str | None = None  # the blank card used, for card documents


# Why a medium cannot be printed, as a code the UI words (the first condition that
# applies names it).
UNAVAILABLE = [
    (Condition.MEDIA_EMPTY, "paper_out"),
    (Condition.MEDIA_JAM, "paper_jam"),
    (Condition.DOOR_OPEN, "door_open"),
    (Condition.TONER_EMPTY, "toner_out"),
    (Condition.OFFLINE, "printer_offline"),
]


def job_marker(job_id: str) -> str:
    return f"[{job_id}]"


def cups_title(payload: dict[str, Any], job_id: str) -> str:
    """The job name CUPS and the printer see: the document kind and the kiosk's job
    marker, never the document number or a name (a KK number identifies a family)."""
    kind = str(payload.get("kind") or "dokumen")
    return f"{kind} {job_marker(job_id)}"


class PrintFailed(Exception):
    """The document did not come out; the entitlement was not consumed."""


class PrintHeld(PrintFailed):
    """The print's end cannot be known (CUPS lost the job, the printer cannot tell): it is
    held for the office, and the session's end must not release it (it is "holding")."""


class PrintTimes:
    """How long this kiosk's printers take, per medium, and the deadline that follows.

    A fixed deadline is either too short for a slow card printer or far too long for a
    fast laser (a dead A4 printer would keep a citizen waiting two minutes).  The last
    ``window`` completed jobs of a medium (submit to completed, as measured) set its
    deadline to ``factor`` times their slowest, within [``floor``, ``ceiling``]; until
    ``minimum`` jobs are measured, the configured default holds.
    """

    def __init__(
        self,
        default: float,
        *,
        factor: float = 4.0,
        floor: float = 45.0,
        ceiling: float = 300.0,
        window: int = 20,
        minimum: int = 5,
    ) -> None:
        self.default = default
        self.factor, self.floor, self.ceiling = factor, floor, ceiling
        self.window, self.minimum = window, minimum
        self._seconds: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def record(self, medium: str, seconds: float) -> None:
        with self._lock:
            times = self._seconds.setdefault(medium, [])
            times.append(seconds)
            del times[: -self.window]

    def samples(self, medium: str) -> tuple[float, ...]:
        with self._lock:
            return tuple(self._seconds.get(medium, ()))

    def deadline(self, medium: str) -> float:
        with self._lock:
            times = list(self._seconds.get(medium, ()))
        if len(times) < self.minimum:
            return self.default
        return min(self.ceiling, max(self.floor, self.factor * max(times)))


class PrintService:
    def __init__(
        self,
        server: ServerClient,
        spooler: Spooler,
        *,
        deadline: float = timeouts.PRINT_JOB_DEADLINE,
        poll: float = timeouts.PRINT_POLL,
        job_memory: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        card_stock: CardStock | None = None,
        store: KioskStore | None = None,
        queues: dict[str, str] | None = None,
    ) -> None:
        # Medium -> CUPS queue, from the configuration (printer.queue_a4, queue_card).
        self.queues = dict(queues or renderers.QUEUE_FOR_MEDIUM)
        self.card_stock = card_stock
        self.store = store
        self._outbox_lock = threading.Lock()
        self.server = server
        self.spooler = spooler
        self._released: set[str] = set()  # without a store: jobs given back already
        self.times = PrintTimes(deadline)
        self.poll = poll
        # How long the printers keep a finished job in their own list (printer.job_memory):
        # what a job CUPS lost can be judged by (kiosk.lost_jobs).
        self.job_memory = job_memory
        self._clock = clock
        self._sleep = sleep

    def unavailable_reason(self, medium: str) -> str:
        """Why documents on ``medium`` cannot be printed right now, as a code ("" when
        they can): ``not_here``, ``no_blank_cards``, ``printer_unavailable`` or a
        printer condition (``paper_out``...).

        Asked before the citizen chooses, so a kiosk out of paper or blank cards offers
        what it can still print and says plainly what it cannot."""
        queue = self.queues.get(medium)
        if queue is None:
            return "not_here"
        if medium == "card" and (self.card_stock is None or self.card_stock.remaining == 0):
            return "no_blank_cards"
        try:
            status = self.spooler.printer_status(queue)
        except SpoolerError:
            return "printer_unavailable"
        if status.ready:
            return ""
        for condition, code in UNAVAILABLE:
            if condition in status.conditions:
                return code
        return "printer_unavailable"

    def condition_codes(self, medium: str) -> str:
        """What the heartbeat says of ``medium``'s printer: "ok", or codes without words
        (the office console words them in its reader's language): the printer's
        conditions (``media_empty,toner_low``...), ``no_blank_cards``, ``unreachable``."""
        queue = self.queues.get(medium)
        if queue is None:
            return "not_configured"
        codes: list[str] = []
        if medium == "card" and (self.card_stock is None or self.card_stock.remaining == 0):
            codes.append("no_blank_cards")
        try:
            status = self.spooler.printer_status(queue)
        except SpoolerError:
            return ",".join([*codes, "unreachable"])
        codes += sorted(c.value for c in status.conditions)
        if not status.ready and not status.conditions:
            codes.append("not_ready")
        return ",".join(codes)[:64] or "ok"

    def annotate(self, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The documents with an ``unavailable`` reason each ("" = printable now)."""
        reasons: dict[str, str] = {}
        out = []
        for doc in documents:
            medium = str(doc.get("medium", ""))
            if medium not in reasons:
                reasons[medium] = self.unavailable_reason(medium)
            out.append({**doc, "unavailable": reasons[medium]})
        return out

    def reserve(self, session: str, doc: dict[str, Any], print_code: str) -> Reservation:
        """Reserve ``doc`` for a new print job with the citizen's code (server checks it
        and signs the payload; the client verifies the signature before returning).

        The job is recorded before the server is asked, so whatever happens next (crash,
        timeout, forged answer) the job is settled: released at the server if in doubt."""
        try:  # nothing is reserved that this kiosk could not render
            renderers.ready()
        except renderers.RendererUnavailable as exc:
            raise PrintFailed(f"renderer_missing: {exc}") from None
        job_id, doc_id = str(uuid.uuid4()), int(doc["id"])
        store = self.store
        if store is not None:
            store.job_begin(
                job_id,
                doc_id,
                str(doc.get("number", "")),
                str(doc.get("title", "")),
                str(doc.get("medium", "")),
            )
        crash_point("reserve_recorded")
        try:
            res = self.server.reserve(session, job_id, doc_id, print_code)
        except ServerRefused:
            # Refused (wrong code, locked, taken): the server reserved nothing.
            if store is not None:
                store.job_forget(job_id)
            raise
        except ServerError as exc:
            # Unreachable mid-call or a forged answer: it may be reserved; give it back.
            self._fail(job_id, f"reserve failed: {exc}")
            raise
        if store is not None:
            store.job_update(job_id, "reserved")
        crash_point("reserved")
        return res

    def release(self, res: Reservation, reason: str) -> None:
        """Give the entitlement back (through the outbox: retried until acknowledged)."""
        self._fail(res.job_id, reason)

    def _fail(self, job_id: str, reason: str) -> None:
        """Release a job once: a second cause (the session ending after the printer gave
        up) must neither send a second release nor overwrite the first cause."""
        if self.store is None:
            if job_id in self._released:
                return
            self._released.add(job_id)
            try:
                self.server.release(job_id, reason)
            except ServerError as exc:
                log.warning(
                    "job %s could not be released now: %s", job_id, exc, extra={"job_id": job_id}
                )
            return
        job = self.store.job(job_id)
        if job is not None and job.state in SETTLING:
            log.info(
                "job %s already %s (%s); not released again",
                job_id,
                job.state,
                job.error,
                extra={"job_id": job_id},
            )
            return
        self.store.job_update(job_id, "failed", error=reason)
        self.store.outbox_add(job_id, "release", reason)
        self.send_outbox()

    def _hold(self, job_id: str, reason: str) -> None:
        """Nobody can tell whether the document came out: the office decides, at the
        server (the document is neither confirmed nor offered again until then)."""
        if self.store is None:
            try:
                self.server.hold(job_id, reason)
            except ServerError as exc:
                log.error("job %s could not be held now: %s", job_id, exc)
            return
        self.store.job_update(job_id, "holding", error=reason)
        self.store.outbox_add(job_id, "hold", reason)
        self.send_outbox()

    def _completed(self, job_id: str) -> None:
        if self.store is None:
            self.server.confirm(job_id)
            return
        self.store.job_update(job_id, "completed")
        crash_point("completed")
        self.store.outbox_add(job_id, "confirm")
        self.send_outbox()

    def send_outbox(self) -> int:
        """Send pending confirmations and releases in order; stop at the first that cannot
        reach the server (they stay for the next try).  Returns how many were settled."""
        if self.store is None:
            return 0
        settled = 0
        with self._outbox_lock:
            for item in self.store.outbox_pending():
                try:
                    if item.action == "confirm":
                        self.server.confirm(item.job_id)
                        final = "confirmed"
                    elif item.action == "hold":
                        self.server.hold(item.job_id, item.reason)
                        final = "held"
                    else:
                        self.server.release(item.job_id, item.reason)
                        final = "released"
                except ServerUnavailable as exc:
                    self.store.outbox_result(item.id, str(exc))
                    log.info(
                        "outbox: %s of job %s waits: %s",
                        item.action,
                        item.job_id,
                        exc,
                        extra={"job_id": item.job_id},
                    )
                    break
                except ServerRefused as exc:
                    known = self._refused_settlement(exc)
                    if known is None:
                        # Refused for another reason (this kiosk revoked, a fault): it
                        # stays queued; a technician sees it in the diagnostics.
                        self.store.outbox_result(item.id, str(exc))
                        log.error("outbox: %s of job %s refused: %s", item.action, item.job_id, exc)
                        break
                    final = known
                crash_point("settled_at_server")
                self.store.outbox_result(item.id)
                self.store.job_update(item.job_id, final)
                settled += 1
        return settled

    @staticmethod
    def _refused_settlement(exc: ServerRefused) -> str | None:
        """What a refusal says about the job's real end (None: it says nothing)."""
        if exc.status == 404:
            return "released"  # never reserved there (the call was lost before the server)
        if exc.status == 409 and exc.code in SETTLED:
            return exc.code
        if exc.status == 409 and exc.code == ErrorCode.EXPIRED:
            # The lease ended and another job took the document before this settlement
            # arrived: the server keeps no record of this print.  Said loudly (a
            # technician must know a printed document went unrecorded), settled as
            # released, since the server will never count it.
            log.error("job's lease ended before its settlement reached the server: %s", exc)
            return "released"
        return None

    def print_reserved(
        self, res: Reservation, progress: Callable[[str], None] = lambda _msg: None
    ) -> PrintResult:
        """Render, spool, track and confirm one reserved document; release it on failure.

        Each step is recorded before the next begins (print_jobs in the kiosk store), so
        a crash at any point is settled by :func:`kiosk.reconcile.reconcile` at start."""
        try:
            result = self._print(res, progress)
        except PrintHeld as exc:
            self._hold(res.job_id, str(exc)[:200])
            raise
        except Exception as exc:
            self._fail(res.job_id, f"print failed: {exc}"[:200])
            raise
        progress("confirm")
        # Printed is printed: a server that cannot be reached now gets the confirmation
        # from the outbox later; the citizen has the document.
        self._completed(res.job_id)
        return result

    def _print(self, res: Reservation, progress: Callable[[str], None]) -> PrintResult:
        payload, doc_id, job_id = res.payload, res.document_id, res.job_id
        title = str(payload.get("title", "Dokumen"))
        medium = str(payload.get("medium", ""))
        queue = self.queues.get(medium)
        if queue is None:
            raise PrintFailed(f"unknown medium {medium!r} for document {doc_id}")
        progress("render")
        pdf = renderers.render(payload)
        number = str(payload.get("number", ""))
        if self.store is not None:
            self.store.job_update(job_id, "rendered", queue=queue)
        crash_point("rendered")
        serial = None
        stock = self.card_stock
        if medium == "card":
            if stock is None:
                raise PrintFailed("this kiosk has no card stock configured")
            try:
                serial = stock.take(job_id)
            except CardStockEmpty as exc:
                raise PrintFailed(str(exc)) from exc
            if self.store is not None:
                self.store.job_update(job_id, "rendered", card_serial=serial)
        progress("spool")
        try:
            # The job id in the title lets a restarted kiosk find a job it submitted but
            # could not record.
            # Only the kind and the marker go to CUPS: its job history, page log and the
            # printer's spool keep titles, and a KK number is personal data.
            cups_job = self.spooler.submit(queue, pdf, cups_title(payload, job_id))
        except Exception:
            if serial is not None and stock is not None:
                stock.put_back(serial)
            raise
        crash_point("submitted")
        if self.store is not None:
            self.store.job_update(job_id, "spooled", cups_job=cups_job)
        crash_point("spooled")
        log.info(
            "document %d spooled as %s job %d (kiosk job %s)",
            doc_id,
            queue,
            cups_job,
            job_id,
            extra={"job_id": job_id},
        )
        progress("printing")
        started = self._clock()
        try:
            status = follow_job(
                self.spooler,
                queue,
                cups_job,
                deadline=self.times.deadline(medium),
                poll=self.poll,
                progress=progress,
                clock=self._clock,
                sleep=self._sleep,
                offline_grace=timeouts.PRINTER_OFFLINE_GRACE,
            )
        except JobDeadline as exc:
            self._settle(serial, CardOutcome.SPOILED, number, str(exc))
            raise PrintFailed(str(exc)) from exc
        except JobUnknown:
            # CUPS lost the job (restarted without its spool): the printer's word decides.
            record = self.store.job(job_id) if self.store is not None else None
            verdict = ask_printer(
                self.spooler,
                queue,
                job_marker(job_id),
                record.created_at if record is not None else None,
                memory=self.job_memory,
                deadline=self.times.deadline(medium),
                poll=max(self.poll, 0.5),
                clock=self._clock,
                sleep=self._sleep,
            )
            log.warning(
                "CUPS lost job %d of %s: %s",
                cups_job,
                job_id,
                verdict.why,
                extra={"job_id": job_id},
            )
            if verdict.outcome == "unknown":
                why = f"unknown whether printed: {verdict.why}"
                self._settle(serial, CardOutcome.UNKNOWN, number, why)
                raise PrintHeld(why) from None
            if verdict.outcome == "not_printed":
                if verdict.reached:
                    self._settle(serial, CardOutcome.SPOILED, number, verdict.why)
                elif serial is not None and stock is not None:
                    stock.put_back(serial)  # never fed: back in the hopper
                raise PrintFailed(verdict.why) from None
            status = JobStatus(JobState.COMPLETED)
        except Exception as exc:
            # Once submitted, a blank may have been fed: it is never silently returned.
            self._settle(serial, CardOutcome.SPOILED, number, f"tracking failed: {exc}")
            raise
        if status.state != JobState.COMPLETED:
            reason = (
                f"print job {cups_job} ended {status.state.name.lower()} "
                f"({', '.join(status.reasons) or 'no reason given'})"
            )
            self._settle(serial, CardOutcome.SPOILED, number, reason)
            raise PrintFailed(reason)
        self.times.record(medium, self._clock() - started)
        self._settle(serial, CardOutcome.CONSUMED, number)
        return PrintResult(
            doc_id=doc_id,
            title=title,
            number=number,
            job_id=job_id,
            queue=queue,
            cups_job=cups_job,
            pdf_bytes=len(pdf),
            card_serial=serial,
        )

    def _settle(
        self, serial: str | None, outcome: CardOutcome, number: str, reason: str = ""
    ) -> None:
        # A blank that may have gone through the printer is never silently returned.
        if serial is not None and self.card_stock is not None:
            try:
                self.card_stock.settle(serial, outcome, number, reason)
            except Exception:
                # The card is out of the printer either way; failing the print now would
                # leave a printed document unconfirmed.  The technician sees this in the log.
                log.error(
                    "blank card %s (%s) could not be recorded", serial, outcome.value, exc_info=True
                )
