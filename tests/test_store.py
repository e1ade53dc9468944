"""The kiosk store's card ledger: durable, one record per blank, clear errors."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.store import KioskStore, StoreError
from printing.card_stock import CardOutcome, CardRecord


def rec(serial: str, outcome: CardOutcome = CardOutcome.CONSUMED) -> CardRecord:
    return CardRecord(serial, outcome, "job-" + serial, "KTP-3271-20261102-000481")


def test_records_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    store = KioskStore(path)
    store.record(rec("KTP2611A000001"))
    store.record(rec("KTP2611A000002", CardOutcome.SPOILED))
    store.close()
    again = KioskStore(path)
    assert [(r.serial, r.outcome) for r in again.records] == [
        ("KTP2611A000001", CardOutcome.CONSUMED),
        ("KTP2611A000002", CardOutcome.SPOILED),
    ]


def test_store_is_wal_with_full_sync(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    KioskStore(path).record(rec("S1"))
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_blank_is_recorded_once(tmp_path: Path) -> None:
    store = KioskStore(tmp_path / "kiosk.db")
    store.record(rec("S1"))
    with pytest.raises(StoreError, match="already in the ledger"):
        store.record(rec("S1", CardOutcome.SPOILED))
    assert len(store.records) == 1


def test_unusable_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(StoreError, match="kiosk store"):
        KioskStore(blocker / "kiosk.db")


def test_corrupt_store_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError):
        KioskStore(path)


def audited(tmp_path: Path) -> KioskStore:
    store = KioskStore(tmp_path / "kiosk.db")
    store.audit("session_started")
    store.audit("card_read", nik="3201011203800001")
    store.audit("session_error", message="NIK 3201011203800001 tidak dikenal")
    store.audit("session_ended", after="error")
    store.flush()
    return store


def test_audit_masks_niks_wherever_they_appear(tmp_path: Path) -> None:
    events = audited(tmp_path).audit_events()
    assert [e[2] for e in events] == [
        "session_started",
        "card_read",
        "session_error",
        "session_ended",
    ]
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("kiosk.db*"))  # db and WAL
    assert b"card_read" in on_disk and b"3201********0001" in on_disk
    assert b"3201011203800001" not in on_disk
    assert events[1][3] == {"nik": "3201********0001"}


def test_intact_chain_verifies(tmp_path: Path) -> None:
    report = audited(tmp_path).verify_audit()
    assert report.ok and report.rows == 4


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        ('UPDATE audit_log SET detail = \'{"after": "done"}\' WHERE id = 4', "row 4 was altered"),
        ("DELETE FROM audit_log WHERE id = 2", "row 2 is missing"),
        ("UPDATE audit_log SET kind = 'x' WHERE id = 1", "row 1 was altered"),
    ],
)
def test_edited_or_deleted_rows_are_detected(tmp_path: Path, tamper: str, problem: str) -> None:
    store = audited(tmp_path)
    store.close()
    with sqlite3.connect(tmp_path / "kiosk.db") as db:
        db.execute(tamper)
    report = KioskStore(tmp_path / "kiosk.db").verify_audit()
    assert not report.ok and report.problem == problem


def test_rehashed_forgery_is_detected_by_the_next_row(tmp_path: Path) -> None:
    """An edit that also recomputes its own hash still breaks the link to the next row."""
    from kiosk.store import chain_hash

    store = audited(tmp_path)
    store.close()
    with sqlite3.connect(tmp_path / "kiosk.db") as db:
        rid, at, kind, prev = db.execute(
            "SELECT id, at, kind, prev FROM audit_log WHERE id = 2"
        ).fetchone()
        detail = '{"nik": "9999********9999"}'
        db.execute(
            "UPDATE audit_log SET detail = ?, hash = ? WHERE id = 2",
            (detail, chain_hash(prev, rid, at, kind, detail)),
        )
    report = KioskStore(tmp_path / "kiosk.db").verify_audit()
    assert not report.ok and report.problem == "row 3 does not follow row 2"


def test_audit_verify_command(tmp_path: Path) -> None:
    import subprocess
    import sys

    audited(tmp_path).close()
    cmd = [
        sys.executable,
        "-m",
        "cli.kiosk",
        "audit",
        "verify",
        "--store",
        str(tmp_path / "kiosk.db"),
    ]
    ok = subprocess.run(cmd, capture_output=True, text=True)
    assert ok.returncode == 0 and "4 events" in ok.stdout
    with sqlite3.connect(tmp_path / "kiosk.db") as db:
        db.execute("DELETE FROM audit_log WHERE id = 3")
    bad = subprocess.run(cmd, capture_output=True, text=True)
    assert bad.returncode == 1 and "row 3 is missing" in bad.stderr


def fill_up(store: KioskStore) -> None:
    """Make the store's disk "full": SQLite refuses to grow the file past its current size
    (SQLITE_FULL, the error a full disk gives)."""
    from sqlalchemy import event

    event.listen(
        store._engine, "connect", lambda conn, _rec: conn.execute("PRAGMA max_page_count = 1")
    )
    store._engine.dispose()


def test_disk_full_while_recording_a_job_is_clear_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    store = KioskStore(path)
    store.job_begin("job-1", 7, "KK-1", "Kartu Keluarga", "a4")
    fill_up(store)
    with pytest.raises(StoreError, match="full"):
        for i in range(1000):  # grows until the "disk" refuses
            store.job_begin(f"job-{i + 2}", 7, "KK-1", "Kartu Keluarga " + "x" * 60, "a4")
    store.close()
    again = KioskStore(path)
    assert again.job("job-1") is not None and again.job("job-1").state == "reserving"  # type: ignore[union-attr]


def test_a_full_store_refuses_the_reservation_before_the_server_is_asked(
    tmp_path: Path,
) -> None:
    """Narrow unit test: the server is a recorder, the point is the order of the steps."""
    from kiosk.print_service import PrintService
    from printing.sim_spooler import SimSpooler

    class Recorder:
        def __init__(self) -> None:
            self.calls: list[str] = []

        def reserve(self, *args: object) -> None:
            self.calls.append("reserve")

    store = KioskStore(tmp_path / "kiosk.db")
    fill_up(store)
    server = Recorder()
    service = PrintService(server, SimSpooler(), store=store)  # type: ignore[arg-type]
    doc = {"id": 7, "number": "KK-1", "title": "Kartu Keluarga " + "x" * 60, "medium": "a4"}
    with pytest.raises(StoreError):
        for _ in range(1000):
            service.reserve("session", doc, "12345678")
            server.calls.clear()  # this one fitted; try the next
    assert server.calls == []


def test_missing_store_is_created_with_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "kiosk.db"
    store = KioskStore(path)
    store.job_begin("j", 1, "N", "T", "a4")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0002"
    store.close()


def test_a_store_from_before_migrations_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    with sqlite3.connect(path) as db:  # the tables an older kiosk created by itself
        db.execute(
            "CREATE TABLE card_ledger (id INTEGER PRIMARY KEY, serial VARCHAR(40) UNIQUE,"
            " outcome VARCHAR(16), job_id VARCHAR(64), document VARCHAR(80),"
            " reason VARCHAR(400), at DATETIME)"
        )
        db.execute(
            "CREATE TABLE audit_log (id INTEGER PRIMARY KEY, at VARCHAR(40), kind VARCHAR(40),"
            " detail TEXT, prev VARCHAR(64), hash VARCHAR(64))"
        )
        db.execute(
            "INSERT INTO card_ledger VALUES (1, 'S1', 'consumed', 'j', 'KK', '', '2026-11-01')"
        )
    store = KioskStore(path)
    assert [r.serial for r in store.records] == ["S1"]
    store.job_begin("j2", 1, "N", "T", "a4")
    assert store.jobs()[0].job_id == "j2"
    store.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB filesystem (tmpfs) the test can fill or make read-only (root only)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a filesystem needs root")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_real_full_disk_while_recording_jobs(small_disk: Path) -> None:
    store = KioskStore(small_disk / "kiosk.db")
    store.job_begin("job-0", 7, "KK-1", "Kartu Keluarga", "a4")
    fd = os.open(small_disk / "ballast", os.O_WRONLY | os.O_CREAT)
    try:  # fill what the database does not use yet
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    with pytest.raises(StoreError, match="full"):
        for i in range(10000):
            store.job_begin(f"job-{i + 1}", 7, "KK-1", "Kartu Keluarga " + "x" * 60, "a4")
    (small_disk / "ballast").unlink()
    store.close()
    again = KioskStore(small_disk / "kiosk.db")
    assert again.job("job-0") is not None
    again.job_begin("after", 7, "KK-1", "Kartu Keluarga", "a4")  # usable again
    again.close()


def test_a_read_only_store_is_a_clear_error(small_disk: Path) -> None:
    store = KioskStore(small_disk / "kiosk.db")
    store.job_begin("job-0", 7, "KK-1", "Kartu Keluarga", "a4")
    store.close()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        with pytest.raises(StoreError, match="kiosk"):
            ro = KioskStore(small_disk / "kiosk.db")
            ro.job_begin("job-1", 7, "KK-1", "Kartu Keluarga", "a4")
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    again = KioskStore(small_disk / "kiosk.db")
    assert [j.job_id for j in again.jobs()] == ["job-0"]
    again.close()


def test_the_schema_head_is_alembics_and_a_current_store_skips_the_migrations(
    tmp_path: Path,
) -> None:
    """``SCHEMA_HEAD`` names Alembic's newest revision (a new migration must move it),
    and opening a store already there does not import Alembic (a start-up cost)."""
    import subprocess
    import sys

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from kiosk.store import MIGRATIONS, SCHEMA_HEAD

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(cfg).get_heads() == [SCHEMA_HEAD]
    path = tmp_path / "kiosk.db"
    KioskStore(path).close()  # created and migrated
    probe = (
        "import sys; from pathlib import Path; from kiosk.store import KioskStore;"
        f"KioskStore(Path({str(path)!r})).close(); print('alembic' in sys.modules)"
    )
    again = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert again.stdout.split() == ["False"], again.stderr
    with sqlite3.connect(path) as db:  # an older store: migrated as before
        db.execute("UPDATE alembic_version SET version_num = '0001'")
        db.execute("DROP TABLE print_jobs")
        db.execute("DROP TABLE outbox")
    older = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert older.stdout.split() == ["True"], older.stderr
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchone()[0] == SCHEMA_HEAD
