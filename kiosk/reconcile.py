"""Start-up reconciliation: settle every unfinished print job before anyone is served.

For each job the kiosk store holds that is not confirmed or released, CUPS decides what
really happened and the server is told through the outbox:

* ``reserving`` / ``reserved``: never submitted (a job is recorded ``rendered`` before it
  goes to CUPS) → release.
* ``rendered``: maybe submitted before the crash; CUPS is searched for the job id in the
  job's title. Not found → release (a blank card taken for it was never fed: it stays in
  the hopper and is offered again).
* ``spooled`` (or found above): followed to its end with the usual deadline; completed →
  blank consumed, confirm; anything else → canceled, blank spoiled, release.
* ``completed`` / ``failed``: the confirm / release is (re)queued.

Then the outbox is sent; what the server cannot take now stays queued and is retried.
A job CUPS no longer knows (history purged) is left for a technician rather than guessed.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from kiosk import timeouts
from kiosk.print_service import PrintService, job_marker
from kiosk.store import JobRecord, KioskStore
from printing.card_stock import CardOutcome, CardRecord
from printing.spooler import JobState, SpoolerError
from printing.tracking import JobDeadline, follow_job

log = logging.getLogger("kiosk.reconcile")


@dataclass
class Reconciled:
    confirmed: list[str] = field(default_factory=list)  # jobs queued for confirmation
    released: list[str] = field(default_factory=list)  # jobs queued for release
    held: list[str] = field(default_factory=list)  # jobs a technician must look at
    sent: int = 0  # outbox items the server acknowledged
    pending: int = 0  # outbox items still waiting for the server


def reconcile(
    store: KioskStore, printer: PrintService, deadline: float = timeouts.PRINT_JOB_DEADLINE
) -> Reconciled:
    result = Reconciled()
    queued = {(i.job_id, i.action) for i in store.outbox_pending()}
    for job in store.jobs():
        action = _settle(store, printer, job, deadline)
        if action == "hold":
            result.held.append(job.job_id)
            continue
        if (job.job_id, action) not in queued:
            store.outbox_add(job.job_id, action, f"settled at start-up ({job.state})")
        (result.confirmed if action == "confirm" else result.released).append(job.job_id)
        store.audit("job_reconciled", job=job.job_id, was=job.state, action=action)
    result.sent = printer.send_outbox()
    result.pending = len(store.outbox_pending())
    if result.confirmed or result.released or result.held:
        log.warning(
            "start-up reconciliation: %d confirmed, %d released, %d held, %d still queued",
            len(result.confirmed),
            len(result.released),
            len(result.held),
            result.pending,
        )
    return result


def _settle(store: KioskStore, printer: PrintService, job: JobRecord, deadline: float) -> str:
    if job.state == "completed":
        return "confirm"
    if job.state == "failed":
        return "release"
    cups_job = job.cups_job
    if cups_job is None and job.state == "rendered":
        cups_job = printer.spooler.find_job(job_marker(job.job_id))
    if cups_job is None:
        store.job_update(job.job_id, "failed", error=f"not printed before a restart ({job.state})")
        return "release"
    try:
        status = follow_job(printer.spooler, job.queue or "", cups_job, deadline=deadline)
    except JobDeadline as exc:
        _card(store, job, CardOutcome.SPOILED, str(exc))
        store.job_update(job.job_id, "failed", error=str(exc))
        return "release"
    except SpoolerError as exc:
        log.error("job %s (CUPS %d) cannot be checked: %s", job.job_id, cups_job, exc)
        return "hold"
    if status.state == JobState.COMPLETED:
        _card(store, job, CardOutcome.CONSUMED)
        store.job_update(job.job_id, "completed", cups_job=cups_job)
        return "confirm"
    reason = f"CUPS job {cups_job} ended {status.state.name.lower()} before a restart"
    _card(store, job, CardOutcome.SPOILED, reason)
    store.job_update(job.job_id, "failed", cups_job=cups_job, error=reason)
    return "release"


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
