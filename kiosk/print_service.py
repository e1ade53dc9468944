"""Print one approved document: fetch → render → spool → track → confirm.

Runs in a worker thread (it blocks on the server and the print system).  A job that is
not completed before its deadline is canceled, so a dead printer never hangs the kiosk.
The durable, crash-safe transaction with a local job store grows on this skeleton.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from kiosk import timeouts
from kiosk.server_client import ServerClient
from printing import renderers
from printing.spooler import JobState, Spooler
from printing.tracking import JobDeadline, follow_job

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


class PrintFailed(Exception):
    """The document did not come out; the entitlement was not consumed."""


class PrintService:
    def __init__(
        self,
        server: ServerClient,
        spooler: Spooler,
        *,
        deadline: float = timeouts.PRINT_JOB_DEADLINE,
        poll: float = timeouts.PRINT_POLL,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.server = server
        self.spooler = spooler
        self.deadline = deadline
        self.poll = poll
        self._clock = clock
        self._sleep = sleep

    def print_document(
        self, doc_id: int, progress: Callable[[str], None] = lambda _msg: None
    ) -> PrintResult:
        payload = self.server.get_document(doc_id)
        title = str(payload.get("title", "Dokumen"))
        medium = str(payload.get("medium", ""))
        queue = renderers.QUEUE_FOR_MEDIUM.get(medium)
        if queue is None:
            raise PrintFailed(f"unknown medium {medium!r} for document {doc_id}")
        progress("render")
        pdf = renderers.render(payload)
        job_id = str(uuid.uuid4())
        progress("spool")
        cups_job = self.spooler.submit(queue, pdf, f"{title} {payload.get('number', '')}")
        log.info("document %d spooled as %s job %d (kiosk job %s)", doc_id, queue, cups_job, job_id)
        progress("printing")
        try:
            status = follow_job(
                self.spooler,
                queue,
                cups_job,
                deadline=self.deadline,
                poll=self.poll,
                progress=progress,
                clock=self._clock,
                sleep=self._sleep,
            )
        except JobDeadline as exc:
            raise PrintFailed(str(exc)) from exc
        if status.state != JobState.COMPLETED:
            raise PrintFailed(
                f"print job {cups_job} ended {status.state.name.lower()} "
                f"({', '.join(status.reasons) or 'no reason given'})"
            )
        progress("confirm")
        self.server.confirm(doc_id, job_id)
        return PrintResult(
            doc_id=doc_id,
            title=title,
            number=str(payload.get("number", "")),
            job_id=job_id,
            queue=queue,
            cups_job=cups_job,
            pdf_bytes=len(pdf),
        )
