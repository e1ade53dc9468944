"""Start-up reconciliation: settle every unfinished print job before anyone is served.

For each job the kiosk store holds that is not confirmed or released, CUPS decides what
really happened and the server is told through the outbox:

* ``reserving`` / ``reserved``: never submitted (a job is recorded ``rendered`` before it
  goes to CUPS) → release.
* ``rendered``: maybe submitted before the crash; CUPS is searched for the job id in the
  job's title.
* ``spooled`` (or found above): followed to its end with the usual deadline; completed →
  blank consumed, confirm; anything else → canceled, blank spoiled, release.
* ``rendered`` or ``spooled`` and CUPS does not know it (never submitted, or its history
  pruned or its spool lost in a power cut): the printer's own job list decides
  (:mod:`kiosk.lost_jobs`); when the printer cannot tell either, the document is held
  for the office (outbox ``hold``), never released on a guess.
* ``completed`` / ``failed`` / ``holding``: the confirm / release / hold is (re)queued.

Then the outbox is sent; what the server cannot take now stays queued and is retried.
A job whose CUPS cannot be reached now is left for the next start (``undecided``).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from kiosk import timeouts
from kiosk.lost_jobs import ask_printer
from kiosk.print_service import PrintService, job_marker
from kiosk.store import JobRecord, KioskStore
from printing.card_stock import CardOutcome, CardRecord
from printing.spooler import JobState, JobUnknown, SpoolerError
from printing.tracking import JobDeadline, follow_job

log = logging.getLogger("kiosk.reconcile")


@dataclass
class Reconciled:
    confirmed: list[str] = field(default_factory=list)  # jobs queued for confirmation
    released: list[str] = field(default_factory=list)  # jobs queued for release
    held: list[str] = field(default_factory=list)  # jobs held for the office to decide
    undecided: list[str] = field(default_factory=list)  # CUPS unreachable: the next start
    sent: int = 0  # outbox items the server acknowledged
    pending: int = 0  # outbox items still waiting for the server


def reconcile(
    store: KioskStore, printer: PrintService, deadline: float = timeouts.PRINT_JOB_DEADLINE
) -> Reconciled:
    result = Reconciled()
    queued = {(i.job_id, i.action) for i in store.outbox_pending()}
    for job in store.jobs():
        action, why = _settle(store, printer, job, deadline)
        if action == "later":
            result.undecided.append(job.job_id)
            continue
        if (job.job_id, action) not in queued:
            store.outbox_add(job.job_id, action, why or f"settled at start-up ({job.state})")
        {"confirm": result.confirmed, "release": result.released, "hold": result.held}[
            action
        ].append(job.job_id)
        store.audit("job_reconciled", job=job.job_id, was=job.state, action=action)
    result.sent = printer.send_outbox()
    result.pending = len(store.outbox_pending())
    if result.confirmed or result.released or result.held or result.undecided:
        log.warning(
            "start-up reconciliation: %d confirmed, %d released, %d held for the office, "
            "%d undecided, %d still queued",
            len(result.confirmed),
            len(result.released),
            len(result.held),
            len(result.undecided),
            result.pending,
        )
    return result


def _settle(
    store: KioskStore, printer: PrintService, job: JobRecord, deadline: float
) -> tuple[str, str]:
    """What to tell the server of ``job`` (confirm | release | hold | later) and why."""
    if job.state == "completed":
        return "confirm", ""
    if job.state == "failed":
        return "release", ""
    if job.state == "holding":
        return "hold", job.error
    if job.state in ("reserving", "reserved"):
        # Recorded "rendered" before anything goes to CUPS: this one never went.
        store.job_update(job.job_id, "failed", error=f"not printed before a restart ({job.state})")
        return "release", ""
    marker = job_marker(job.job_id)
    cups_job = job.cups_job
    try:
        if cups_job is None:
            cups_job = printer.spooler.find_job(marker)
        if cups_job is not None:
            return _follow(store, printer, job, cups_job, marker, deadline)
    except JobUnknown:
        pass  # CUPS gave the number but no longer knows the job
    except SpoolerError as exc:
        log.error("job %s cannot be checked with CUPS now: %s", job.job_id, exc)
        return "later", ""
    # CUPS does not know it: the printer's word, or the office's.
    log.warning(
        "job %s (%s): CUPS does not know it; asking the printer behind %s",
        job.job_id,
        job.state,
        job.queue,
    )
    verdict = ask_printer(
        printer.spooler,
        job.queue or "",
        marker,
        job.created_at,
        memory=printer.job_memory,
        deadline=deadline,
    )
    log.warning("job %s unknown to CUPS (%s): %s", job.job_id, job.state, verdict.why)
    store.audit("job_unknown_to_cups", job=job.job_id, was=job.state, verdict=verdict.outcome)
    if verdict.outcome == "printed":
        _card(store, job, CardOutcome.CONSUMED)
        store.job_update(job.job_id, "completed", error=verdict.why)
        return "confirm", ""
    if verdict.outcome == "not_printed":
        # Never fed (it never reached the printer) or canceled there: the card is
        # accounted as spoiled only if the printer had it.
        if verdict.reached:
            _card(store, job, CardOutcome.SPOILED, verdict.why)
        store.job_update(job.job_id, "failed", error=verdict.why)
        return "release", ""
    reason = f"unknown whether printed: {verdict.why}"
    _card(store, job, CardOutcome.UNKNOWN, reason)
    store.job_update(job.job_id, "holding", error=reason)
    return "hold", reason[:200]


def _follow(
    store: KioskStore,
    printer: PrintService,
    job: JobRecord,
    cups_job: int,
    marker: str,
    deadline: float,
) -> tuple[str, str]:
    """Follow a job CUPS knows to its end (raises JobUnknown if it is not ours)."""
    first = printer.spooler.status(cups_job)
    if first.name is not None and marker not in first.name:
        # A spool lost with its job cache starts CUPS's numbering again: this number is
        # now another job.
        raise JobUnknown(f"CUPS job {cups_job} is another job now ({first.name!r})")
    try:
        status = follow_job(printer.spooler, job.queue or "", cups_job, deadline=deadline)
    except JobDeadline as exc:
        _card(store, job, CardOutcome.SPOILED, str(exc))
        store.job_update(job.job_id, "failed", error=str(exc))
        return "release", ""
    if status.state == JobState.COMPLETED:
        _card(store, job, CardOutcome.CONSUMED)
        store.job_update(job.job_id, "completed", cups_job=cups_job)
        return "confirm", ""
    reason = f"CUPS job {cups_job} ended {status.state.name.lower()} before a restart"
    _card(store, job, CardOutcome.SPOILED, reason)
    store.job_update(job.job_id, "failed", cups_job=cups_job, error=reason)
    return "release", ""


def _card(store: KioskStore, job: JobRecord, outcome: CardOutcome, reason: str = "") -> None:
    """A blank that went to the printer is accounted for by serial, once."""
    if job.card_serial is None or any(r.serial == job.card_serial for r in store.records):
        return
    store.record(
        CardRecord(
            job.card_serial,
            outcome,
            job.job_id,
            job.number,
            reason,
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
        )
    )
