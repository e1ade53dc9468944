"""In-process spooler: jobs complete at once and their PDFs stay in memory (unit tests).

``keep_documents``: only the newest so many jobs keep their PDF (older ones keep their
state, the paper has left the printer), so a long simulated run does not grow."""

from __future__ import annotations

import threading

from printing.ipp import JobList, PrinterJob
from printing.spooler import (
    JobState,
    JobStatus,
    JobUnknown,
    PrinterState,
    PrinterStatus,
    QueueMissing,
    SpoolerError,
    conditions_from_reasons,
)


class SimSpooler:
    def __init__(
        self, queues: tuple[str, ...] = ("adm-a4", "adm-card"), keep_documents: int | None = None
    ) -> None:
        self.queues = set(queues)
        self.keep_documents = keep_documents
        self.jobs: dict[int, tuple[str, bytes, JobState]] = {}
        self.titles: dict[int, str] = {}
        self.final_state = JobState.COMPLETED  # what the next job ends in
        self.reasons: dict[str, tuple[str, ...]] = {}  # queue -> printer-state-reasons
        # The printer's own memory of jobs, apart from the spooler's history: a job the
        # spooler "forgot" stays here; None = the printer cannot be asked.
        self.printer_memory: dict[int, tuple[str, str, JobState]] | None = {}
        self.forgotten: set[int] = set()
        self._lock = threading.Lock()

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def submit(self, queue: str, pdf: bytes, title: str) -> int:
        with self._lock:
            if queue not in self.queues:
                raise QueueMissing(f"print queue {queue!r} does not exist")
            job_id = len(self.jobs) + 1
            self.jobs[job_id] = (queue, pdf, self.final_state)
            self.titles[job_id] = title
            if self.printer_memory is not None:
                self.printer_memory[job_id] = (queue, title, self.final_state)
            if self.keep_documents is not None and job_id > self.keep_documents:
                old = job_id - self.keep_documents
                q, _pdf, state = self.jobs[old]
                self.jobs[old] = (q, b"", state)
            return job_id

    def forget(self, job_id: int) -> None:
        """The spooler loses ``job_id`` (history pruned, spool lost); the printer does not."""
        with self._lock:
            self.forgotten.add(job_id)

    def find_job(self, marker: str) -> int | None:
        with self._lock:
            found = [
                j for j, title in self.titles.items() if marker in title and j not in self.forgotten
            ]
            return max(found) if found else None

    def status(self, job_id: int) -> JobStatus:
        with self._lock:
            if job_id not in self.jobs or job_id in self.forgotten:
                raise JobUnknown(f"no job {job_id}")
            return JobStatus(self.jobs[job_id][2], (), self.titles[job_id])

    def printer_jobs(self, queue: str) -> JobList | None:
        with self._lock:
            if self.printer_memory is None:
                return None
            jobs = tuple(
                PrinterJob(j, title, int(state), None)
                for j, (q, title, state) in self.printer_memory.items()
                if q == queue
            )
            return JobList(jobs, up_time=10**6)

    def cancel_at_printer(self, queue: str, printer_job: int) -> None:
        with self._lock:
            if self.printer_memory is None or printer_job not in self.printer_memory:
                raise SpoolerError(f"printer has no job {printer_job}")
            q, title, _ = self.printer_memory[printer_job]
            self.printer_memory[printer_job] = (q, title, JobState.CANCELED)

    def cancel(self, job_id: int) -> None:
        with self._lock:
            queue, pdf, _ = self.jobs[job_id]
            self.jobs[job_id] = (queue, pdf, JobState.CANCELED)

    def printer_status(self, queue: str) -> PrinterStatus:
        if queue not in self.queues:
            raise QueueMissing(f"print queue {queue!r} does not exist")
        reasons = self.reasons.get(queue, ())
        return PrinterStatus(
            queue, PrinterState.IDLE, True, conditions_from_reasons(reasons), reasons
        )
