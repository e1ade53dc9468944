"""Blank-card accounting: serial ranges, and every blank ending consumed or spoiled
through the print service (real server over HTTP, in-process spooler)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from kiosk.print_service import PrintFailed, PrintService
from kiosk.server_client import Reservation, ServerClient
from printing.card_stock import (
    CardOutcome,
    CardStock,
    CardStockEmpty,
    MemoryCardLedger,
    serial_range,
)
from printing.sim_spooler import SimSpooler
from printing.spooler import JobState
from sim.embedded import EmbeddedServer
from sim.population import DEMO_NIK
from sim.seed import card_assertion, demo_code
from tests.conftest import kiosk_client


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


class CardDoc:
    """Budi's KTP-el at the test server, reserved afresh for each print."""

    def __init__(self, server: EmbeddedServer) -> None:
        self.client = kiosk_client(server)
        self.session = self.open()
        doc = next(d for d in self.client.list_documents(self.session) if d["kind"] == "ktp_el")
        self.id, self.number = int(doc["id"]), str(doc["number"])

    def open(self) -> str:
        card = card_assertion(1.0)
        return str(self.client.open_session("ektp", nik=DEMO_NIK, card=card)["session"])

    def reserve(self) -> Reservation:
        return self.client.reserve(self.session, str(uuid.uuid4()), self.id, demo_code(self.number))

    def offered(self) -> bool:
        return self.id in [d["id"] for d in self.client.list_documents(self.open())]


@pytest.fixture
def card_doc(server: EmbeddedServer) -> CardDoc:
    return CardDoc(server)


def service(client: ServerClient, spooler: SimSpooler, stock: CardStock) -> PrintService:
    return PrintService(client, spooler, poll=0.001, card_stock=stock)


def test_printed_card_is_consumed(card_doc: CardDoc) -> None:
    client = card_doc.client
    ledger = MemoryCardLedger()
    stock = CardStock(ledger)
    stock.load("KTP2611A000001", "KTP2611A000002")
    result = service(client, SimSpooler(), stock).print_reserved(card_doc.reserve())
    assert result.card_serial == "KTP2611A000001" and result.queue == "adm-card"
    (rec,) = ledger.records
    assert (rec.serial, rec.outcome, rec.job_id) == (
        "KTP2611A000001",
        CardOutcome.CONSUMED,
        result.job_id,
    )


def test_failed_card_job_is_spoiled_not_returned(card_doc: CardDoc) -> None:
    """GIVEN a card job the printer aborts THEN its blank is recorded spoiled (it may have
    been fed) and the next job takes the next serial; the entitlement stays printable."""
    client = card_doc.client
    ledger = MemoryCardLedger()
    stock = CardStock(ledger)
    stock.load("KTP2611A000001", "KTP2611A000002")
    spooler = SimSpooler()
    spooler.final_state = JobState.ABORTED
    with pytest.raises(PrintFailed, match="aborted"):
        service(client, spooler, stock).print_reserved(card_doc.reserve())
    (rec,) = ledger.records
    assert (rec.serial, rec.outcome) == ("KTP2611A000001", CardOutcome.SPOILED)
    assert "aborted" in rec.reason
    assert stock.remaining == 1
    assert card_doc.offered()  # released: the entitlement is printable again


def test_card_job_that_never_reached_the_printer_returns_the_blank(
    card_doc: CardDoc,
) -> None:
    client = card_doc.client
    ledger = MemoryCardLedger()
    stock = CardStock(ledger)
    stock.load("KTP2611A000001", "KTP2611A000001")
    no_card_queue = SimSpooler(queues=("adm-a4",))
    with pytest.raises(Exception, match="adm-card"):
        service(client, no_card_queue, stock).print_reserved(card_doc.reserve())
    assert ledger.records == [] and stock.remaining == 1


def test_empty_hopper_refuses_before_printing(card_doc: CardDoc) -> None:
    client = card_doc.client
    spooler = SimSpooler()
    with pytest.raises(PrintFailed, match="no blank cards"):
        service(client, spooler, CardStock(MemoryCardLedger())).print_reserved(card_doc.reserve())
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


def test_a_refused_confirmation_stays_in_the_outbox(
    card_doc: CardDoc, server: EmbeddedServer, tmp_path: Path
) -> None:
    """GIVEN the kiosk is revoked while a card prints WHEN it confirms THEN the refusal
    does not settle the job: it stays queued until the server answers it.  Revoking the
    kiosk released its reservations, so once reinstated the server says "released" and
    the job settles as such (the card itself stays accounted as consumed)."""
    from kiosk.store import KioskStore
    from server import officer
    from server.db import Kiosk, make_engine, session_factory

    store = KioskStore(tmp_path / "kiosk.db")
    stock = CardStock(store)
    stock.load("KTP2611E000001", "KTP2611E000002")
    printer = PrintService(card_doc.client, SimSpooler(), poll=0.001, card_stock=stock, store=store)
    res = printer.reserve(
        card_doc.session,
        {"id": card_doc.id, "number": card_doc.number, "title": "KTP-el", "medium": "card"},
        demo_code(card_doc.number),
    )
    engine = make_engine(server.database_url)
    with session_factory(engine)() as db:
        serial = db.get(Kiosk, "kiosk-test").cert_serial  # type: ignore[union-attr]
        officer.revoke_kiosk(db, "kiosk-test")
        result = printer.print_reserved(res)  # printed: the citizen has the card
        assert result.card_serial == "KTP2611E000001"
        (pending,) = store.outbox_pending()
        assert (pending.job_id, pending.action) == (res.job_id, "confirm")
        assert store.job(res.job_id).state == "completed"  # type: ignore[union-attr]
        officer.register_kiosk(db, "kiosk-test", serial)  # the office reinstates it
    engine.dispose()
    assert printer.send_outbox() == 1
    assert store.job(res.job_id).state == "released"  # type: ignore[union-attr]
    assert card_doc.client.reservation(res.job_id)["state"] == "released"
    assert not store.outbox_pending()
    (rec,) = store.records
    assert (rec.serial, rec.outcome, rec.job_id) == (
        "KTP2611E000001",
        CardOutcome.CONSUMED,
        res.job_id,
    )
    store.close()
