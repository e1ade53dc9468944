"""The citizen session flow: a state machine (``transitions``) driven by events.

Threading model: the flow lives on one thread (the Qt main thread, or the headless loop).
Anything that blocks (card, fingerprint, server, printer) runs in a worker from
``executor``; its result comes back as an event through :meth:`Flow.post`, which is the
only thread-safe entry point.  Events are applied by :meth:`Flow.process_pending` on the
flow's thread.  Every session has a generation number: results of work started in an
earlier session are dropped, so a slow worker cannot leak one citizen's data into the
next session.  Leaving a session (entering ``attract``) wipes its personal data.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from transitions import EventData, Machine

from drivers.card.base import CardError, Identity, ReaderState
from drivers.card.ektp import EktpData
from drivers.fingerprint.base import (
    RETRYABLE as FINGER_RETRYABLE,
)
from drivers.fingerprint.base import (
    FingerMatch,
    FingerMismatch,
    FingerprintError,
    FingerprintMatcher,
    MatchResult,
    NoFinger,
)
from kiosk import messages, timeouts
from kiosk.card_service import CardService
from kiosk.diagnostics import Check, Diagnostics
from kiosk.print_service import PrintFailed, PrintResult, PrintService
from kiosk.server_client import Locked, Reservation, ServerClient, ServerError, WrongSecret
from kiosk.technician import PinGuard, PinVerdict
from printing.spooler import SpoolerError
from protocol.nik import mask_nik

log = logging.getLogger("kiosk.flow")

STATES = [
    "starting",
    "attract",
    "reading_card",
    "verify_finger",
    "enter_pin",
    "loading_documents",
    "choose_documents",
    "enter_code",
    "checking_code",
    "printing",
    "done",
    "error",
    "out_of_service",
    "technician_pin",
    "diagnostics",
]

_SESSION_STATES = [
    s
    for s in STATES
    if s
    not in ("starting", "attract", "printing", "out_of_service", "technician_pin", "diagnostics")
]
# Card removal ends a session only where the card identified the citizen.
_CARD_SESSION_STATES = [s for s in _SESSION_STATES if s != "enter_pin"]

TRANSITIONS: list[dict[str, Any]] = [
    # Start-up: devices opened and unfinished print jobs reconciled off the GUI thread; the
    # health monitor's first verdict says whether the kiosk can serve.
    {"trigger": "service_up", "source": "starting", "dest": "attract"},
    {"trigger": "service_down", "source": "starting", "dest": "out_of_service"},
    # The e-KTP path is offered only with a fingerprint scanner to match the chip against.
    {
        "trigger": "card_inserted",
        "source": "attract",
        "dest": "reading_card",
        "conditions": "_ektp_offered",
    },
    {"trigger": "card_read", "source": "reading_card", "dest": "verify_finger"},
    {"trigger": "card_failed", "source": "reading_card", "dest": "error"},
    {"trigger": "finger_matched", "source": "verify_finger", "dest": "loading_documents"},
    # A finger that does not match (or is not placed, or images poorly) may try again up
    # to the configured attempts; then, or when the scanner fails, NIK + PIN is offered.
    {
        "trigger": "finger_failed",
        "source": "verify_finger",
        "dest": "verify_finger",
        "conditions": "_finger_again",
    },
    {
        "trigger": "finger_failed",
        "source": "verify_finger",
        "dest": "enter_pin",
        "conditions": "_finger_fallback",
    },
    {"trigger": "finger_failed", "source": "verify_finger", "dest": "error"},
    # Without an e-KTP: NIK + PIN typed on the screen, or a QR login token scanned.
    {"trigger": "pin_login", "source": "attract", "dest": "enter_pin"},
    {"trigger": "pin_entered", "source": "enter_pin", "dest": "loading_documents"},
    {
        "trigger": "qr_scanned",
        "source": "attract",
        "dest": "loading_documents",
        "conditions": "_qr_offered",
    },
    {"trigger": "documents_loaded", "source": "loading_documents", "dest": "choose_documents"},
    {
        "trigger": "login_refused",
        "source": "loading_documents",
        "dest": "enter_pin",
        "conditions": "_by_pin",
    },
    {"trigger": "login_refused", "source": "loading_documents", "dest": "error"},
    {"trigger": "documents_failed", "source": "loading_documents", "dest": "error"},
    # Each document's single-use print code; the server reserves it when the code is right.
    {
        "trigger": "document_tapped",
        "source": "choose_documents",
        "dest": "enter_code",
        "conditions": "_tappable",
    },
    {"trigger": "code_entered", "source": "enter_code", "dest": "checking_code"},
    # A print code may be scanned (the QR on the citizen's notice) instead of typed.
    {
        "trigger": "qr_scanned",
        "source": "enter_code",
        "dest": "checking_code",
        "conditions": "_scanned_code",
    },
    # A serial device came or went: the screen offers only the paths it can serve.
    {
        "trigger": "devices_changed",
        "source": list(STATES),
        "dest": None,
        "after": "_on_devices_changed",
    },
    {"trigger": "cancel", "source": "enter_code", "dest": "choose_documents"},
    {"trigger": "code_accepted", "source": "checking_code", "dest": "choose_documents"},
    {"trigger": "code_rejected", "source": "checking_code", "dest": "enter_code"},
    {"trigger": "code_failed", "source": "checking_code", "dest": "error"},
    {
        "trigger": "print_selected",
        "source": "choose_documents",
        "dest": "printing",
        "conditions": "_selection_valid",
    },
    {"trigger": "print_progress", "source": "printing", "dest": None, "after": "_on_progress"},
    {"trigger": "document_printed", "source": "printing", "dest": None, "after": "_on_printed"},
    {"trigger": "all_printed", "source": "printing", "dest": "done"},
    {"trigger": "print_failed", "source": "printing", "dest": "error"},
    # The paper keeps coming out when the card is pulled mid-print; the session ends after.
    {"trigger": "card_removed", "source": "printing", "dest": None, "after": "_on_card_gone"},
    {
        "trigger": "card_removed",
        "source": _CARD_SESSION_STATES,
        "dest": "attract",
        "conditions": "_by_card",
    },
    {"trigger": "timeout", "source": list(timeouts.STATE_TIMEOUTS), "dest": "attract"},
    {
        "trigger": "finish",
        "source": ["choose_documents", "enter_pin", "done", "error"],
        "dest": "attract",
    },
    # Devices are judged between sessions only: a citizen's session is never cut short.
    {"trigger": "card_removed", "source": "attract", "dest": None, "after": "_card_lifted"},
    {"trigger": "service_down", "source": "attract", "dest": "out_of_service"},
    {"trigger": "service_down", "source": "out_of_service", "dest": None, "after": "_on_down"},
    {
        "trigger": "service_up",
        "source": "out_of_service",
        "dest": "attract",
        "unless": "_manually_closed",
    },
    # The technician: a PIN (hash in the config), then checks, a test print, the switch.
    {
        "trigger": "technician_requested",
        "source": ["attract", "out_of_service"],
        "dest": "technician_pin",
    },
    # The PIN is checked in a worker (a slow hash, the lockout count from the store).
    {
        "trigger": "technician_pin_entered",
        "source": "technician_pin",
        "dest": None,
        "after": "_check_technician_pin",
    },
    {
        "trigger": "technician_pin_checked",
        "source": "technician_pin",
        "dest": "diagnostics",
        "conditions": "_technician_pin_ok",
    },
    {"trigger": "technician_pin_checked", "source": "technician_pin", "dest": "attract"},
    {"trigger": "technician_pin_failed", "source": "technician_pin", "dest": "attract"},
    {"trigger": "cancel", "source": "technician_pin", "dest": "attract"},
    {"trigger": "run_checks", "source": "diagnostics", "dest": None, "after": "_run_checks"},
    {"trigger": "checks_failed", "source": "diagnostics", "dest": None, "after": "_tech_note"},
    {"trigger": "checks_done", "source": "diagnostics", "dest": None, "after": "_checks_done"},
    {"trigger": "test_print", "source": "diagnostics", "dest": None, "after": "_test_print"},
    # Live tests of the serial devices: a finger captured, a code scanned.
    {"trigger": "test_devices", "source": "diagnostics", "dest": None, "after": "_test_devices"},
    {"trigger": "devices_tested", "source": "diagnostics", "dest": None, "after": "_tech_note"},
    {
        "trigger": "devices_test_failed",
        "source": "diagnostics",
        "dest": None,
        "after": "_tech_note",
    },
    {"trigger": "test_print_done", "source": "diagnostics", "dest": None, "after": "_tech_note"},
    {"trigger": "test_print_failed", "source": "diagnostics", "dest": None, "after": "_tech_note"},
    {
        "trigger": "close_kiosk",
        "source": "diagnostics",
        "dest": "out_of_service",
        "after": "_close",
    },
    {"trigger": "open_kiosk", "source": "diagnostics", "dest": None, "after": "_open"},
    {
        "trigger": "diagnostics_done",
        "source": "diagnostics",
        "dest": "out_of_service",
        "conditions": "_manually_closed",
    },
    {"trigger": "diagnostics_done", "source": "diagnostics", "dest": "attract"},
]

StateListener = Callable[[str, "SessionView"], None]


@dataclass
class Session:
    """Everything personal about the current citizen; replaced wholesale on exit."""

    identity: Identity | None = None
    card: EktpData | None = None  # photo and templates: memory only, gone with the session
    method: str = ""  # how the citizen identified: ektp | pin | qr
    nik: str = ""  # "" after a QR login (the kiosk never learns it)
    name: str = ""
    server_session: str = ""  # bearer token of the citizen's session at the server
    documents: list[dict[str, Any]] = field(default_factory=list)
    reservations: dict[int, Reservation] = field(default_factory=dict)  # code accepted
    code_doc: int | None = None  # the document whose print code is being typed
    prompt: str = ""  # why the PIN or code screen is shown again (wrong entry)
    selected: list[int] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)  # the technician's last device checks
    results: list[PrintResult] = field(default_factory=list)
    progress: str = ""
    error: str = ""
    card_gone: bool = False
    finger_tries: int = 0  # finger attempts that failed in this session


@dataclass(frozen=True)
class SessionView:
    """A read-only snapshot the UI renders (masked NIK: screens may be photographed)."""

    state: str
    name: str
    masked_nik: str
    documents: tuple[dict[str, Any], ...]
    selected: tuple[int, ...]
    reserved: tuple[int, ...]
    code_doc: int | None
    prompt: str
    results: tuple[PrintResult, ...]
    progress: str
    error: str
    seconds_left: float | None
    photo: bytes = b""
    checks: tuple[Check, ...] = ()
    closed: str = ""  # why the technician closed the kiosk ("" = open)
    # The idle screen's notice as the office last set it remotely (None: as configured).
    office_notice: str | None = None
    # How a citizen can identify here: only the paths whose devices exist.
    paths: tuple[str, ...] = ("ektp", "pin", "qr")


@dataclass
class Services:
    """The collaborators the flow uses, all behind driver or client interfaces."""

    card: CardService
    matcher: FingerprintMatcher | None  # None: no scanner, so no e-KTP path
    server: ServerClient
    printer: PrintService
    diagnostics: Diagnostics | None = None
    technician: PinGuard | None = None  # None: the screen entry is disabled
    # A QR scanner posts qr_scanned; a callable says whether it is there right now.
    qr_scanner: bool | Callable[[], bool] = False
    reader_state: Callable[[], ReaderState] | None = None  # the card slot, as last seen
    finger_attempts: int = 4  # per session, then NIK + PIN is offered

    @property
    def paths(self) -> tuple[str, ...]:
        """The ways in that work right now (a scanner unplugged is not offered)."""
        finger = self.matcher is not None and getattr(self.matcher, "available", True)
        qr = self.qr_scanner() if callable(self.qr_scanner) else self.qr_scanner
        return (*(("ektp",) if finger else ()), "pin", *(("qr",) if qr else ()))


class Flow:
    # Attributes that ``transitions`` adds to the model, declared for the type checker.
    state: str
    trigger: Callable[..., bool]

    def __init__(
        self,
        services: Services,
        *,
        executor: Executor | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.services = services
        self._executor = executor or ThreadPoolExecutor(4, thread_name_prefix="kiosk-worker")
        self._clock = clock
        self._events: queue.Queue[tuple[str, int | None, dict[str, Any]]] = queue.Queue()
        self._first: tuple[str, int | None, dict[str, Any]] | None = None
        self._listeners: list[StateListener] = []
        self._action_listeners: list[Callable[..., None]] = []
        self._wakeups: list[Callable[[], None]] = []
        self._generation = 0
        self._verdict: tuple[str, dict[str, Any]] = ("service_up", {})
        self._deadline: float | None = None
        self.session = Session()
        # Set by the office (kiosk.remote) from the health thread; read for each view.
        self.office_notice: str | None = None
        self.machine = Machine(
            model=self,
            states=STATES,
            transitions=TRANSITIONS,
            initial="starting",
            send_event=True,
            auto_transitions=False,
            ignore_invalid_triggers=True,
            queued=True,
            after_state_change="_after_change",
        )

    # --- the thread-safe entry point and the loop side ------------------------------------
    def post(self, trigger: str, *, generation: int | None = None, **kwargs: Any) -> None:
        """Queue an event from any thread; ``generation`` ties it to one session."""
        self._events.put((trigger, generation, kwargs))
        for wake in self._wakeups:
            wake()

    def add_wakeup(self, wake: Callable[[], None]) -> None:
        """Called (from any thread) whenever an event is posted: the driver loop's doorbell."""
        self._wakeups.append(wake)

    def add_action_listener(self, listener: Callable[..., None]) -> None:
        """Called with (kind, **detail) for every technician action (the audit log)."""
        self._action_listeners.append(listener)

    def _action(self, kind: str, **detail: object) -> None:
        for listener in self._action_listeners:
            listener(kind, **detail)

    def add_listener(self, listener: StateListener) -> None:
        """Called on the flow's thread after every state change and view update."""
        self._listeners.append(listener)

    def remove_listener(self, listener: StateListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def remove_wakeup(self, wake: Callable[[], None]) -> None:
        if wake in self._wakeups:
            self._wakeups.remove(wake)

    def process_pending(self) -> int:
        """Apply every queued event, then any due timeout; return how many were applied."""
        n = 0
        while True:
            if self._first is not None:
                (trigger, generation, kwargs), self._first = self._first, None
            else:
                try:
                    trigger, generation, kwargs = self._events.get_nowait()
                except queue.Empty:
                    break
            if generation is not None and generation != self._generation:
                self._stale(trigger, kwargs)
                continue
            if trigger in ("service_up", "service_down"):
                # Remembered even where the table ignores it (in a session): the session's
                # end goes to the kiosk's current health, not the last one acted on.
                self._verdict = (trigger, dict(kwargs))
            before = self.state
            self.trigger(trigger, **kwargs)
            if self.state == before:
                log.debug("%s in %s: no transition", trigger, before)
            n += 1
        self.fire_timers()
        return n

    def run_once(self, max_wait: float) -> None:
        """Headless loop step: wait for an event or the next deadline, then process."""
        wait = max_wait
        left = self.seconds_left()
        if left is not None:
            wait = max(0.0, min(wait, left))
        try:
            # Only wait here: the event stays first (putting it back would queue it behind
            # any event posted meanwhile and reorder them).
            item = self._events.get(timeout=wait)
        except queue.Empty:
            pass
        else:
            self._first = item
        self.process_pending()

    def fire_timers(self) -> None:
        if self._deadline is not None and self._clock() >= self._deadline:
            self._deadline = None
            log.info("inactivity timeout in %s", self.state)
            self.trigger("timeout")

    def seconds_left(self) -> float | None:
        """Time until the current state's inactivity timeout (None: the state has none)."""
        if self._deadline is None:
            return None
        return max(0.0, self._deadline - self._clock())

    def touch(self) -> None:
        """The citizen did something: restart the current state's inactivity timeout."""
        limit = timeouts.STATE_TIMEOUTS.get(self.state)
        if limit is not None and self.state == "done" and self.session.card_gone:
            # The card left during printing: once the paper is out nobody is waited for,
            # and the next citizen's tap must not meet a "done" screen for long.
            limit = min(limit, timeouts.DONE_CARD_GONE)
        self._deadline = None if limit is None else self._clock() + limit

    def view(self) -> SessionView:
        s = self.session
        return SessionView(
            state=self.state,
            name=s.name,
            masked_nik=mask_nik(s.nik) if s.nik else "",
            documents=tuple(s.documents),
            selected=tuple(s.selected),
            reserved=tuple(s.reservations),
            code_doc=s.code_doc,
            prompt=s.prompt,
            checks=tuple(s.checks),
            closed=self.services.diagnostics.manual_out_of_service
            if self.services.diagnostics
            else "",
            results=tuple(s.results),
            progress=s.progress,
            error=s.error,
            seconds_left=self.seconds_left(),
            photo=s.card.photo if s.card else b"",
            paths=self.services.paths,
            office_notice=self.office_notice,
        )

    @property
    def generation(self) -> int:
        """The session counter (the flow's own; ties a worker's answer to its session)."""
        return self._generation

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    # --- helpers ----------------------------------------------------------------------
    def _announce(self) -> None:
        view = self.view()
        for listener in self._listeners:
            listener(self.state, view)

    def _spawn(
        self, fn: Callable[[], Any], ok: str, fail: str | Callable[[BaseException], str]
    ) -> None:
        """Run ``fn`` in a worker; post ``ok(result=...)`` or ``fail(error=...)`` back
        (``fail`` may pick the event from the exception)."""
        generation = self._generation

        def done(fut: Future[Any]) -> None:
            if fut.cancelled():  # the flow is shutting down: nobody waits for the answer
                return
            exc = fut.exception()
            if exc is None:
                self.post(ok, generation=generation, result=fut.result())
            else:
                expected = CardError | FingerprintError | ServerError | PrintFailed | SpoolerError
                if not isinstance(exc, expected):
                    log.error("worker for %s failed unexpectedly", ok, exc_info=exc)
                event = fail(exc) if callable(fail) else fail
                self.post(event, generation=generation, error=exc)

        self._executor.submit(fn).add_done_callback(done)

    # --- callbacks bound by name by ``transitions`` --------------------------------------
    def _after_change(self, event: EventData) -> None:
        source = event.transition.source if event.transition else "?"
        log.info("%s --%s--> %s", source, event.event.name, self.state)
        self.touch()
        self._announce()

    def on_enter_attract(self, event: EventData) -> None:
        # Wipe: a new Session object, and results of work still running are now stale.
        old = self.session
        self._generation += 1
        self.session = Session()
        printed = {r.doc_id for r in old.results}
        unprinted = [r for d, r in old.reservations.items() if d not in printed]
        if unprinted or old.server_session:
            self._executor.submit(self._close_session, old.server_session, unprinted)
        verdict, detail = self._verdict
        if verdict == "service_down":  # it came during the session: act on it now
            self.post("service_down", **detail)
            return
        reader = self.services.reader_state
        card_waiting = reader is not None and reader() is ReaderState.PRESENT
        if "ektp" in self.services.paths and card_waiting:
            # A card already on the reader sent no "inserted": it is the last citizen's,
            # or a new one tapped too early.  Lift and tap starts afresh.
            self.session.prompt = messages.LIFT_AND_TAP

    def _card_lifted(self, event: EventData) -> None:
        self.session.prompt = ""

    def _stale(self, trigger: str, kwargs: dict[str, Any]) -> None:
        """An answer for a session that has ended.  What it created at the server is given
        back: a reservation is released (through the outbox, recorded and audited), a
        session opened there is ended; anything else is dropped."""
        result = kwargs.get("result")
        if trigger == "code_accepted" and isinstance(result, Reservation):
            log.warning("job %s reserved after its session ended; releasing it", result.job_id)
            self._action("late_reservation_released", job=result.job_id)
            self._executor.submit(
                self._close_session, "", [result], "session ended before the code was accepted"
            )
        elif trigger == "documents_loaded" and isinstance(result, tuple):
            token = str(result[0].get("session", "")) if isinstance(result[0], dict) else ""
            log.warning("server session opened after the citizen left; ending it")
            self._action("late_session_ended")
            self._executor.submit(self._close_session, token, [])
        else:
            log.debug("dropped stale %s from an earlier session", trigger)

    def _close_session(
        self,
        token: str,
        unprinted: list[Reservation],
        reason: str = "session ended before printing",
    ) -> None:
        """Give back what the citizen reserved but did not print; end the server session."""
        for res in unprinted:
            try:
                self.services.printer.release(res, reason)
            except Exception:  # the outbox retries it; the failure must still be seen
                log.exception("releasing job %s after the session failed", res.job_id)
        if token:
            try:
                self.services.server.end_session(token)
            except ServerError as exc:
                log.info("could not end the server session: %s", exc)

    def on_enter_reading_card(self, event: EventData) -> None:
        self._spawn(self.services.card.read, "card_read", "card_failed")

    def on_enter_verify_finger(self, event: EventData) -> None:
        s = self.session
        if event.event.name == "finger_failed":  # another attempt with the same card
            assert s.card is not None
            card = s.card
            left = self.services.finger_attempts - s.finger_tries
            s.prompt = messages.finger_retry(event.kwargs.get("error"), left)
        else:
            card = event.kwargs["result"]
            s.card, s.identity, s.finger_tries, s.prompt = card, card.identity, 0, ""
            s.method, s.nik = "ektp", card.identity.nik
            s.name = card.identity.name
            log.info("card read: NIK %s", mask_nik(card.identity.nik))
        matcher = self.services.matcher
        assert matcher is not None  # the e-KTP path is offered only with a scanner

        def verify() -> FingerMatch:
            match = matcher.verify(card.templates, timeouts.FINGER_CAPTURE)
            if match.result is MatchResult.NO_FINGER:
                raise NoFinger("no finger placed within the time allowed")
            if match.result is not MatchResult.MATCH:
                raise FingerMismatch(f"finger does not match the card (score {match.score:.2f})")
            return match

        self._spawn(verify, "finger_matched", "finger_failed")

    def on_enter_enter_pin(self, event: EventData) -> None:
        if event.event.name == "finger_failed":
            # The e-KTP path gave up: the chip's data (photo, templates) is not kept for
            # a session that goes on by NIK + PIN.
            s = self.session
            s.card, s.identity, s.method, s.name = None, None, "", ""
            s.prompt = messages.finger_fallback(event.kwargs.get("error"))
        elif event.event.name == "login_refused":
            self.session.prompt = messages.for_citizen(event.kwargs.get("error"))
        else:
            self.session.prompt = ""

    def on_enter_loading_documents(self, event: EventData) -> None:
        s = self.session
        server = self.services.server
        if event.event.name == "finger_matched":
            match: FingerMatch = event.kwargs["result"]
            # What was measured, as measured: the chip passed authentication in the card
            # read, and the matcher decided MATCH with this score.
            assert s.card is not None  # set on entering verify_finger
            evidence = s.card.evidence
            fields: dict[str, Any] = {
                "nik": s.nik,
                "card": {
                    "chip_authenticated": True,
                    "fingerprint_matched": match.result is MatchResult.MATCH,
                    "finger_score": round(float(match.score), 4),
                    "signed_data_sha256": evidence.signed_data_sha256,
                    "sam_session": evidence.sam_session,
                },
            }
        elif event.event.name == "pin_entered":
            s.method, s.nik = "pin", str(event.kwargs.get("nik", ""))
            fields = {"nik": s.nik, "pin": str(event.kwargs.get("pin", ""))}
        else:
            s.method = "qr"
            fields = {"token": str(event.kwargs.get("token", ""))}
        method = s.method
        printer = self.services.printer

        def load() -> tuple[dict[str, Any], list[dict[str, Any]]]:
            opened = server.open_session(method, **fields)
            return opened, printer.annotate(server.list_documents(opened["session"]))

        self._spawn(load, "documents_loaded", _login_failure)

    def _ektp_offered(self, event: EventData) -> bool:
        return "ektp" in self.services.paths

    def _on_devices_changed(self, event: EventData) -> None:
        self._announce()  # the screen shows only the paths that work now

    def _finger_again(self, event: EventData) -> bool:
        """A citizen's failed attempt (not a scanner fault) with attempts left; counts it."""
        if not isinstance(event.kwargs.get("error"), FINGER_RETRYABLE):
            return False
        self.session.finger_tries += 1
        return self.session.finger_tries < self.services.finger_attempts

    def _finger_fallback(self, event: EventData) -> bool:
        """Attempts used up, or the scanner itself failed: NIK + PIN instead."""
        return isinstance(event.kwargs.get("error"), FingerprintError)

    def _scanned_code(self, event: EventData) -> bool:
        """A scanned text that is a print code (eight digits): checked as if typed."""
        code = str(event.kwargs.get("token", ""))
        if len(code) == 8 and code.isascii() and code.isdigit():
            event.kwargs["code"] = code
            return True
        return False

    def _qr_offered(self, event: EventData) -> bool:
        return "qr" in self.services.paths

    def _by_pin(self, event: EventData) -> bool:
        return self.session.method == "pin" and isinstance(event.kwargs.get("error"), WrongSecret)

    def _by_card(self, event: EventData) -> bool:
        return self.session.method in ("", "ektp")

    def on_enter_choose_documents(self, event: EventData) -> None:
        s = self.session
        s.code_doc, s.prompt = None, ""
        if event.event.name == "documents_loaded":
            opened, documents = event.kwargs["result"]
            s.server_session = str(opened["session"])
            s.name = s.name or str(opened.get("name") or "")
            s.documents = list(documents)
        elif event.event.name == "code_accepted":
            res: Reservation = event.kwargs["result"]
            s.reservations[res.document_id] = res

    def _tappable(self, event: EventData) -> bool:
        doc_id = event.kwargs.get("doc_id")
        offered = {d["id"] for d in self.session.documents if not d.get("unavailable")}
        return doc_id in offered and doc_id not in self.session.reservations

    def on_enter_enter_code(self, event: EventData) -> None:
        s = self.session
        if event.event.name == "document_tapped":
            s.code_doc, s.prompt = int(event.kwargs["doc_id"]), ""
        else:  # code_rejected
            s.prompt = messages.for_citizen(event.kwargs.get("error"))

    def on_enter_checking_code(self, event: EventData) -> None:
        s = self.session
        assert s.code_doc is not None
        doc = next(d for d in s.documents if d["id"] == s.code_doc)
        code, token = str(event.kwargs.get("code", "")), s.server_session
        printer = self.services.printer
        self._spawn(
            lambda: printer.reserve(token, doc, code),
            "code_accepted",
            lambda exc: "code_rejected" if isinstance(exc, WrongSecret) else "code_failed",
        )

    def _selection_valid(self, event: EventData) -> bool:
        wanted = list(event.kwargs.get("doc_ids", ()))
        return bool(wanted) and all(d in self.session.reservations for d in wanted)

    def on_enter_printing(self, event: EventData) -> None:
        self.session.selected = list(event.kwargs["doc_ids"])
        self._print_next()

    def _print_next(self) -> None:
        done = {r.doc_id for r in self.session.results}
        remaining = [d for d in self.session.selected if d not in done]
        if not remaining:
            self.post("all_printed", generation=self._generation)
            return
        doc_id = remaining[0]
        generation = self._generation
        reservation = self.session.reservations[doc_id]

        def progress(step: str) -> None:
            self.post("print_progress", generation=generation, step=step, doc_id=doc_id)

        self._spawn(
            lambda: self.services.printer.print_reserved(reservation, progress),
            "document_printed",
            "print_failed",
        )

    def _on_progress(self, event: EventData) -> None:
        self.session.progress = str(event.kwargs.get("step", ""))

    def _on_printed(self, event: EventData) -> None:
        self.session.results.append(event.kwargs["result"])
        self.session.progress = ""
        self._print_next()

    def _on_card_gone(self, event: EventData) -> None:
        self.session.card_gone = True

    # --- the technician ------------------------------------------------------------------
    def _check_technician_pin(self, event: EventData) -> None:
        guard = self.services.technician
        pin = str(event.kwargs.get("pin", ""))
        enabled = guard is not None and self.services.diagnostics is not None

        def check() -> PinVerdict:
            if guard is None or not enabled:
                return PinVerdict(False, 0, None)
            return guard.check(pin)

        self._spawn(check, "technician_pin_checked", "technician_pin_failed")

    def _technician_pin_ok(self, event: EventData) -> bool:
        """Every verdict is audited; the lockout is counted from these rows."""
        verdict: PinVerdict = event.kwargs["result"]
        if verdict.ok:
            log.warning("technician PIN accepted")
            self._action("technician_login")
        elif verdict.locked_until is not None and verdict.attempts_left < 0:
            # Refused unchecked: the entry was locked already (not an attempt).
            log.warning("technician PIN entry locked until %s", verdict.locked_until)
            self._action("technician_pin_locked", until=verdict.locked_until.isoformat())
        else:
            log.warning("technician PIN refused; %d attempts left", verdict.attempts_left)
            self._action("technician_pin_refused", attempts_left=verdict.attempts_left)
        return verdict.ok

    def _manually_closed(self, event: EventData) -> bool:
        d = self.services.diagnostics
        return d is not None and bool(d.manual_out_of_service)

    def on_enter_diagnostics(self, event: EventData) -> None:
        self.session.prompt = ""
        self._run_checks(event)

    def _run_checks(self, event: EventData) -> None:
        d = self.services.diagnostics
        assert d is not None
        self._spawn(d.run_checks, "checks_done", "checks_failed")

    def _checks_done(self, event: EventData) -> None:
        self.session.checks = list(event.kwargs["result"])

    def _test_print(self, event: EventData) -> None:
        d = self.services.diagnostics
        assert d is not None
        self.session.prompt = "test_printing"
        self._action("technician_test_print")
        self._spawn(d.test_print, "test_print_done", "test_print_failed")

    def _test_devices(self, event: EventData) -> None:
        d = self.services.diagnostics
        assert d is not None
        self.session.prompt = "device_test_running"
        self._action("technician_device_test")
        self._spawn(d.device_test, "devices_tested", "devices_test_failed")

    def _tech_note(self, event: EventData) -> None:
        error = event.kwargs.get("error")
        # The technician sees the raw outcome (a check's own words, an exception).
        if error:
            self.session.prompt = messages.notice("technician_failed", detail=str(error)[:200])
        else:
            result = str(event.kwargs.get("result", ""))[:300]
            code, _values = messages.parse(result)
            if code in ("device_test", "no_serial_devices"):  # a notice of its own
                self.session.prompt = result
            else:
                self.session.prompt = messages.notice("technician_result", detail=result)

    def _close(self, event: EventData) -> None:
        d = self.services.diagnostics
        assert d is not None
        given = str(event.kwargs.get("reason") or "")
        # The technician's own words travel as a value of the notice, as typed.
        reason = (
            messages.notice("closed_by_technician", reason=given) if given else "closed_maintenance"
        )
        d.manual_out_of_service = reason
        self.session.error = reason
        self._action("technician_closed_kiosk", reason=reason)

    def _open(self, event: EventData) -> None:
        d = self.services.diagnostics
        assert d is not None
        verdict, detail = self._verdict
        if verdict == "service_down" and detail.get("reason") == d.manual_out_of_service:
            # That "down" was the technician's own closing, now lifted; the health check
            # reports the devices again on its next round.
            self._verdict = ("service_up", {})
        d.manual_out_of_service = ""
        self.session.prompt = "kiosk_reopened"
        self._action("technician_opened_kiosk")

    def on_enter_out_of_service(self, event: EventData) -> None:
        self._on_down(event)

    def _on_down(self, event: EventData) -> None:
        d = self.services.diagnostics
        manual = d.manual_out_of_service if d is not None else ""
        self.session.error = str(event.kwargs.get("reason") or manual)
        log.warning("out of service: %s", self.session.error)

    def on_enter_error(self, event: EventData) -> None:
        error = event.kwargs.get("error")
        self.session.error = messages.for_citizen(error)
        log.warning("session error after %s: %s", event.event.name, error)


def _login_failure(exc: BaseException) -> str:
    return "login_refused" if isinstance(exc, WrongSecret | Locked) else "documents_failed"
