"""In-process spooler: jobs complete at once and their PDFs stay in memory (unit tests).

``keep_documents``: only the newest so many jobs keep their PDF (older ones keep their
state, the paper has left the printer), so a long simulated run does not grow."""

from __future__ import annotations

import threading

from printing.spooler import (
    JobState,
    JobStatus,
    PrinterState,
    PrinterStatus,
    QueueMissing,
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
            if self.keep_documents is not None and job_id > self.keep_documents:
                old = job_id - self.keep_documents
                q, _pdf, state = self.jobs[old]
                self.jobs[old] = (q, b"", state)
            return job_id

    def find_job(self, marker: str) -> int | None:
        with self._lock:
            found = [j for j, title in self.titles.items() if marker in title]
            return max(found) if found else None

    def status(self, job_id: int) -> JobStatus:
        with self._lock:
            return JobStatus(self.jobs[job_id][2])

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
