"""Job tracking without CUPS: deadlines, waiting reasons, transient errors (fake clock)."""

from __future__ import annotations

import pytest

from printing.sim_spooler import SimSpooler
from printing.spooler import JobState, JobStatus, SpoolerError
from printing.tracking import JobDeadline, follow_job


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, dt: float) -> None:
        self.now += dt


class Stuck(SimSpooler):
    """A job that stays processing; status fails the first ``flaky`` times."""

    def __init__(self, flaky: int = 0) -> None:
        super().__init__()
        self.flaky = flaky
        self.canceled: list[int] = []

    def status(self, job_id: int) -> JobStatus:
        if self.flaky:
            self.flaky -= 1
            raise SpoolerError("lost connection to CUPS")
        if job_id in self.canceled:
            return JobStatus(JobState.CANCELED)
        return JobStatus(JobState.PROCESSING)

    def cancel(self, job_id: int) -> None:
        self.canceled.append(job_id)


def test_deadline_cancels_and_names_the_reason() -> None:
    clock = Clock()
    sp = Stuck()
    sp.reasons = {"adm-a4": ("media-empty-warning", "media-needed-warning")}
    job = sp.submit("adm-a4", b"%PDF", "t")
    steps: list[str] = []
    with pytest.raises(JobDeadline, match="media_empty") as err:
        follow_job(
            sp,
            "adm-a4",
            job,
            deadline=10,
            poll=1,
            progress=steps.append,
            clock=clock,
            sleep=clock.sleep,
        )
    assert sp.canceled == [job] and err.value.job_id == job
    assert steps == ["waiting:media_empty"]
    assert clock.now == 10


class Flaky(SimSpooler):
    """CUPS unreachable for the first ``failures`` state queries, then the job is done."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def status(self, job_id: int) -> JobStatus:
        if self.failures:
            self.failures -= 1
            raise SpoolerError("lost connection to CUPS")
        return super().status(job_id)


def test_transient_status_errors_are_retried() -> None:
    clock = Clock()
    sp = Flaky(failures=3)
    job = sp.submit("adm-a4", b"%PDF", "t")
    result = follow_job(sp, "adm-a4", job, deadline=10, poll=1, clock=clock, sleep=clock.sleep)
    assert result.state == JobState.COMPLETED and clock.now == 3
    assert len(sp.jobs) == 1  # tracking never submits again


def test_completed_job_returns_at_once() -> None:
    sp = SimSpooler()
    job = sp.submit("adm-a4", b"%PDF", "t")
    assert follow_job(sp, "adm-a4", job, deadline=1).state == JobState.COMPLETED


def test_the_print_deadline_follows_measured_print_times() -> None:
    """Until enough jobs are measured the configured deadline holds; then four times the
    slowest recent job, never below the floor nor above the ceiling, per medium."""
    from kiosk.print_service import PrintTimes

    times = PrintTimes(120.0, factor=4.0, floor=45.0, ceiling=300.0, window=5, minimum=3)
    assert times.deadline("a4") == 120.0
    for seconds in (8.0, 9.0):
        times.record("a4", seconds)
    assert times.deadline("a4") == 120.0  # two jobs are not a measurement yet
    times.record("a4", 12.5)
    assert times.deadline("a4") == 50.0  # 4 x 12.5: a dead laser is named in under a minute
    assert times.deadline("card") == 120.0  # the card printer is measured on its own
    for _ in range(5):
        times.record("a4", 1.0)
    assert times.deadline("a4") == 45.0  # the slow ones left the window; the floor holds
    for _ in range(3):
        times.record("card", 100.0)
    assert times.deadline("card") == 300.0
