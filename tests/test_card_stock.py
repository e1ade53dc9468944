"""Blank-card accounting: serial ranges, and every blank ending consumed or spoiled
through the print service (real server over HTTP, in-process spooler)."""

from __future__ import annotations

import pytest

from kiosk.print_service import PrintFailed, PrintService
from kiosk.server_client import ServerClient
from printing.card_stock import (
    CardOutcome,
    CardStock,
    CardStockEmpty,
    MemoryCardLedger,
    serial_range,
)
from printing.sim_spooler import SimSpooler
from printing.spooler import JobState
from server.embedded import EmbeddedServer
from sim.population import DEMO_NIK


def test_serial_range() -> None:
    assert serial_range("KTP26A0098", "KTP26A0101") == [
        "KTP26A0098",
        "KTP26A0099",
        "KTP26A0100",
        "KTP26A0101",
    ]
    for bad in (("A001", "B002"), ("A10", "A009"), ("A002", "A001"), ("", "A1")):
        with pytest.raises(ValueError):
            serial_range(*bad)


def test_stock_hands_out_in_feed_order_and_refuses_reloads() -> None:
    stock = CardStock(MemoryCardLedger())
    assert stock.load("C001", "C003") == 3
    with pytest.raises(ValueError, match="already loaded"):
        stock.load("C003", "C004")
    first = stock.take("job-1")
    assert first == "C001"
    stock.put_back(first)
    assert stock.take("job-2") == "C001" and stock.remaining == 2


@pytest.fixture
def card_doc(server: EmbeddedServer) -> tuple[ServerClient, int]:
    client = ServerClient(server.url, "kiosk-test")
    doc = next(d for d in client.list_documents(DEMO_NIK) if d["kind"] == "ktp_el")
    return client, doc["id"]


def service(client: ServerClient, spooler: SimSpooler, stock: CardStock) -> PrintService:
    return PrintService(client, spooler, poll=0.001, card_stock=stock)


def test_printed_card_is_consumed(card_doc: tuple[ServerClient, int]) -> None:
    client, doc_id = card_doc
    ledger = MemoryCardLedger()
    stock = CardStock(ledger)
    stock.load("KTP2611A000001", "KTP2611A000002")
    result = service(client, SimSpooler(), stock).print_document(doc_id)
    assert result.card_serial == "KTP2611A000001" and result.queue == "adm-card"
    (rec,) = ledger.records
    assert (rec.serial, rec.outcome, rec.job_id) == (
        "KTP2611A000001",
        CardOutcome.CONSUMED,
        result.job_id,
    )


def test_failed_card_job_is_spoiled_not_returned(card_doc: tuple[ServerClient, int]) -> None:
    """GIVEN a card job the printer aborts THEN its blank is recorded spoiled (it may have
    been fed) and the next job takes the next serial; the entitlement stays printable."""
    client, doc_id = card_doc
    ledger = MemoryCardLedger()
    stock = CardStock(ledger)
    stock.load("KTP2611A000001", "KTP2611A000002")
    spooler = SimSpooler()
    spooler.final_state = JobState.ABORTED
    with pytest.raises(PrintFailed, match="aborted"):
        service(client, spooler, stock).print_document(doc_id)
    (rec,) = ledger.records
    assert (rec.serial, rec.outcome) == ("KTP2611A000001", CardOutcome.SPOILED)
    assert "aborted" in rec.reason
    assert stock.remaining == 1
    assert doc_id in [d["id"] for d in client.list_documents(DEMO_NIK)]


def test_card_job_that_never_reached_the_printer_returns_the_blank(
    card_doc: tuple[ServerClient, int],
) -> None:
    client, doc_id = card_doc
    ledger = MemoryCardLedger()
    stock = CardStock(ledger)
    stock.load("KTP2611A000001", "KTP2611A000001")
    no_card_queue = SimSpooler(queues=("adm-a4",))
    with pytest.raises(Exception, match="adm-card"):
        service(client, no_card_queue, stock).print_document(doc_id)
    assert ledger.records == [] and stock.remaining == 1


def test_empty_hopper_refuses_before_printing(card_doc: tuple[ServerClient, int]) -> None:
    client, doc_id = card_doc
    spooler = SimSpooler()
    with pytest.raises(PrintFailed, match="no blank cards"):
        service(client, spooler, CardStock(MemoryCardLedger())).print_document(doc_id)
    assert spooler.jobs == {}
    with pytest.raises(CardStockEmpty):
        CardStock(MemoryCardLedger()).take("j")


def test_reloading_after_a_restart_skips_blanks_already_in_the_ledger(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """GIVEN a kiosk that used two blanks WHEN it restarts with the same configured range
    THEN the hopper starts at the third serial (the ledger refuses a serial twice)."""
    from kiosk.store import KioskStore

    store = KioskStore(tmp_path / "kiosk.db")
    stock = CardStock(store)
    stock.load("C001", "C005")
    for _ in range(2):
        stock.settle(stock.take("j"), CardOutcome.CONSUMED, "KTP-1")
    store.close()
    store = KioskStore(tmp_path / "kiosk.db")
    restarted = CardStock(store)
    assert restarted.load("C001", "C005", {r.serial for r in store.records}) == 3
    assert restarted.take("j2") == "C003"
