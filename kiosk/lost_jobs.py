"""A print job CUPS no longer knows: the printer's own word decides, or the office does.

CUPS's job history is not a record.  It is pruned, and a power cut can lose a spooler's
job files before they reach the disk; then CUPS answers "no such job" for a document
that may be on paper.  Releasing it would offer it again (printed twice); confirming it
would lose it.  The rule, applied at start-up reconciliation and while printing:

1. CUPS knows the job: it is followed there (not this module).
2. The printer itself lists the job (IPP Get-Jobs; the job's name carries the kiosk's
   job marker): its state decides.  Completed: printed.  Canceled or aborted: not
   printed.  Still waiting or printing: followed at the printer until it ends within the
   deadline, else canceled there: not printed.
3. The printer lists its jobs without it, has been up since before the job was made,
   and keeps finished jobs at least as long as the job is old (``printer.job_memory``,
   a property of the printer model): the job never reached it, not printed.
4. Anything else (the printer does not answer, keeps no list, restarted since, or its
   memory is shorter than the job's age): nobody can tell.  The document is held for
   the office, which looks at the printer and the tray and decides; it is neither
   confirmed nor offered again until then.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from printing.spooler import JobState, Spooler, SpoolerError

log = logging.getLogger("kiosk.lost_jobs")

Outcome = Literal["printed", "not_printed", "unknown"]
MARGIN = 2.0  # s: the printer's clock and ours are read a moment apart


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    why: str
    reached: bool = True  # False: proven never to have reached the printer (no card fed)


def ask_printer(
    spooler: Spooler,
    queue: str,
    marker: str,
    made_at: dt.datetime | None,
    *,
    memory: float,
    deadline: float,
    poll: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Verdict:
    """What became of the job named ``marker`` that CUPS does not know (rules 2-4)."""
    end = clock() + deadline
    canceled = False
    while True:
        try:
            listing = spooler.printer_jobs(queue)
        except SpoolerError as exc:
            return Verdict("unknown", f"the printer's job list cannot be read: {exc}")
        if listing is None:
            return Verdict("unknown", "the printer does not answer with its job list")
        job = listing.find(marker)
        if job is None:
            return _absent(listing.up_time, made_at, memory)
        try:
            state = JobState(job.state)
        except ValueError:  # a state outside RFC 8011: not ended
            state = JobState.PROCESSING
        if state == JobState.COMPLETED:
            return Verdict("printed", f"the printer completed it (its job {job.job_id})")
        if state.final:
            how = "canceled by the kiosk" if canceled else state.name.lower()
            return Verdict("not_printed", f"the printer's job {job.job_id} ended {how}")
        if canceled or clock() >= end:
            if canceled:
                return Verdict("unknown", f"the printer's job {job.job_id} did not stop")
            try:
                spooler.cancel_at_printer(queue, job.job_id)
            except SpoolerError as exc:
                return Verdict("unknown", f"the printer's job {job.job_id} runs on: {exc}")
            canceled = True
            continue
        sleep(poll)


def _absent(up_time: int | None, made_at: dt.datetime | None, memory: float) -> Verdict:
    """The printer does not list the job: proof it never arrived only if the printer's
    memory spans the job's whole life (rule 3)."""
    if up_time is None or made_at is None:
        return Verdict("unknown", "not in the printer's list, which does not say how far back")
    age = (dt.datetime.now(dt.UTC).replace(tzinfo=None) - made_at).total_seconds()
    if up_time + MARGIN < age:
        return Verdict("unknown", f"not in the printer's list; it restarted {up_time} s ago")
    if age + MARGIN > memory:
        return Verdict(
            "unknown",
            f"not in the printer's list, which keeps finished jobs {memory:.0f} s "
            f"(the job is {age:.0f} s old)",
        )
    return Verdict(
        "not_printed", "the printer never received it (its job list spans the job)", reached=False
    )
