"""The session flow with in-process devices and a real central server over HTTP.

Each test drives the flow on the test's thread (as the headless loop does) and waits
on flow state with a deadline, never on sleeps.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from drivers.card.base import ReaderState
from drivers.card.sam import ApduSam
from drivers.card.sim import SimReader
from drivers.card.virtual import VirtualEktp, VirtualSam
from drivers.fingerprint.base import MatchResult
from drivers.fingerprint.sim import SimMatcher
from kiosk import messages, timeouts
from kiosk.card_service import CardService
from kiosk.card_watch import CardWatcher
from kiosk.diagnostics import Diagnostics
from kiosk.flow import TRANSITIONS, Flow, Services
from kiosk.health import HealthMonitor
from kiosk.print_service import PrintService
from kiosk.server_client import ServerClient
from kiosk.store import KioskStore
from kiosk.technician import PIN_EVENTS, Attempt, PinGuard, attempts_from_audit, hash_pin
from printing.card_stock import CardStock, MemoryCardLedger
from printing.sim_spooler import SimSpooler
from printing.spooler import JobState
from sim import keys
from sim.cards import issue
from sim.embedded import EmbeddedServer
from sim.population import DEMO_NIK, FAMILIES
from sim.seed import DEMO_QR_TOKEN, demo_code, demo_pin
from tests.conftest import kiosk_client, wait_for

SITI = FAMILIES[0]["members"][1]["nik"]


def budi(**fault: object) -> VirtualEktp:
    return VirtualEktp(issue(DEMO_NIK, **fault))  # type: ignore[arg-type]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


TEST_PIN_HASH = hash_pin("246810")


class HeldExecutor:
    """The flow's workers, held: nothing runs until the test says so (``run``), on the
    test's thread.  A test can then stand in any state that waits for a worker."""

    def __init__(self) -> None:
        self.jobs: list[tuple[Future[Any], Callable[[], Any]]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self.jobs.append((future, lambda: fn(*args, **kwargs)))
        return future

    def run(self) -> int:
        """Run every held job (and any they add), in order; return how many ran."""
        n = 0
        while self.jobs:
            future, fn = self.jobs.pop(0)
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as exc:  # the flow's callback sorts it out
                    future.set_exception(exc)
            n += 1
        return n

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        for future, _ in self.jobs:
            future.cancel()
        self.jobs.clear()


class Rigged:
    def __init__(self, server: EmbeddedServer, *, start: bool = True, held: bool = False) -> None:
        self.reader = SimReader()
        self.matcher = SimMatcher()
        self.spooler = SimSpooler()
        self.stock = CardStock(MemoryCardLedger())  # empty until a test loads blanks
        self.clock = FakeClock()
        self.client = kiosk_client(server)
        self.sam = ApduSam(SimReader(VirtualSam(keys.SAM_MASTER_KEY)))
        self.card = CardService(self.reader, self.sam, keys.issuer_private_key().public_key())
        self.card.open()
        printer = PrintService(self.client, self.spooler, poll=0.001, card_stock=self.stock)
        self.work = HeldExecutor()
        self.flow = Flow(
            Services(
                self.card,
                self.matcher,
                self.client,
                printer,
                diagnostics=Diagnostics(printer, None, "kiosk-test"),
                technician=PinGuard(TEST_PIN_HASH),
                qr_scanner=True,
                reader_state=lambda: self.watcher.state,
            ),
            clock=self.clock,
            executor=self.work if held else None,
        )
        self.actions: list[str] = []
        # (source, trigger, destination) of every transition this flow took
        self.taken: list[tuple[str, str, str]] = []
        record = self.flow._after_change

        def taken(event: Any) -> None:
            if event.transition is not None:
                move = (event.transition.source, event.event.name, self.flow.state)
                self.taken.append(move)
            record(event)

        self.flow._after_change = taken  # type: ignore[method-assign]
        self.flow.add_action_listener(lambda kind, **_detail: self.actions.append(kind))
        self.states: list[str] = []
        self.flow.add_listener(lambda state, view: self.states.append(state))
        self.watcher = CardWatcher(self.reader, self.flow.post, poll=0.05)
        assert self.flow.services.diagnostics is not None
        self.flow.services.diagnostics.reader_state = lambda: self.watcher.state
        self.watcher.start()
        if start:
            self.flow.post("service_up")  # what the health monitor's first verdict says
            self.to_state("attract")
            self.states.clear()

    def run_until(self, cond: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; flow in {self.flow.state}")
            self.flow.run_once(0.05)

    def to_state(self, state: str) -> None:
        self.run_until(lambda: self.flow.state == state, state)

    def doc(self, kind: str) -> dict:
        return next(d for d in self.flow.view().documents if d["kind"] == kind)

    def enter_code(self, kind: str, code: str | None = None) -> int:
        """Tap the document, type its print code, wait for the server's answer."""
        doc = self.doc(kind)
        self.flow.post("document_tapped", doc_id=doc["id"])
        self.to_state("enter_code")
        self.flow.post("code_entered", code=code or demo_code(doc["number"]))
        self.to_state("checking_code")
        self.run_until(lambda: self.flow.state != "checking_code", "the server's answer")
        return int(doc["id"])

    def job_state(self, doc_id: int) -> str:
        return str(self.client.reservation(self.flow.session.reservations[doc_id].job_id)["state"])

    def close(self) -> None:
        self.watcher.stop()
        self.flow.shutdown()
        self.client.close()
        self.card.close()


@pytest.fixture
def k(server: EmbeddedServer) -> Iterator[Rigged]:
    rigged = Rigged(server)
    yield rigged
    rigged.close()


def test_happy_path_prints_and_returns_to_idle(k: Rigged) -> None:
    """GIVEN Budi's card WHEN he prints his KK and takes his card THEN it printed once."""
    k.reader.insert(budi())
    k.to_state("choose_documents")
    view = k.flow.view()
    assert view.name == "BUDI SANTOSO"
    assert view.photo[:3] == b"\xff\xd8\xff"
    assert view.masked_nik == "3201********0001"
    doc_id = k.enter_code("kartu_keluarga")
    assert k.flow.state == "choose_documents" and k.flow.view().reserved == (doc_id,)
    k.flow.post("print_selected", doc_ids=[doc_id])
    k.to_state("done")
    assert len(k.spooler.jobs) == 1
    result = k.flow.view().results[0]
    assert k.client.reservation(result.job_id)["state"] == "confirmed"
    k.reader.remove()
    k.to_state("attract")
    passed = [s for i, s in enumerate(k.states) if i == 0 or k.states[i - 1] != s]
    assert passed == [
        "reading_card",
        "verify_finger",
        "loading_documents",
        "choose_documents",
        "enter_code",
        "checking_code",
        "choose_documents",
        "printing",
        "done",
        "attract",
    ]


def test_wrong_print_code_asks_again_with_attempts_left(k: Rigged) -> None:
    k.reader.insert(budi())
    k.to_state("choose_documents")
    k.enter_code("kartu_keluarga", "12345678")
    assert k.flow.state == "enter_code"
    assert k.flow.view().prompt == "wrong_code|left=4"  # a code; the UI words it
    k.flow.post("cancel")
    k.to_state("choose_documents")
    assert k.flow.view().reserved == ()
    k.enter_code("kartu_keluarga")
    assert k.flow.state == "choose_documents" and len(k.flow.view().reserved) == 1


def test_leaving_with_a_reserved_document_releases_it(k: Rigged) -> None:
    k.reader.insert(budi())
    k.to_state("choose_documents")
    doc_id = k.enter_code("akta_kelahiran")
    job_id = k.flow.session.reservations[doc_id].job_id
    k.reader.remove()
    k.to_state("attract")
    wait_for(lambda: k.client.reservation(job_id)["state"] == "released", "the release", 10)


def test_nik_and_pin_path(k: Rigged) -> None:
    """GIVEN no e-KTP WHEN Siti types her NIK and PIN (wrong once) THEN she sees the KK."""
    k.flow.post("pin_login")
    k.to_state("enter_pin")
    k.flow.post("finish")  # changed her mind
    k.to_state("attract")
    k.flow.post("pin_login")
    k.to_state("enter_pin")
    k.flow.post("pin_entered", nik=SITI, pin="000000")
    k.run_until(lambda: k.flow.state == "enter_pin" and bool(k.flow.view().prompt), "refusal")
    assert k.flow.view().prompt == "wrong_pin|left=4"
    k.flow.post("pin_entered", nik=SITI, pin=demo_pin(SITI))
    k.to_state("choose_documents")
    view = k.flow.view()
    assert (view.name, view.masked_nik) == ("Siti Aminah", "3201********0002")
    assert [d["kind"] for d in view.documents] == ["kartu_keluarga"]
    k.flow.post("finish")
    k.to_state("attract")
    assert k.flow.view().name == ""


def test_qr_path(k: Rigged) -> None:
    k.flow.post("qr_scanned", token=DEMO_QR_TOKEN)
    k.to_state("choose_documents")
    view = k.flow.view()
    assert (view.name, view.masked_nik) == ("Budi Santoso", "")
    assert "ktp_el" in [d["kind"] for d in view.documents]
    k.flow.post("finish")
    k.to_state("attract")
    k.flow.post("qr_scanned", token=DEMO_QR_TOKEN)  # single use
    k.to_state("error")
    assert k.flow.view().error.startswith("bad_token")


def test_leaving_wipes_the_session(k: Rigged) -> None:
    k.reader.insert(budi())
    k.to_state("choose_documents")
    k.reader.remove()
    k.to_state("attract")
    view = k.flow.view()
    assert (view.name, view.masked_nik, view.documents, view.photo) == ("", "", (), b"")
    assert k.flow.session.identity is None and k.flow.session.card is None


def test_inactivity_timeout_ends_the_session(k: Rigged) -> None:
    k.reader.insert(budi())
    k.to_state("choose_documents")
    assert k.flow.seconds_left() == timeouts.STATE_TIMEOUTS["choose_documents"]
    k.clock.now += timeouts.STATE_TIMEOUTS["choose_documents"] - 1
    k.flow.process_pending()
    assert k.flow.state == "choose_documents"
    k.clock.now += 1
    k.flow.process_pending()
    assert k.flow.state == "attract"
    assert k.flow.session.identity is None


def test_touch_restarts_the_timeout(k: Rigged) -> None:
    k.reader.insert(budi())
    k.to_state("choose_documents")
    k.clock.now += 60
    k.flow.touch()
    k.clock.now += 60
    k.flow.process_pending()
    assert k.flow.state == "choose_documents"


def test_selection_of_a_document_not_offered_is_ignored(k: Rigged) -> None:
    k.reader.insert(budi())
    k.to_state("choose_documents")
    k.flow.post("print_selected", doc_ids=[9999])
    k.flow.post("print_selected", doc_ids=[])
    # Offered but its code not yet accepted: not printable either.
    k.flow.post("print_selected", doc_ids=[k.doc("kartu_keluarga")["id"]])
    k.flow.process_pending()
    assert k.flow.state == "choose_documents"
    assert k.spooler.jobs == {}


def test_failed_print_is_released_not_confirmed(k: Rigged) -> None:
    k.spooler.final_state = JobState.ABORTED
    k.reader.insert(budi())
    k.to_state("choose_documents")
    doc_id = k.enter_code("kartu_keluarga")
    job_id = k.flow.session.reservations[doc_id].job_id
    k.flow.post("print_selected", doc_ids=[doc_id])
    k.to_state("error")
    assert k.flow.view().error == "print_failed"
    assert k.client.reservation(job_id)["state"] == "released"


@pytest.mark.parametrize(
    ("result", "asked"),
    [
        (MatchResult.NO_MATCH, "no_match"),
        (MatchResult.NO_FINGER, "no_finger"),
    ],
)
def test_a_finger_that_fails_is_asked_again_then_nik_and_pin_is_offered(
    k: Rigged, result: MatchResult, asked: str
) -> None:
    """GIVEN a card that reads WHEN the finger fails every attempt (no match, or none
    placed) THEN the citizen is asked again with the attempts left, and after the fourth
    is offered NIK + PIN (not an error); no session was opened at the server and the
    chip's data is not kept."""
    prompts: list[str] = []
    k.flow.add_listener(
        lambda state, view: prompts.append(view.prompt) if state == "verify_finger" else None
    )
    k.matcher.result = result
    k.reader.insert(budi())
    k.to_state("enter_pin")
    assert k.matcher.calls == 4
    retries = [p for p in dict.fromkeys(prompts) if p]
    assert retries == [f"finger_retry|why={asked}|left={n}" for n in (3, 2, 1)]
    view = k.flow.view()
    assert view.prompt == "finger_fallback|why=no_match"
    assert k.flow.session.card is None and view.photo == b""
    assert k.flow.session.documents == [] and k.flow.session.server_session == ""


def test_a_finger_that_matches_on_a_later_attempt_opens_the_session(k: Rigged) -> None:
    results = iter([MatchResult.NO_MATCH, MatchResult.NO_MATCH, MatchResult.MATCH])
    original = k.matcher.verify

    def scripted(templates: tuple[bytes, ...], timeout: float) -> Any:
        k.matcher.result = next(results)
        return original(templates, timeout)

    k.matcher.verify = scripted  # type: ignore[method-assign]
    k.reader.insert(budi())
    k.to_state("choose_documents")
    assert k.matcher.calls == 3
    assert k.flow.session.method == "ektp" and k.flow.session.server_session


def test_a_scanner_fault_offers_nik_and_pin_at_once(k: Rigged) -> None:
    from drivers.fingerprint.base import FingerprintError

    def broken(templates: tuple[bytes, ...], timeout: float) -> Any:
        raise FingerprintError("module unplugged")

    k.matcher.verify = broken  # type: ignore[method-assign]
    k.reader.insert(budi())
    k.to_state("enter_pin")
    assert k.flow.view().prompt == "finger_fallback|why=scanner"


def test_a_print_code_may_be_scanned_instead_of_typed(k: Rigged) -> None:
    k.reader.insert(budi())
    k.to_state("choose_documents")
    doc = k.doc("kartu_keluarga")
    k.flow.post("document_tapped", doc_id=doc["id"])
    k.to_state("enter_code")
    k.flow.post("qr_scanned", token="not a code")  # another QR: ignored on this screen
    k.flow.post("qr_scanned", token=demo_code(doc["number"]))
    k.to_state("choose_documents")
    assert doc["id"] in k.flow.session.reservations


def test_server_down_ends_in_error_with_reason(own_server: EmbeddedServer) -> None:
    k = Rigged(own_server)  # the server is stopped: not the shared one
    try:
        own_server.stop()
        k.reader.insert(budi())
        k.to_state("error")
        assert k.flow.view().error == "server_unavailable"
    finally:
        k.close()


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"fault": "blank"}, "not_an_ektp"),
        ({"fault": "foreign"}, "not_an_ektp"),
        ({"fault": "tampered"}, "data_not_authentic"),
    ],
)
def test_bad_cards_end_in_error_then_idle(
    k: Rigged, fault: dict[str, object], message: str
) -> None:
    """GIVEN a faulty card WHEN tapped THEN the citizen is told why, and removing the card
    returns the kiosk to idle."""
    k.reader.insert(budi(**fault))
    k.to_state("error")
    assert k.flow.view().error == message
    assert k.flow.session.identity is None
    k.reader.remove()
    k.to_state("attract")


def test_card_pulled_mid_read_returns_to_idle(k: Rigged) -> None:
    k.reader.insert(budi(fault="pulled"))
    k.run_until(lambda: "attract" in k.states[1:], "the session to end")
    assert k.flow.state == "attract"


def test_wrong_sam_keys(k: Rigged) -> None:
    k.sam.close()
    k.card.sam = ApduSam(SimReader(VirtualSam(keys.WRONG_MASTER_KEY)))
    k.card.sam.open()
    k.reader.insert(budi())
    k.to_state("error")
    assert k.flow.view().error == "card_not_verified"


def test_results_of_an_earlier_session_are_dropped(k: Rigged) -> None:
    """A worker result that arrives after the citizen left must not enter the next session."""
    k.reader.insert(budi())
    k.to_state("choose_documents")
    stale_generation = k.flow._generation
    k.reader.remove()
    k.to_state("attract")
    k.reader.insert(budi(fault="slow"))  # holds the next session in reading_card
    k.to_state("reading_card")
    k.flow.post("card_read", generation=stale_generation, result=None)
    k.flow.process_pending()
    assert k.flow.state == "reading_card"


def test_every_state_is_reachable_and_leads_back_to_attract() -> None:
    """The transition table has no dead end: from every state attract can be reached."""
    graph: dict[str, set[str]] = {}
    for t in TRANSITIONS:
        sources = t["source"] if isinstance(t["source"], list) else [t["source"]]
        for s in sources:
            graph.setdefault(s, set()).add(t["dest"] or s)
    for start in graph:
        seen, todo = set(), [start]
        while todo:
            s = todo.pop()
            if s not in seen:
                seen.add(s)
                todo.extend(graph.get(s, ()))
        assert "attract" in seen, start


def test_committed_diagram_matches_the_code() -> None:
    """docs/flow.dot is generated from TRANSITIONS; regenerate with `make diagram`."""
    from kiosk.diagram import DOCS, dot

    assert (DOCS / "flow.dot").read_text() == dot()


def test_exhausted_media_are_refused_with_a_reason(k: Rigged) -> None:
    """GIVEN no paper and no blank cards WHEN the documents load THEN both are shown with
    the reason and neither can be selected."""
    k.spooler.reasons = {"adm-a4": ("media-empty-error",)}
    k.reader.insert(budi())
    k.to_state("choose_documents")
    reasons = {d["kind"]: d["unavailable"] for d in k.flow.view().documents}
    assert reasons == {
        "kartu_keluarga": "paper_out",
        "akta_kelahiran": "paper_out",
        "ktp_el": "no_blank_cards",
        "kia": "no_blank_cards",
    }
    for d in k.flow.view().documents:
        k.flow.post("document_tapped", doc_id=d["id"])
    k.flow.process_pending()
    assert k.flow.state == "choose_documents" and k.spooler.jobs == {}


def test_the_rest_is_still_offered(k: Rigged) -> None:
    """GIVEN no paper but blank cards WHEN the citizen prints THEN the KTP-el comes out."""
    k.spooler.reasons = {"adm-a4": ("media-empty-error",)}
    k.stock.load("KTP2611A000001", "KTP2611A000010")
    k.reader.insert(budi())
    k.to_state("choose_documents")
    docs = {d["kind"]: d for d in k.flow.view().documents}
    assert docs["ktp_el"]["unavailable"] == "" and docs["kartu_keluarga"]["unavailable"]
    k.enter_code("ktp_el")
    k.flow.post("print_selected", doc_ids=[docs["ktp_el"]["id"]])
    k.to_state("done")
    (result,) = k.flow.view().results
    assert result.queue == "adm-card" and result.card_serial == "KTP2611A000001"


def health(k: Rigged) -> HealthMonitor:
    d = k.flow.services.diagnostics
    assert d is not None
    return HealthMonitor(
        k.flow.post,
        lambda: k.watcher.state,
        k.flow.services.printer,
        closed_reason=lambda: d.manual_out_of_service,
        flow_state=lambda: k.flow.state,
    )


def test_reader_gone_puts_the_kiosk_out_of_service_and_back(k: Rigged) -> None:
    monitor = health(k)
    k.reader.set_available(False)
    k.run_until(lambda: k.watcher.state is ReaderState.UNAVAILABLE, "the watcher to notice")
    monitor.check_once()
    k.to_state("out_of_service")
    assert k.flow.view().error == "reader_missing"
    k.reader.set_available(True)
    k.run_until(lambda: k.watcher.state is ReaderState.EMPTY, "the reader to return")
    monitor.check_once()
    k.to_state("attract")


def test_no_usable_printer_is_out_of_service(k: Rigged) -> None:
    k.spooler.reasons = {"adm-a4": ("media-jam-error",)}  # and no blank cards loaded
    k.run_until(lambda: k.watcher.state is ReaderState.EMPTY, "the watcher")
    health(k).check_once()
    k.to_state("out_of_service")
    assert k.flow.view().error == "no_printer|why=paper_jam"


def test_a_session_is_never_cut_short_by_a_health_verdict(k: Rigged) -> None:
    k.reader.insert(budi())
    k.to_state("choose_documents")
    k.spooler.reasons = {"adm-a4": ("media-jam-error",)}
    health(k).check_once()
    k.flow.process_pending()
    assert k.flow.state == "choose_documents"


def test_heartbeat_reports_state_devices_supplies_and_the_audit_head(
    k: Rigged, server: EmbeddedServer, tmp_path: Path
) -> None:
    from kiosk.store import KioskStore
    from server import officer
    from server.db import make_engine, session_factory

    store = KioskStore(tmp_path / "kiosk.db")
    store.audit("kiosk_started")
    k.flow.services.printer.store = store
    k.stock.load("KTP2611A000001", "KTP2611A000010")
    k.spooler.reasons = {"adm-a4": ("media-empty-error",)}
    k.run_until(lambda: k.watcher.state is ReaderState.EMPTY, "the watcher")
    health(k).heartbeat_once()
    engine = make_engine(server.database_url)
    with session_factory(engine)() as db:
        status = {x.id: x for x in officer.kiosks(db)}["kiosk-test"].last_status
    engine.dispose()
    assert status["state"] == "attract"
    assert status["devices"]["card_reader"] == "empty"
    assert status["devices"]["adm-a4"] == "media_empty"  # codes, worded by the console
    assert status["devices"]["adm-card"] == "ok"
    assert status["version"] and status["closed"] is False
    assert status["audit_count"] == 1
    assert status["supplies"]["blank_cards"] == 10
    assert status["audit_head"] == store.audit_head() != "0" * 64
    store.close()


def test_technician_pin_opens_diagnostics_and_a_wrong_one_does_not(k: Rigged) -> None:
    k.flow.post("technician_requested")
    k.to_state("technician_pin")
    k.flow.post("technician_pin_entered", pin="111111")
    k.to_state("attract")
    k.flow.post("technician_requested")
    k.flow.post("technician_pin_entered", pin="246810")
    k.to_state("diagnostics")
    k.run_until(lambda: bool(k.flow.view().checks), "the device checks")
    checks = {c.name: c for c in k.flow.view().checks}
    assert checks["server"].ok and checks["printer|queue=adm-a4"].ok  # codes, worded by ui/
    assert not checks["blank_cards"].ok  # none loaded in this rig
    assert k.actions == ["technician_pin_refused", "technician_login"]


def test_test_print_and_the_out_of_service_switch(k: Rigged) -> None:
    monitor = health(k)
    k.run_until(lambda: k.watcher.state is ReaderState.EMPTY, "the watcher")
    k.flow.post("technician_requested")
    k.flow.post("technician_pin_entered", pin="246810")
    k.to_state("diagnostics")
    k.flow.post("test_print")
    k.run_until(lambda: "tercetak" in k.flow.view().prompt, "the test page")
    ((queue, pdf, _state),) = k.spooler.jobs.values()
    assert queue == "adm-a4" and pdf.startswith(b"%PDF")
    k.flow.post("close_kiosk", reason="Ganti toner")
    k.to_state("out_of_service")
    monitor.check_once()  # devices are fine, but the technician closed it
    k.flow.process_pending()
    assert k.flow.state == "out_of_service"
    assert k.flow.view().error == "closed_by_technician|reason=Ganti toner"
    k.flow.post("technician_requested")
    k.flow.post("technician_pin_entered", pin="246810")
    k.to_state("diagnostics")
    k.flow.post("open_kiosk")
    k.flow.post("diagnostics_done")
    k.to_state("attract")
    assert k.actions[-2:] == ["technician_login", "technician_opened_kiosk"]
    assert "technician_closed_kiosk" in k.actions and "technician_test_print" in k.actions


def test_events_posted_together_are_applied_in_order(k: Rigged) -> None:
    """The headless loop's wait must not move the first event behind later ones."""
    k.flow.post("technician_requested")
    k.flow.post("technician_pin_entered", pin="246810")
    k.flow.run_once(1.0)
    assert k.flow.state == "technician_pin"  # the PIN is being checked in a worker
    # Had the PIN arrived before the request, it would have been dropped in attract.
    k.to_state("diagnostics")


def test_start_up_waits_in_starting_for_the_first_verdict(k: Rigged) -> None:
    """GIVEN a kiosk starting WHEN the first health verdict is down THEN out of service
    with the reason; WHEN the devices appear THEN it serves."""
    k.flow.machine.set_state("starting")
    k.reader.insert(budi())  # a card tapped while starting is not a session
    k.flow.post("service_down", reason="reader_missing")
    k.to_state("out_of_service")
    assert k.flow.view().error == "reader_missing"
    k.flow.post("service_up")
    k.to_state("attract")
    assert "reading_card" not in k.states


def test_technician_cancel_is_not_a_wrong_pin(k: Rigged) -> None:
    k.flow.post("technician_requested")
    k.to_state("technician_pin")
    k.flow.post("cancel")
    k.to_state("attract")
    assert k.actions == []


def test_a_failing_pin_check_returns_to_idle(k: Rigged) -> None:
    def broken() -> list:
        raise OSError("store unreadable")

    k.flow.services.technician = PinGuard(TEST_PIN_HASH, broken)
    k.flow.post("technician_requested")
    k.to_state("technician_pin")
    k.flow.post("technician_pin_entered", pin="246810")
    k.run_until(lambda: "attract" in k.states, "the way back to idle")
    assert "diagnostics" not in k.states


def test_technician_lockout_counts_audited_attempts_across_a_restart(
    k: Rigged, tmp_path: Path
) -> None:
    """GIVEN the PIN attempts audited in the kiosk store WHEN five wrong PINs are typed
    THEN the entry locks (even the right PIN is refused, unchecked) and a new guard on the
    same store (a restarted kiosk) is still locked; after the lockout the right PIN works."""
    store = KioskStore(tmp_path / "kiosk.db")
    now = [dt.datetime.now(dt.UTC)]  # the audit rows carry the real time

    def history() -> list[Attempt]:
        return attempts_from_audit(store.audit_events_of(PIN_EVENTS))

    def guard() -> PinGuard:
        return PinGuard(TEST_PIN_HASH, history, max_attempts=5, now=lambda: now[0])

    k.flow.services.technician = guard()
    k.flow.add_action_listener(store.audit)
    try:
        for _ in range(5):
            k.flow.post("technician_requested")
            k.to_state("technician_pin")
            k.flow.post("technician_pin_entered", pin="000000")
            k.run_until(lambda: k.flow.state == "attract", "the refusal")
        k.flow.services.technician = guard()  # the kiosk restarted
        k.flow.post("technician_requested")
        k.to_state("technician_pin")
        k.flow.post("technician_pin_entered", pin="246810")
        k.run_until(lambda: k.flow.state == "attract", "the refusal while locked")
        assert k.actions == ["technician_pin_refused"] * 5 + ["technician_pin_locked"]
        now[0] += dt.timedelta(minutes=16)
        k.flow.post("technician_requested")
        k.to_state("technician_pin")
        k.flow.post("technician_pin_entered", pin="246810")
        k.to_state("diagnostics")
        store.flush()
        kinds = [e[2] for e in store.audit_events()]
        assert kinds.count("technician_pin_refused") == 5 and kinds[-1] == "technician_login"
        assert store.verify_audit().ok
    finally:
        store.close()


@pytest.mark.parametrize("state", sorted(timeouts.STATE_TIMEOUTS))
def test_every_timed_state_returns_to_idle_after_its_timeout(k: Rigged, state: str) -> None:
    """Table-driven over kiosk/timeouts.py: warning window, then back to attract."""
    k.flow.machine.set_state(state)
    k.flow.touch()
    limit = timeouts.STATE_TIMEOUTS[state]
    k.clock.now += limit - timeouts.TIMEOUT_WARNING
    k.flow.fire_timers()
    assert k.flow.state == state
    assert k.flow.seconds_left() == pytest.approx(timeouts.TIMEOUT_WARNING)
    k.clock.now += timeouts.TIMEOUT_WARNING
    k.flow.fire_timers()
    assert k.flow.state == "attract"


@pytest.mark.parametrize(
    "t", [t for t in TRANSITIONS if t["trigger"] == "card_removed" and t["dest"] == "attract"]
)
def test_card_removal_ends_every_card_session_state(k: Rigged, t: dict) -> None:
    for source in t["source"]:
        k.flow.machine.set_state(source)
        k.flow.session.method = "ektp"
        k.flow.trigger("card_removed")
        assert k.flow.state == "attract", source
    # A PIN or QR session is not ended by a card leaving the reader.
    k.flow.machine.set_state("choose_documents")
    k.flow.session.method = "pin"
    k.flow.trigger("card_removed")
    assert k.flow.state == "choose_documents"


def test_supply_changes_are_audited_once_per_change(k: Rigged, tmp_path: Path) -> None:
    from kiosk.store import KioskStore

    store = KioskStore(tmp_path / "kiosk.db")
    k.flow.services.printer.store = store
    k.stock.load("KTP2611A000001", "KTP2611A000002")
    monitor = health(k)
    monitor.check_once()
    k.spooler.reasons = {"adm-a4": ("media-empty-error",)}
    monitor.check_once()
    monitor.check_once()
    k.spooler.reasons = {}
    monitor.check_once()
    store.flush()
    changes = [(e[3]["medium"], e[3]["state"]) for e in store.audit_events()]
    assert changes == [("a4", "paper_out"), ("a4", "available")]
    assert store.verify_audit().ok
    store.close()


def test_wrong_codes_until_locked_end_in_error(k: Rigged) -> None:
    k.reader.insert(budi())
    k.to_state("choose_documents")
    for _ in range(4):
        k.enter_code("kartu_keluarga", "00000000")
        assert k.flow.state == "enter_code"
        k.flow.post("cancel")
        k.to_state("choose_documents")
    k.enter_code("kartu_keluarga", "00000000")
    assert k.flow.state == "error"
    assert k.flow.view().error == "locked"
    k.flow.post("finish")
    k.to_state("attract")


def test_done_and_closed_diagnostics_paths(k: Rigged) -> None:
    k.reader.insert(budi())
    k.to_state("choose_documents")
    k.enter_code("kartu_keluarga")
    k.flow.post("print_selected", doc_ids=list(k.flow.view().reserved))
    k.to_state("done")
    k.flow.post("finish")  # the citizen taps "Selesai" before taking the card
    k.to_state("attract")
    k.reader.remove()
    k.flow.post("technician_requested")
    k.flow.post("technician_pin_entered", pin="246810")
    k.to_state("diagnostics")
    k.flow.post("close_kiosk")
    k.to_state("out_of_service")
    k.flow.post("technician_requested")
    k.flow.post("technician_pin_entered", pin="246810")
    k.to_state("diagnostics")
    k.flow.post("diagnostics_done")  # still closed: back out of service
    k.to_state("out_of_service")
    assert k.flow.view().error == "closed_maintenance"


# --- every transition of the table, each taken by a test of its own -------------------
#
# For each (source, trigger, destination) that changes state, a script that brings a
# fresh flow into the source state and fires the trigger the way the kiosk would (a card
# tapped or pulled, a worker's answer, a button, a timeout).  The flow's workers are held
# (``HeldExecutor``) so that a script can stand in a state that waits for one.


def _settle(k: Rigged) -> None:
    """One step: apply what is queued, let the held workers run, apply their answers."""
    k.flow.process_pending()
    k.work.run()
    k.flow.process_pending()


def _reading(k: Rigged, card: VirtualEktp | None = None) -> None:
    k.reader.insert(card or budi())
    k.to_state("reading_card")


def _verifying(k: Rigged) -> None:
    _reading(k)
    _settle(k)
    k.to_state("verify_finger")


def _loading_by_card(k: Rigged) -> None:
    _verifying(k)
    _settle(k)
    k.to_state("loading_documents")


def _choosing_by_card(k: Rigged) -> None:
    _loading_by_card(k)
    _settle(k)
    k.to_state("choose_documents")


def _entering_pin(k: Rigged) -> None:
    k.flow.post("pin_login")
    k.to_state("enter_pin")


def _loading_by_pin(k: Rigged, pin: str | None = None) -> None:
    _entering_pin(k)
    k.flow.post("pin_entered", nik=DEMO_NIK, pin=pin or demo_pin(DEMO_NIK))
    k.to_state("loading_documents")


def _entering_code(k: Rigged) -> None:
    _choosing_by_card(k)
    k.flow.post("document_tapped", doc_id=k.doc("kartu_keluarga")["id"])
    k.to_state("enter_code")


def _checking_code(k: Rigged, code: str | None = None) -> None:
    _entering_code(k)
    number = k.doc("kartu_keluarga")["number"]
    k.flow.post("code_entered", code=code or demo_code(number))
    k.to_state("checking_code")


def _reserved(k: Rigged) -> None:
    _checking_code(k)
    _settle(k)
    k.to_state("choose_documents")


def _printing(k: Rigged) -> None:
    _reserved(k)
    k.flow.post("print_selected", doc_ids=[k.doc("kartu_keluarga")["id"]])
    k.to_state("printing")


def _done(k: Rigged) -> None:
    _printing(k)
    k.run_until(lambda: _settle(k) is None and k.flow.state == "done", "done")


def _error_by_card(k: Rigged) -> None:
    _reading(k, budi(fault="blank"))
    _settle(k)
    k.to_state("error")


def _technician_pin(k: Rigged) -> None:
    k.flow.post("technician_requested")
    k.to_state("technician_pin")


def _diagnostics(k: Rigged) -> None:
    _technician_pin(k)
    k.flow.post("technician_pin_entered", pin="246810")
    _settle(k)
    k.to_state("diagnostics")


def _out_of_service(k: Rigged) -> None:
    k.flow.post("service_down", reason="printer")
    k.to_state("out_of_service")


def _dead_server(k: Rigged) -> ServerClient:
    """A client of a server that is not there (connection refused at once)."""
    return ServerClient("https://127.0.0.1:9", retries=0)


def _post(trigger: str, **kw: Any) -> Callable[[Rigged], None]:
    return lambda k: k.flow.post(trigger, **kw)


def _then(*steps: Callable[[Rigged], None]) -> Callable[[Rigged], None]:
    def script(k: Rigged) -> None:
        for step in steps:
            step(k)
            k.flow.process_pending()

    return script


def _time_out(k: Rigged) -> None:
    k.clock.now += 24 * 3600
    k.flow.fire_timers()


def _pull(k: Rigged) -> None:
    k.reader.remove()
    k.run_until(lambda: k.flow.state == "attract", "the card watcher's card_removed")


def _broken_pin_store(k: Rigged) -> None:
    def broken() -> list[Attempt]:
        raise OSError("store unreadable")

    k.flow.services.technician = PinGuard(TEST_PIN_HASH, broken)


def _server_gone(k: Rigged) -> None:
    k.flow.services.server = _dead_server(k)


def _printer_server_gone(k: Rigged) -> None:
    k.flow.services.printer.server = _dead_server(k)


def _abort_jobs(k: Rigged) -> None:
    k.spooler.final_state = JobState.ABORTED


def _no_match(k: Rigged) -> None:
    k.matcher.result = MatchResult.NO_MATCH


def _scanner_fault(k: Rigged) -> None:
    from drivers.fingerprint.base import FingerprintError

    def broken(templates: tuple[bytes, ...], timeout: float) -> Any:
        raise FingerprintError("module unplugged")

    k.matcher.verify = broken  # type: ignore[method-assign]


def _matcher_crashes(k: Rigged) -> None:
    def crash(templates: tuple[bytes, ...], timeout: float) -> Any:
        raise RuntimeError("a bug, not the finger")

    k.matcher.verify = crash  # type: ignore[method-assign]


def _scanning_code(k: Rigged) -> None:
    _entering_code(k)
    k.flow.post("qr_scanned", token=demo_code(k.doc("kartu_keluarga")["number"]))
    k.to_state("checking_code")


def _closed(k: Rigged) -> None:
    _diagnostics(k)
    k.flow.post("close_kiosk")
    k.to_state("out_of_service")
    _diagnostics(k)


TOUR: dict[tuple[str, str, str], Callable[[Rigged], None]] = {
    ("starting", "service_up", "attract"): _post("service_up"),
    ("starting", "service_down", "out_of_service"): _post("service_down", reason="reader"),
    ("attract", "card_inserted", "reading_card"): _reading,
    ("reading_card", "card_read", "verify_finger"): _verifying,
    ("reading_card", "card_failed", "error"): _error_by_card,
    ("verify_finger", "finger_matched", "loading_documents"): _loading_by_card,
    ("verify_finger", "finger_failed", "verify_finger"): _then(_no_match, _verifying, _settle),
    ("verify_finger", "finger_failed", "enter_pin"): _then(_scanner_fault, _verifying, _settle),
    ("verify_finger", "finger_failed", "error"): _then(_matcher_crashes, _verifying, _settle),
    ("enter_code", "qr_scanned", "checking_code"): _scanning_code,
    ("attract", "pin_login", "enter_pin"): _entering_pin,
    ("enter_pin", "pin_entered", "loading_documents"): _loading_by_pin,
    ("attract", "qr_scanned", "loading_documents"): _post("qr_scanned", token=DEMO_QR_TOKEN),
    ("loading_documents", "documents_loaded", "choose_documents"): _choosing_by_card,
    ("loading_documents", "login_refused", "enter_pin"): _then(
        lambda k: _loading_by_pin(k, "000000"), _settle
    ),
    ("loading_documents", "login_refused", "error"): _then(
        _post("qr_scanned", token="not-a-token"), _settle
    ),
    ("loading_documents", "documents_failed", "error"): _then(
        _server_gone, _loading_by_pin, _settle
    ),
    ("choose_documents", "document_tapped", "enter_code"): _entering_code,
    ("enter_code", "code_entered", "checking_code"): _checking_code,
    ("enter_code", "cancel", "choose_documents"): _then(_entering_code, _post("cancel")),
    ("checking_code", "code_accepted", "choose_documents"): _reserved,
    ("checking_code", "code_rejected", "enter_code"): _then(
        lambda k: _checking_code(k, "00000000"), _settle
    ),
    ("checking_code", "code_failed", "error"): _then(_checking_code, _printer_server_gone, _settle),
    ("choose_documents", "print_selected", "printing"): _printing,
    ("printing", "all_printed", "done"): _done,
    ("printing", "print_failed", "error"): _then(_abort_jobs, _printing, _settle),
    ("attract", "service_down", "out_of_service"): _out_of_service,
    ("out_of_service", "service_up", "attract"): _then(_out_of_service, _post("service_up")),
    ("attract", "technician_requested", "technician_pin"): _technician_pin,
    ("out_of_service", "technician_requested", "technician_pin"): _then(
        _out_of_service, _technician_pin
    ),
    ("technician_pin", "technician_pin_checked", "diagnostics"): _diagnostics,
    ("technician_pin", "technician_pin_checked", "attract"): _then(
        _technician_pin, _post("technician_pin_entered", pin="000000"), _settle
    ),
    ("technician_pin", "technician_pin_failed", "attract"): _then(
        _broken_pin_store, _technician_pin, _post("technician_pin_entered", pin="246810"), _settle
    ),
    ("technician_pin", "cancel", "attract"): _then(_technician_pin, _post("cancel")),
    ("diagnostics", "close_kiosk", "out_of_service"): _then(_diagnostics, _post("close_kiosk")),
    ("diagnostics", "diagnostics_done", "out_of_service"): _then(
        _closed, _post("diagnostics_done")
    ),
    ("diagnostics", "diagnostics_done", "attract"): _then(_diagnostics, _post("diagnostics_done")),
}
# A card pulled ends every state of a card session; every timed state times out; "Selesai"
# leaves the states that show it.
for _source, _reach in {
    "reading_card": _reading,
    "verify_finger": _verifying,
    "loading_documents": _loading_by_card,
    "choose_documents": _choosing_by_card,
    "enter_code": _entering_code,
    "checking_code": _checking_code,
    "done": _done,
    "error": _error_by_card,
}.items():
    TOUR[(_source, "card_removed", "attract")] = _then(_reach, _pull)
for _source, _reach in {
    "reading_card": _reading,
    "verify_finger": _verifying,
    "enter_pin": _entering_pin,
    "loading_documents": _loading_by_pin,
    "choose_documents": _choosing_by_card,
    "enter_code": _entering_code,
    "checking_code": _checking_code,
    "done": _done,
    "error": _error_by_card,
    "technician_pin": _technician_pin,
    "diagnostics": _diagnostics,
}.items():
    TOUR[(_source, "timeout", "attract")] = _then(_reach, _time_out)
for _source, _reach in {
    "choose_documents": _choosing_by_card,
    "enter_pin": _entering_pin,
    "done": _done,
    "error": _error_by_card,
}.items():
    TOUR[(_source, "finish", "attract")] = _then(_reach, _post("finish"))


def _table() -> set[tuple[str, str, str]]:
    moves = set()
    for t in TRANSITIONS:
        if t["dest"] is None:
            continue
        sources = t["source"] if isinstance(t["source"], list) else [t["source"]]
        moves.update((src, t["trigger"], t["dest"]) for src in sources)
    return moves


def test_the_tour_has_a_script_for_every_transition_of_the_table() -> None:
    """A transition added to the table without a test here fails this (and one removed
    leaves a script for a transition that no longer exists)."""
    assert set(TOUR) == _table()


@pytest.mark.parametrize("move", sorted(TOUR), ids=lambda m: "-".join(m))
def test_transition(server: EmbeddedServer, move: tuple[str, str, str]) -> None:
    """GIVEN a fresh flow brought into the source state WHEN the trigger comes as it does
    in the kiosk THEN the flow takes exactly this transition."""
    source, trigger, dest = move
    k = Rigged(server, start=source != "starting", held=True)
    try:
        TOUR[move](k)
        k.run_until(lambda: move in k.taken, f"{source} --{trigger}--> {dest}", timeout=15)
    finally:
        k.close()


def test_the_reader_state_is_not_judged_before_the_watchers_first_look() -> None:
    """GIVEN a watcher whose first look at the slot is slow (a reader still enumerating)
    WHEN the health check asks for the slot's state meanwhile THEN it waits for that look
    and hears EMPTY, not the UNAVAILABLE of "not looked yet" (which would put a working
    kiosk out of service at start-up)."""
    gate = threading.Event()

    class SlowFirstLook(SimReader):
        def wait_for_change(self, known: ReaderState, timeout: float) -> ReaderState:
            gate.wait(10)
            return super().wait_for_change(known, timeout)

    watcher = CardWatcher(SlowFirstLook(), lambda trigger: None, poll=0.05)
    watcher.start()
    answers: list[ReaderState] = []
    asking = threading.Thread(target=lambda: answers.append(watcher.current(10)))
    asking.start()
    try:
        asking.join(0.3)  # bounded: the answer must not come before the look
        assert answers == []
        gate.set()
        asking.join(10)
        assert answers == [ReaderState.EMPTY]
        # without a reader at all the first look comes back UNAVAILABLE: no wait after it
        gone = SimReader()
        gone.set_available(False)
        blind = CardWatcher(gone, lambda trigger: None, poll=0.05)
        blind.start()
        assert blind.current(10) is ReaderState.UNAVAILABLE
        blind.stop()
    finally:
        gate.set()
        watcher.stop()


# --- every fault ends cleanly for the next citizen too --------------------------------


def _open_sessions(server: EmbeddedServer) -> int:
    from sqlalchemy import func, select

    from server.db import KioskSession, make_engine, session_factory

    engine = make_engine(server.database_url)
    try:
        with session_factory(engine)() as db:
            query = select(func.count()).select_from(KioskSession)
            return int(db.scalar(query.where(KioskSession.ended_at.is_(None))) or 0)
    finally:
        engine.dispose()


def test_a_reservation_that_arrives_after_its_session_ended_is_released(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    """GIVEN a slow server checking a print code WHEN the citizen pulls the card before
    the answer THEN the late reservation is released at the server (through the outbox,
    recorded, audited) and the document is offered again in the next session."""
    k = Rigged(server, held=True)
    store = KioskStore(tmp_path / "kiosk.db")
    k.flow.services.printer.store = store
    try:
        _checking_code(k)
        kk = k.doc("kartu_keluarga")
        _pull(k)  # the session ends while the server still has the code
        _settle(k)  # ... whose answer (a reservation) comes now
        k.work.run()  # the kiosk's own follow-up
        (job,) = store.jobs(states=("released", "failed", "reserved", "confirmed"))
        assert job.state == "released" and job.document_id == kk["id"]
        assert "before the code was accepted" in (job.error or "")
        assert k.client.reservation(job.job_id)["state"] == "released"
        assert "late_reservation_released" in k.actions
        again = k.client.open_session("pin", nik=DEMO_NIK, pin=demo_pin(DEMO_NIK))
        offered = k.client.list_documents(again["session"])
        assert not next(d for d in offered if d["id"] == kk["id"]).get("unavailable")
    finally:
        k.close()
        store.close()


def test_a_session_opened_after_the_citizen_left_is_ended(server: EmbeddedServer) -> None:
    """GIVEN a slow server opening a session WHEN the citizen leaves (timeout) before the
    answer THEN the session the server opened is ended, not left open."""
    k = Rigged(server, held=True)
    try:
        before = _open_sessions(server)
        _loading_by_pin(k)
        _time_out(k)
        k.to_state("attract")
        _settle(k)  # the server opens the session now
        k.work.run()
        assert "late_session_ended" in k.actions
        assert _open_sessions(server) == before
    finally:
        k.close()


def test_a_health_verdict_during_a_session_is_acted_on_when_it_ends(k: Rigged) -> None:
    """GIVEN a NIK+PIN session WHEN the reader goes away during it (the verdict is
    ignored: the citizen is served) THEN the end of the session goes out of service, not
    to an idle screen that offers a dead reader."""
    _entering_pin(k)
    k.flow.post("service_down", reason="reader_missing")
    k.flow.process_pending()
    assert k.flow.state == "enter_pin"  # the citizen keeps being served
    k.flow.post("finish")
    k.to_state("out_of_service")
    assert k.flow.view().error == "reader_missing"
    k.flow.post("service_up")
    k.to_state("attract")


def test_done_after_the_card_left_ends_soon_and_the_next_tap_is_read(k: Rigged) -> None:
    """GIVEN a card pulled while its documents print WHEN printing ends THEN "done" lasts
    only DONE_CARD_GONE, and the next citizen's card is read."""
    k.reader.insert(budi())
    k.to_state("choose_documents")
    k.enter_code("kartu_keluarga")
    k.flow.post("print_selected", doc_ids=list(k.flow.view().reserved))
    k.to_state("printing")
    k.reader.remove()
    k.to_state("done")
    left = k.flow.seconds_left()
    assert left is not None and left <= timeouts.DONE_CARD_GONE
    k.clock.now += timeouts.DONE_CARD_GONE
    k.flow.fire_timers()
    assert k.flow.state == "attract"
    k.reader.insert(VirtualEktp(issue(SITI)))
    k.to_state("verify_finger")
    assert k.flow.session.nik == SITI


def test_a_card_left_on_the_reader_at_idle_asks_to_lift_and_tap(k: Rigged) -> None:
    """GIVEN a session that ended in an error with the card left on the reader WHEN the
    idle screen returns (timeout) THEN it asks to lift the card and tap again, and a lift
    and a tap start a new read."""
    k.reader.insert(budi(fault="blank"))
    k.to_state("error")
    k.clock.now += timeouts.STATE_TIMEOUTS["error"]
    k.flow.fire_timers()
    assert k.flow.state == "attract"
    assert k.flow.view().prompt == messages.LIFT_AND_TAP
    k.reader.remove()
    k.run_until(lambda: k.flow.view().prompt == "", "the lift")
    k.reader.insert(budi())
    k.to_state("verify_finger")


def test_a_failed_print_is_released_once_with_its_first_cause(k: Rigged, tmp_path: Path) -> None:
    """GIVEN a print the printer aborts WHEN the session then ends THEN the job was
    released once, for the printer's cause (the session's end neither releases it again
    nor overwrites why)."""
    store = KioskStore(tmp_path / "kiosk.db")
    k.flow.services.printer.store = store
    try:
        k.spooler.final_state = JobState.ABORTED
        k.reader.insert(budi())
        k.to_state("choose_documents")
        k.enter_code("kartu_keluarga")
        k.flow.post("print_selected", doc_ids=list(k.flow.view().reserved))
        k.to_state("error")
        (job,) = store.jobs(states=("released", "failed"))
        cause = job.error
        k.flow.post("finish")
        k.to_state("attract")
        k.run_until(lambda: store.job(job.job_id).state == "released", "the release")
        k.flow.shutdown()  # every follow-up of the session done
        record = store.job(job.job_id)
        assert record is not None and record.error == cause and "session" not in cause
        assert [i.action for i in store.outbox_of(job.job_id)] == ["release"]
    finally:
        store.close()


def _printing_budi(k: Rigged) -> None:
    k.reader.insert(budi())
    k.to_state("choose_documents")
    k.enter_code("kartu_keluarga")
    k.flow.post("print_selected", doc_ids=list(k.flow.view().reserved))


@pytest.mark.parametrize("moment", ["printing", "done", "error", "idle"])
def test_a_new_card_tapped_at_any_moment_of_a_sessions_end_is_read(k: Rigged, moment: str) -> None:
    """GIVEN a session ending (printing, done, an error, the idle screen just back) WHEN
    the next citizen taps a card THEN it is read, at once or after the screen asked to
    lift it and tap again; it is never silently ignored."""
    siti = VirtualEktp(issue(SITI))

    def swap() -> None:
        """The last card is lifted (the slot seen empty: a hand takes longer than a
        poll) and the next citizen's card tapped."""
        k.reader.remove()
        k.run_until(lambda: k.watcher.state is ReaderState.EMPTY, "the lift")
        k.reader.insert(siti)

    if moment in ("printing", "done"):
        _printing_budi(k)
        k.to_state("printing" if moment == "printing" else "done")
        swap()  # the next citizen, while the paper still comes out / on "done"
    elif moment == "error":
        k.reader.insert(budi(fault="blank"))
        k.to_state("error")
        swap()
    else:
        k.reader.insert(budi(fault="blank"))
        k.to_state("error")
        k.clock.now += timeouts.STATE_TIMEOUTS["error"]
        k.flow.fire_timers()  # back to idle with the card still on the reader
        swap()

    def read_or_asked() -> bool:
        if k.flow.state in ("done", "printing"):  # the end of the last session runs out
            k.clock.now += timeouts.DONE_CARD_GONE
            k.flow.fire_timers()
        return k.flow.state == "verify_finger" or (
            k.flow.state == "attract" and k.flow.view().prompt == messages.LIFT_AND_TAP
        )

    k.run_until(read_or_asked, "the new card read or the lift-and-tap prompt")
    if k.flow.state == "attract":
        k.reader.remove()
        k.run_until(lambda: k.flow.view().prompt == "", "the lift")
        k.reader.insert(VirtualEktp(issue(SITI)))
    k.to_state("verify_finger")
    assert k.flow.session.nik == SITI


def test_a_completed_print_is_measured_for_its_mediums_deadline(k: Rigged) -> None:
    """The print service measures each completed job on its medium (the deadline of the
    next job of that medium follows the measurements: tests/test_tracking.py)."""
    printer = k.flow.services.printer
    assert printer.times.samples("a4") == ()
    _printing_budi(k)
    k.to_state("done")
    (seconds,) = printer.times.samples("a4")
    assert seconds >= 0 and printer.times.samples("card") == ()
