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
