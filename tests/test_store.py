"""The kiosk store's card ledger: durable, one record per blank, clear errors."""

from __future__ import annotations

import sqlite3
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
        "kiosk.cli",
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
