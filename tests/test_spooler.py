"""The CUPS spooler against the private cupsd and the simulated IPP printers: completed
jobs, out of paper (the job waits, the kiosk sees why, a refill completes it), a printer
killed mid-job (deadline, cancel), a printer off at submit, a missing queue."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from printing.cups_spooler import CupsSpooler
from printing.renderers import render
from printing.spooler import (
    Condition,
    JobState,
    PrinterState,
    QueueMissing,
    conditions_from_reasons,
)
from printing.tracking import JobDeadline, follow_job, wait_final
from sim.documents import technician_test_page
from sim.rig import Rig
from tests.conftest import wait_for

pytestmark = pytest.mark.rig

QUEUE = "adm-card"  # the fault tests disturb this printer only; adm-a4 stays clean
PDF = render(technician_test_page())


@pytest.fixture
def spooler(rig: Rig) -> Iterator[CupsSpooler]:
    s = CupsSpooler(str(rig.cups_socket))
    s.open()
    yield s
    s.close()
    rig.start_printer(QUEUE)
    rig.set_paper(QUEUE, 250)


def test_reason_keywords_map_to_conditions() -> None:
    got = conditions_from_reasons(
        (
            "media-empty-warning",
            "media-needed-warning",
            "toner-low-report",
            "cover-open-error",
            "none",
            "cups-waiting-for-job-completed",
            "fuser-failure-error",
        )
    )
    assert got == {Condition.MEDIA_EMPTY, Condition.TONER_LOW, Condition.DOOR_OPEN, Condition.OTHER}


def test_an_empty_tray_is_seen_between_jobs_and_a_refill_too(
    spooler: CupsSpooler, rig: Rig
) -> None:
    """No job runs: CUPS has nothing to say about the tray, the printer is asked."""
    assert Condition.MEDIA_EMPTY not in spooler.printer_status(QUEUE).conditions
    rig.set_paper(QUEUE, 0)
    wait_for(
        lambda: Condition.MEDIA_EMPTY in spooler.printer_status(QUEUE).conditions,
        "the idle printer's empty tray",
        timeout=15,
    )
    rig.set_paper(QUEUE, 250)
    wait_for(
        lambda: Condition.MEDIA_EMPTY not in spooler.printer_status(QUEUE).conditions,
        "the refilled tray",
        timeout=15,
    )


def test_job_completes_and_printer_is_ready(spooler: CupsSpooler) -> None:
    job = spooler.submit(QUEUE, PDF, "test page")
    assert follow_job(spooler, QUEUE, job, deadline=60).state == JobState.COMPLETED
    status = spooler.printer_status(QUEUE)
    assert status.accepting and status.state in (PrinterState.IDLE, PrinterState.PROCESSING)


def test_missing_queue(spooler: CupsSpooler) -> None:
    with pytest.raises(QueueMissing):
        spooler.submit("adm-nonexistent", PDF, "x")
    with pytest.raises(QueueMissing):
        spooler.printer_status("adm-nonexistent")


def test_out_of_paper_waits_reports_and_completes_after_refill(
    rig: Rig, spooler: CupsSpooler
) -> None:
    """GIVEN an empty paper tray WHEN a job is sent THEN it waits, the kiosk sees
    MEDIA_EMPTY while it waits, and a refill lets it complete."""
    rig.set_paper(QUEUE, 0)
    job = spooler.submit(QUEUE, PDF, "needs paper")
    wait_for(
        lambda: Condition.MEDIA_EMPTY in spooler.printer_status(QUEUE).conditions,
        "the out-of-paper report",
    )
    assert spooler.status(job).state == JobState.PROCESSING
    assert not spooler.printer_status(QUEUE).ready
    steps: list[str] = []
    with pytest.raises(JobDeadline) as err:  # a short wait: still out of paper
        follow_job(spooler, QUEUE, job, deadline=0.5, progress=steps.append)
    assert Condition.MEDIA_EMPTY in err.value.conditions
    assert steps and steps[0].startswith("waiting:") and "media_empty" in steps[0]
    # that cancel ended the first job; a second one completes once paper is back
    assert wait_final(spooler, job, 30) == JobState.CANCELED
    job = spooler.submit(QUEUE, PDF, "after refill")
    wait_for(
        lambda: Condition.MEDIA_EMPTY in spooler.printer_status(QUEUE).conditions,
        "the second job to wait for paper",
    )
    rig.set_paper(QUEUE, 250)
    assert follow_job(spooler, QUEUE, job, deadline=60).state == JobState.COMPLETED


def test_printer_killed_mid_job_is_canceled_at_the_deadline(rig: Rig, spooler: CupsSpooler) -> None:
    rig.set_paper(QUEUE, 0)  # hold the job at the printer, then pull the plug
    job = spooler.submit(QUEUE, PDF, "dies mid-job")
    wait_for(
        lambda: Condition.MEDIA_EMPTY in spooler.printer_status(QUEUE).conditions,
        "the job to reach the printer",
    )
    assert rig.stop_printer(QUEUE)
    started = time.monotonic()
    steps: list[str] = []
    with pytest.raises(JobDeadline) as err:
        follow_job(spooler, QUEUE, job, deadline=3, progress=steps.append)
    assert time.monotonic() - started < 10
    # CUPS itself says nothing new about a printer that died: the kiosk asked the printer,
    # got no answer, and said so while waiting (not "printing…" to the deadline).
    assert Condition.OFFLINE in err.value.conditions
    assert any("offline" in step for step in steps), steps
    assert wait_final(spooler, job, 30) in (JobState.CANCELED, JobState.ABORTED)


def test_a_refilled_printer_is_offered_again_without_a_probe_job(
    rig: Rig, spooler: CupsSpooler
) -> None:
    """GIVEN a job that waited for paper and was canceled WHEN the tray is refilled THEN
    the queue is ready within a health-check period, although CUPS still keeps the
    last job's media-empty warning (no job is sent to find out)."""
    rig.set_paper(QUEUE, 0)
    job = spooler.submit(QUEUE, PDF, "waits for paper")
    wait_for(
        lambda: Condition.MEDIA_EMPTY in spooler.printer_status(QUEUE).conditions,
        "the out-of-paper report",
    )
    spooler.cancel(job)
    assert wait_final(spooler, job, 30) == JobState.CANCELED
    rig.set_paper(QUEUE, 250)
    seen: list[object] = []

    def ready() -> bool:
        status = spooler.printer_status(QUEUE)
        seen.append((status.state, sorted(c.value for c in status.conditions), status.reasons))
        return status.ready

    try:
        wait_for(ready, "the refilled printer", timeout=5)
    except AssertionError:
        raise AssertionError(f"not ready after the refill; states seen: {seen[-3:]}") from None
    status = spooler.printer_status(QUEUE)
    assert Condition.MEDIA_EMPTY not in status.conditions


def test_printer_off_at_submit_completes_when_it_returns(rig: Rig, spooler: CupsSpooler) -> None:
    assert rig.stop_printer(QUEUE)
    job = spooler.submit(QUEUE, PDF, "printer was off")
    assert not spooler.status(job).state.final
    rig.start_printer(QUEUE)
    rig.set_paper(QUEUE, 250)
    assert follow_job(spooler, QUEUE, job, deadline=90).state == JobState.COMPLETED


def test_supply_levels_and_toner_low_reach_the_kiosk(rig: Rig, spooler: CupsSpooler) -> None:
    """GIVEN the ribbon at 5 % WHEN the printer next prints THEN the kiosk reads the level
    and a low-supply condition; refilled, the condition clears."""
    try:
        rig.set_supply(QUEUE, 5)
        job = spooler.submit(QUEUE, PDF, "supply check")
        follow_job(spooler, QUEUE, job, deadline=60)
        wait_for(lambda: spooler.printer_status(QUEUE).supplies[:1] != (), "supply levels")
        status = spooler.printer_status(QUEUE)
        assert [(s.name, s.level, s.kind) for s in status.supplies] == [
            ("YMCKO Ribbon", 5, "ink-ribbon")
        ]
        assert Condition.TONER_LOW in status.conditions
        assert status.ready  # low is a warning, not a stop
    finally:
        rig.set_supply(QUEUE, 90)
    job = spooler.submit(QUEUE, PDF, "after refill")
    follow_job(spooler, QUEUE, job, deadline=60)
    wait_for(
        lambda: Condition.TONER_LOW not in spooler.printer_status(QUEUE).conditions,
        "the low-supply condition to clear",
    )
    assert spooler.printer_status(QUEUE).supplies[0].level == 90


def test_a_printer_gone_mid_job_is_given_up_after_the_grace_and_never_prints_it(
    rig: Rig, spooler: CupsSpooler
) -> None:
    """The kiosk releases the citizen after the grace, not the deadline, and the canceled
    job does not come out when the printer is back.  (The rig's printer keeps a document
    the moment it receives it, so the job is sent while the printer is already gone: CUPS
    holds it and keeps trying, as it does for a printer switched off.)"""
    since = time.time_ns()
    assert rig.stop_printer(QUEUE)
    job = spooler.submit(QUEUE, PDF, "gone mid-job")
    started = time.monotonic()
    with pytest.raises(JobDeadline) as err:
        follow_job(spooler, QUEUE, job, deadline=120, offline_grace=3)
    waited = time.monotonic() - started
    assert 3 <= waited < 20, waited  # the grace, not the 120 s deadline
    assert "stopped answering" in str(err.value) and Condition.OFFLINE in err.value.conditions
    assert wait_final(spooler, job, 30) == JobState.CANCELED
    rig.start_printer(QUEUE)
    rig.set_paper(QUEUE, 250)
    # The printer is back and prints: a later job comes out, the canceled one never.
    later = spooler.submit(QUEUE, PDF, "after the printer came back")
    assert follow_job(spooler, QUEUE, later, deadline=60).state == JobState.COMPLETED
    printed = rig.printed_since(QUEUE, since)
    assert len(printed) == 1, printed
