"""A print job CUPS has forgotten (kiosk.lost_jobs, issue: reliability at fleet scale).

The rule: CUPS knows it → followed; the printer lists it → its state decides; the
printer's list spans the job's whole life without it → never printed; otherwise nobody
can tell → held for the office at the server (neither confirmed nor offered again),
until a supervisor decides.

Here: the rule on the in-process spooler (while printing), the server's ``hold`` and the
office's decision over HTTPS.  With a real cupsd and ippeveprinter (a private print
stack on ports of its own): the history purged after the page came out, the spool lost
before the printer had it, the printer down as well, and the printer still holding the
job when CUPS lost it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from kiosk.lost_jobs import _absent, ask_printer
from kiosk.print_service import PrintFailed, PrintHeld, PrintService
from kiosk.server_client import ServerClient, ServerRefused
from kiosk.store import KioskStore
from printing.ipp import JobList, PrinterJob
from printing.sim_spooler import SimSpooler
from printing.spooler import JobState
from server import officer
from server.db import Document, Reservation, make_engine, session_factory
from sim.embedded import EmbeddedServer
from sim.population import DEMO_NIK
from sim.rig import Rig
from sim.seed import card_assertion, demo_code
from tests.conftest import kiosk_client, wait_for

CARD = card_assertion(1.0)


class LosingSpooler(SimSpooler):
    """CUPS restarted without its spool right after taking each job: it knows none."""

    def submit(self, queue: str, pdf: bytes, title: str) -> int:
        job = super().submit(queue, pdf, title)
        self.forget(job)
        return job


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# --- the rule ---------------------------------------------------------------------------


def test_absent_from_a_list_that_spans_the_job_means_never_received() -> None:
    verdict = _absent(up_time=3600, made_at=_now() - dt.timedelta(seconds=5), memory=60)
    assert (verdict.outcome, verdict.reached) == ("not_printed", False)


@pytest.mark.parametrize(
    ("up_time", "age", "memory", "because"),
    [
        (3, 30, 60, "restarted"),  # the printer's memory began after the job
        (3600, 90, 60, "keeps finished jobs 60 s"),  # a finished job may be forgotten
        (3600, 5, 0, "keeps finished jobs 0 s"),  # the model's memory is not known
        (None, 5, 60, "does not say how far back"),
    ],
)
def test_absent_proves_nothing_beyond_the_printers_memory(
    up_time: int | None, age: float, memory: float, because: str
) -> None:
    verdict = _absent(up_time, _now() - dt.timedelta(seconds=age), memory)
    assert verdict.outcome == "unknown"
    assert because in verdict.why


def test_the_printers_state_decides() -> None:
    spooler = SimSpooler()
    made = _now()
    assert spooler.printer_memory is not None
    spooler.printer_memory[7] = ("adm-a4", "kk [job-a]", JobState.COMPLETED)
    spooler.printer_memory[8] = ("adm-a4", "kk [job-b]", JobState.ABORTED)
    a = ask_printer(spooler, "adm-a4", "[job-a]", made, memory=60, deadline=5)
    b = ask_printer(spooler, "adm-a4", "[job-b]", made, memory=60, deadline=5)
    assert a.outcome == "printed" and "job 7" in a.why
    assert b.outcome == "not_printed" and b.reached
    spooler.printer_memory = None
    c = ask_printer(spooler, "adm-a4", "[job-a]", made, memory=60, deadline=5)
    assert c.outcome == "unknown"


def test_a_job_still_at_the_printer_is_canceled_there_at_the_deadline() -> None:
    spooler = SimSpooler()
    assert spooler.printer_memory is not None
    spooler.printer_memory[3] = ("adm-a4", "kk [job-c]", JobState.PROCESSING)
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    verdict = ask_printer(
        spooler,
        "adm-a4",
        "[job-c]",
        _now(),
        memory=60,
        deadline=10,
        clock=lambda: clock[0],
        sleep=sleep,
    )
    assert verdict.outcome == "not_printed" and "canceled by the kiosk" in verdict.why
    assert spooler.printer_memory[3][2] == JobState.CANCELED
    assert clock[0] >= 10


# --- while printing: CUPS loses the job under the kiosk ----------------------------------


def _service(server: EmbeddedServer, tmp: Path, spooler: SimSpooler) -> PrintService:
    return PrintService(
        kiosk_client(server), spooler, store=KioskStore(tmp / "kiosk.db"), job_memory=60
    )


def _reserve(service: PrintService, client: ServerClient, kind: str = "kartu_keluarga") -> Any:
    session = client.open_session("ektp", nik=DEMO_NIK, card=CARD)["session"]
    doc = next(d for d in client.list_documents(session) if d["kind"] == kind)
    return service.reserve(session, doc, demo_code(doc["number"]))


def _offered(server: EmbeddedServer, kind: str = "kartu_keluarga") -> bool:
    client = kiosk_client(server)
    session = client.open_session("ektp", nik=DEMO_NIK, card=CARD)["session"]
    return kind in [d["kind"] for d in client.list_documents(session)]


def test_lost_by_cups_but_completed_at_the_printer_is_confirmed(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    spooler = LosingSpooler()
    service = _service(server, tmp_path, spooler)
    res = _reserve(service, kiosk_client(server))
    service.print_reserved(res)
    assert kiosk_client(server).reservation(res.job_id)["state"] == "confirmed"
    assert not _offered(server)


def test_lost_by_cups_and_never_at_the_printer_is_released(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    spooler = LosingSpooler()
    spooler.printer_memory = {}
    service = _service(server, tmp_path, spooler)
    res = _reserve(service, kiosk_client(server))
    original = spooler.submit

    def vanish(queue: str, pdf: bytes, title: str) -> int:
        job = original(queue, pdf, title)
        assert spooler.printer_memory is not None
        spooler.printer_memory.pop(job)  # lost before the printer had it
        return job

    spooler.submit = vanish  # type: ignore[method-assign]
    with pytest.raises(PrintFailed) as failed:
        service.print_reserved(res)
    assert not isinstance(failed.value, PrintHeld)
    assert kiosk_client(server).reservation(res.job_id)["state"] == "released"
    assert _offered(server)


def test_nobody_can_tell_holds_it_for_the_office(server: EmbeddedServer, tmp_path: Path) -> None:
    spooler = LosingSpooler()
    spooler.printer_memory = None  # the printer cannot be asked
    service = _service(server, tmp_path, spooler)
    res = _reserve(service, kiosk_client(server))
    with pytest.raises(PrintHeld, match="unknown whether printed"):
        service.print_reserved(res)
    assert service.store is not None
    job = service.store.job(res.job_id)
    assert job is not None and job.state == "held"
    assert kiosk_client(server).reservation(res.job_id)["state"] == "held"
    assert not _offered(server)  # neither printed nor offered again
    # The session's end does not release it, and a late release is refused as held.
    service.release(res, "session ended")
    assert kiosk_client(server).reservation(res.job_id)["state"] == "held"
    with pytest.raises(ServerRefused) as refused:
        kiosk_client(server).release(res.job_id, "late")
    assert (refused.value.status, refused.value.code) == (409, "held")
    # The office looks at the printer: not printed → offered again, with the same code.
    engine = make_engine(server.database_url)
    try:
        with session_factory(engine)() as db:
            assert [r.job_id for r in officer.held(db)] == [res.job_id]
            done = officer.resolve_hold(db, res.job_id, printed=False, officer="test")
            assert done.state == "released"
    finally:
        engine.dispose()
    assert _offered(server)
    again = _reserve(_service(server, tmp_path / "again", SimSpooler()), kiosk_client(server))
    assert again.job_id != res.job_id


# --- the server's side ---------------------------------------------------------------------


def test_hold_answers_the_same_when_repeated_and_refuses_other_settlements(
    any_server: EmbeddedServer,
) -> None:
    server = any_server  # SQLite and PostgreSQL
    client = kiosk_client(server)
    service = PrintService(client, SimSpooler())
    res = _reserve(service, client)
    assert client.hold(res.job_id, "unknown whether printed")["state"] == "held"
    assert client.hold(res.job_id, "again")["state"] == "held"
    with pytest.raises(ServerRefused) as refused:
        client.confirm(res.job_id)
    assert (refused.value.status, refused.value.code) == (409, "held")
    with pytest.raises(ServerRefused) as refused:
        kiosk_client(server, "kiosk-other").hold(res.job_id, "not mine")
    assert (refused.value.status, refused.value.code) == (404, "no_reservation")


def test_a_held_document_survives_its_lease(any_server: EmbeddedServer) -> None:
    """A lease that ended would offer the document again: a held one has none."""
    server = any_server  # SQLite and PostgreSQL
    client = kiosk_client(server)
    res = _reserve(PrintService(client, SimSpooler()), client)
    engine = make_engine(server.database_url)
    try:
        with session_factory(engine)() as db:  # the lease ends
            db.execute(
                update(Document)
                .where(Document.id == res.document_id)
                .values(reserved_until=_now() - dt.timedelta(minutes=1))
            )
            db.commit()
        assert _offered(server)  # a lapsed lease: offered again (as before)
        client.hold(res.job_id, "unknown whether printed")
        assert not _offered(server)
        with session_factory(engine)() as db:
            doc = db.get(Document, res.document_id)
            assert doc is not None and doc.status == "reserved" and doc.reserved_until is None
            # An officer's reprint or revocation waits for the decision.
            with pytest.raises(officer.OfficerError, match="held for the office"):
                officer.revoke(db, doc.number, reason="test revocation", officer="test")
            db.rollback()
            officer.resolve_hold(db, doc.number, printed=True, officer="test")
            state = db.scalar(select(Reservation.state).where(Reservation.job_id == res.job_id))
            db.refresh(doc)
            assert (state, doc.status, doc.printed_kiosk) == ("confirmed", "printed", "kiosk-test")
            with pytest.raises(officer.OfficerError, match="no print job held"):
                officer.resolve_hold(db, doc.number, printed=False, officer="test")
    finally:
        engine.dispose()
    assert not _offered(server)


# --- a real cupsd and ippeveprinter that forget -------------------------------------------

QUEUE = {"kartu_keluarga": "adm-a4", "ktp_el": "adm-card"}


@pytest.fixture(scope="module")
def stack() -> Iterator[Rig]:
    """A print stack of the module's own (cupsd and both printers on ports 100 up), so
    that killing its cupsd and wiping its spool touches nothing else.  Not under pytest's
    private temporary folder: CUPS's filters run as ``lp`` and must read the stack."""
    folder = Path(tempfile.mkdtemp(prefix="adm-stack-"))
    folder.chmod(0o755)
    rig = Rig(folder, port_offset=100)
    rig.up_printing()
    # Written out now: a cupsd killed later must find its queues again.
    rig._stop("cupsd")
    rig.start_cupsd()
    yield rig
    rig.down()
    shutil.rmtree(folder, ignore_errors=True)


def _config(tmp: Path, stack: Rig, server: EmbeddedServer) -> Path:
    from tests.test_crash import kiosk_config

    return kiosk_config(tmp, stack, server)


def _kiosk(config: Path, *args: str, crash_at: str | None = None) -> dict[str, Any] | None:
    from tests.test_crash import run_kiosk

    return run_kiosk(config, *args, crash_at=crash_at)


def _job(tmp: Path) -> Any:
    store = KioskStore(tmp / "kiosk.db")
    try:
        (job,) = store.jobs(states=("spooled", "confirmed", "released", "held", "holding"))
        return job, store.records
    finally:
        store.close()


def _printer_job(stack: Rig, queue: str, marker: str) -> PrinterJob | None:
    from printing.ipp import Printer

    uri = f"ipp://localhost:{stack.printer(queue).port}/ipp/print"
    listing: JobList = Printer(uri).jobs()
    return listing.find(marker)


def _cups_knows(stack: Rig, marker: str) -> bool:
    from printing.cups_spooler import CupsSpooler

    spooler = CupsSpooler(str(stack.cups_socket))
    try:
        return spooler.find_job(marker) is not None
    finally:
        spooler.close()


def _cups_completed(stack: Rig, marker: str) -> bool:
    from printing.cups_spooler import CupsSpooler

    spooler = CupsSpooler(str(stack.cups_socket))
    try:
        job = spooler.find_job(marker)
        return job is not None and spooler.status(job).state == JobState.COMPLETED
    finally:
        spooler.close()


def _lose_spool(stack: Rig) -> None:
    """A power cut to the spooler: cupsd dies before its job files reach the disk."""
    stack.stop_cupsd()
    for path in (stack.cups_dir / "spool").iterdir():
        if path.is_file():
            path.unlink()
    (stack.cups_dir / "cache" / "job.cache").unlink(missing_ok=True)
    stack.start_cupsd()


def _lp(stack: Rig, *argv: str) -> None:
    done = stack._lp(*argv)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("kind", ["kartu_keluarga", "ktp_el"])
def test_history_purged_after_the_page_came_out_is_confirmed(
    stack: Rig, server: EmbeddedServer, tmp_path: Path, kind: str
) -> None:
    config = _config(tmp_path, stack, server)
    since = time.time_ns()
    _kiosk(config, "print", kind, crash_at="spooled")
    job, _ = _job(tmp_path)
    marker = f"[{job.job_id}]"
    queue = QUEUE[kind]
    wait_for(
        lambda: (found := _printer_job(stack, queue, marker)) is not None and found.state == 9,
        "the printer completed the job",
    )
    wait_for(lambda: _cups_completed(stack, marker), "CUPS recorded it completed")
    _lp(stack, "cancel", "-a", "-x", queue)  # CUPS's history purged
    assert not _cups_knows(stack, marker)
    report = _kiosk(config, "restart")
    assert report is not None
    assert (report["confirmed"], report["released"], report["held"]) == ([job.job_id], [], [])
    job, records = _job(tmp_path)
    assert job.state == "confirmed"
    assert len([p for p in stack.printed_since(queue, since) if job.job_id in p.name]) == 1
    assert kiosk_client(server).reservation(job.job_id)["state"] == "confirmed"
    if kind == "ktp_el":
        assert [(r.serial, r.outcome.value) for r in records] == [(job.card_serial, "consumed")]


@pytest.mark.parametrize("kind", ["kartu_keluarga", "ktp_el"])
def test_spool_lost_before_the_printer_had_it_is_released(
    stack: Rig, server: EmbeddedServer, tmp_path: Path, kind: str
) -> None:
    config = _config(tmp_path, stack, server)
    queue = QUEUE[kind]
    since = time.time_ns()
    _lp(stack, "cupsdisable", queue)  # CUPS keeps the job: it never leaves for the printer
    try:
        _kiosk(config, "print", kind, crash_at="spooled")
        job, _ = _job(tmp_path)
        _lose_spool(stack)
    finally:
        _lp(stack, "cupsenable", queue)
    report = _kiosk(config, "restart")
    assert report is not None
    assert (report["released"], report["held"]) == ([job.job_id], [])
    job, records = _job(tmp_path)
    assert job.state == "released" and "never received" in job.error
    assert records == []  # no blank was fed: it is back in the hopper
    assert report["cards_left"] == 20
    assert kiosk_client(server).reservation(job.job_id)["state"] == "released"
    assert _offered(server, kind)
    assert _printer_job(stack, queue, f"[{job.job_id}]") is None
    assert [p for p in stack.printed_since(queue, since) if job.job_id in p.name] == []


def test_printer_down_too_holds_it_for_the_office(
    stack: Rig, server: EmbeddedServer, tmp_path: Path
) -> None:
    kind, queue = "ktp_el", "adm-card"
    config = _config(tmp_path, stack, server)
    _lp(stack, "cupsdisable", queue)
    try:
        _kiosk(config, "print", kind, crash_at="spooled")
        job, _ = _job(tmp_path)
        _lose_spool(stack)
    finally:
        _lp(stack, "cupsenable", queue)
    stack.stop_printer(queue)
    try:
        report = _kiosk(config, "restart")
    finally:
        stack.start_printer(queue)
    assert report is not None
    assert (report["confirmed"], report["released"], report["held"]) == ([], [], [job.job_id])
    job, records = _job(tmp_path)
    assert job.state == "held"
    assert [(r.serial, r.outcome.value) for r in records] == [(job.card_serial, "unknown")]
    assert kiosk_client(server).reservation(job.job_id)["state"] == "held"
    assert not _offered(server, kind)
    # A second start does not settle it again (the office has it).
    again = _kiosk(config, "restart")
    assert again is not None and again["held"] == [] and again["pending"] == 0
    engine = make_engine(server.database_url)
    try:
        with session_factory(engine)() as db:
            officer.resolve_hold(db, job.job_id, printed=False, officer="test")
    finally:
        engine.dispose()
    assert _offered(server, kind)


def test_a_job_the_printer_still_holds_is_followed_there(
    stack: Rig, server: EmbeddedServer, tmp_path: Path
) -> None:
    """CUPS lost the job after the printer took it (out of paper): the restarted kiosk
    follows it at the printer; the page comes out once the tray is filled, and is kept."""
    kind, queue = "kartu_keluarga", "adm-a4"
    config = _config(tmp_path, stack, server)
    since = time.time_ns()
    stack.set_paper(queue, 0)
    try:
        _kiosk(config, "print", kind, crash_at="spooled")
        job, _ = _job(tmp_path)
        marker = f"[{job.job_id}]"
        wait_for(lambda: _printer_job(stack, queue, marker) is not None, "the printer has it")
        _lose_spool(stack)
        assert not _cups_knows(stack, marker)
        env = {k: v for k, v in os.environ.items() if k != "ADM_CRASH_AT"}
        restart = subprocess.Popen(
            [sys.executable, "-m", "tests.crash_job", str(config), "restart"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert restart.stderr is not None
        for line in restart.stderr:  # the kiosk asks the printer: now fill the tray
            if "CUPS does not know it; asking the printer" in line:
                break
        else:
            pytest.fail("the restarted kiosk did not ask the printer")
    finally:
        stack.set_paper(queue, 250)
    out, err = restart.communicate(timeout=120)
    assert restart.returncode == 0, err[-1500:]
    report = json.loads(out.strip().splitlines()[-1])
    assert report["confirmed"] == [job.job_id]
    assert len([p for p in stack.printed_since(queue, since) if job.job_id in p.name]) == 1
    assert kiosk_client(server).reservation(job.job_id)["state"] == "confirmed"
