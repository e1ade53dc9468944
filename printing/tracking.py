"""Follow one print job to its end, with the kiosk's own deadline.

CUPS keeps a job "processing" for minutes when the printer dies mid-job, so the kiosk
never waits on CUPS alone: past the deadline the job is canceled and the caller told.
While the job waits, printer conditions (out of paper, jam, door open, offline) are
reported through ``progress`` so the screen can say why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from printing.spooler import (
    Condition,
    JobState,
    JobStatus,
    JobUnknown,
    QueueMissing,
    Spooler,
    SpoolerError,
)

log = logging.getLogger("printing.track")


class JobDeadline(SpoolerError):
    """The job did not finish in time and was canceled."""

    def __init__(
        self, job_id: int, deadline: float, conditions: frozenset[Condition], what: str = ""
    ) -> None:
        self.job_id = job_id
        self.conditions = conditions
        why = f" ({', '.join(sorted(c.value for c in conditions))})" if conditions else ""
        what = what or f"printer did not finish job {job_id} in {deadline:.0f} s"
        super().__init__(f"{what}{why}; canceled")


def follow_job(
    spooler: Spooler,
    queue: str,
    job_id: int,
    *,
    deadline: float,
    poll: float = 0.25,
    progress: Callable[[str], None] = lambda _step: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    offline_grace: float | None = None,
) -> JobStatus:
    """Wait for ``job_id`` to end; return its final status, or cancel it at the deadline
    and raise :class:`JobDeadline`.  Reports ``waiting:<condition>`` steps on change.

    ``offline_grace``: a printer that has not answered for this long is not coming back
    in time for the citizen at the kiosk: the job is canceled then, not at the deadline
    (a paper-out or a jam is a person's to fix and keeps the whole deadline)."""
    end = clock() + deadline
    reported: frozenset[Condition] = frozenset()
    offline_since: float | None = None
    while True:
        # Asking for the state is safe to repeat: a lost connection to CUPS (restarted,
        # busy) is retried until the deadline.  Submitting is never retried here.
        try:
            status = spooler.status(job_id)
        except (QueueMissing, JobUnknown):
            raise
        except SpoolerError as exc:
            log.warning("state of job %d unavailable, retrying: %s", job_id, exc)
            status = JobStatus(JobState.PROCESSING)
        if status.state.final:
            return status
        try:
            conditions = spooler.printer_status(queue).conditions
        except SpoolerError as exc:
            log.warning("printer status of %s unavailable: %s", queue, exc)
            conditions = reported
        if conditions != reported:
            reported = conditions
            progress(
                "waiting:" + ",".join(sorted(c.value for c in conditions))
                if conditions
                else "printing"
            )
            if conditions:
                log.warning(
                    "job %d on %s waits: %s", job_id, queue, sorted(c.value for c in conditions)
                )
        now = clock()
        if Condition.OFFLINE in conditions:
            offline_since = now if offline_since is None else offline_since
        else:
            offline_since = None
        gone = (
            offline_grace is not None
            and offline_since is not None
            and now - offline_since >= offline_grace
        )
        if now >= end or gone:
            try:
                spooler.cancel(job_id)
            except SpoolerError as exc:
                log.error("could not cancel job %d: %s", job_id, exc)
            what = f"printer stopped answering for {offline_grace:.0f} s" if gone else ""
            raise JobDeadline(job_id, deadline, reported, what)
        sleep(poll)


def wait_final(spooler: Spooler, job_id: int, timeout: float, poll: float = 0.1) -> JobState:
    """After a cancel: wait (bounded) until the job reaches a final state."""
    end = time.monotonic() + timeout
    state = spooler.status(job_id).state
    while not state.final and time.monotonic() < end:
        time.sleep(poll)
        state = spooler.status(job_id).state
    return state
