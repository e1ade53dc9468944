"""Composition root: builds the kiosk from its configuration, picking each backend by name.

Only real backends are built here (pcsc, cups, the central server over mTLS): a
simulated backend is refused, whatever the mode, because only the simulator layer
(``sim.compose``) may build one and hand it in.  Native modules (pyscard, pycups) are
imported lazily inside their backends, so this module and the whole core import on a
machine without them.

Start-up never blocks the caller's thread on a device: :meth:`KioskApp.start` builds the
objects, starts the card watcher and the health monitor, and returns; the health
monitor's thread opens the devices, reconciles print jobs a crash left unfinished, and
then posts the first verdict (``service_up`` or ``service_down``) that takes the flow out
of ``starting``.  A device missing at boot keeps the kiosk out of service and is opened
again every health round until it appears.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from drivers.card.base import CardReader, ReaderState
from drivers.card.sam import SecureAccessModule
from drivers.fingerprint.base import FingerprintMatcher, NoFinger, PoorImage
from drivers.qr.base import QrScanner
from kiosk import messages, timeouts
from kiosk.card_service import CardService, make_card_service, make_reader, make_sam
from kiosk.card_watch import CardWatcher
from kiosk.config import Config, ConfigError, demo_against_real_server, simulated_backend
from kiosk.diagnostics import Check, Diagnostics, finger_check, qr_check
from kiosk.flow import Flow, Services, SessionView
from kiosk.health import HealthMonitor
from kiosk.print_service import PrintService
from kiosk.reconcile import Reconciled, reconcile
from kiosk.remote import RecentErrors, RemoteActions, restart_process
from kiosk.server_client import ServerClient, Tls
from kiosk.store import KioskStore
from kiosk.technician import PIN_EVENTS, Attempt, PinGuard, attempts_from_audit
from kiosk.update_link import UpdateLink
from printing import renderers
from printing.card_stock import CardStock, MemoryCardLedger
from printing.spooler import Spooler
from protocol.journal import JournalHandler

log = logging.getLogger("kiosk.app")


def _simulated(key: str, name: str) -> ConfigError:
    return simulated_backend(key, name)


def make_spooler(config: Config) -> Spooler:
    if config.printer.backend != "cups":
        raise _simulated("printer.backend", config.printer.backend)
    from printing.cups_spooler import CupsSpooler

    return CupsSpooler(config.printer.server or os.environ.get("CUPS_SERVER") or None)


def make_matcher(config: Config) -> FingerprintMatcher | None:
    """The fingerprint scanner, or None when the kiosk has none (no e-KTP path)."""
    f = config.fingerprint
    if f.backend == "none":
        return None
    if f.backend != "serial":
        raise _simulated("fingerprint.backend", f.backend)
    from drivers.fingerprint.module import ModuleSettings
    from drivers.fingerprint.serial_backend import serial_module

    settings = ModuleSettings(baud=f.baud, packet_size=f.packet_size, threshold=f.threshold)
    return serial_module(f.port, settings)


def make_qr(config: Config) -> QrScanner | None:
    """The QR scanner, or None when the kiosk has none (no QR path)."""
    q = config.qr
    if q.backend == "none":
        return None
    if q.backend != "serial":
        raise _simulated("qr.backend", q.backend)
    from drivers.qr.serial_backend import SerialQrScanner

    return SerialQrScanner(q.port, baud=q.baud, eol=b"\r\n" if q.eol == "crlf" else b"\r")


@dataclass(frozen=True)
class ServerLink:
    """Where the central server is and how to trust it."""

    url: str
    tls: Tls
    issuer_key: Path

    @classmethod
    def from_config(cls, config: Config) -> ServerLink:
        s = config.server
        if s.backend != "http":
            raise _simulated("server.backend", s.backend)
        return cls(s.url, Tls(Path(s.ca), Path(s.cert), Path(s.key)), Path(s.issuer_key))


@dataclass
class _Part:
    """A device the kiosk opens at start-up and again until it opens."""

    name: str
    open: Callable[[], None]
    opened: bool = False
    error: str = ""


@dataclass
class KioskApp:
    """The running kiosk minus its screen: flow, services, card watcher, health monitor.

    Collaborators may be passed in (the simulator and tests hand in theirs); whatever is
    not is built from the configuration's real backends."""

    config: Config
    reader: CardReader | None = None
    monitor: CardReader | None = None
    sam: SecureAccessModule | None = None
    spooler: Spooler | None = None
    matcher: FingerprintMatcher | None = None
    server: ServerLink | None = None
    qr_scanner: bool = False  # the demo's in-process QR path (no device)
    qr: QrScanner | None = None
    # Called after stop() (the simulator stops its embedded server here).
    closers: list[Callable[[], None]] = field(default_factory=list)
    # What the office's restart action does (SIGTERM: systemd starts the kiosk again).
    restart: Callable[[], None] = restart_process
    # The last warnings and errors, for the office's diagnostics bundle (memory only).
    recent_errors: RecentErrors = field(init=False, default_factory=RecentErrors)
    _added_last_resort: bool = field(init=False, default=False)
    flow: Flow = field(init=False)
    card: CardService = field(init=False)
    card_stock: CardStock = field(init=False)
    card_ledger: KioskStore | MemoryCardLedger = field(init=False)
    server_url: str = field(init=False, default="")
    health: HealthMonitor | None = field(init=False, default=None)
    printer: PrintService = field(init=False)
    reconciled: Reconciled | None = field(init=False, default=None)
    _watcher: CardWatcher | None = field(init=False, default=None)
    _client: ServerClient | None = field(init=False, default=None)
    _last_state: str | None = field(init=False, default="starting")
    _audited_results: int = field(init=False, default=0)
    _parts: list[_Part] = field(init=False, default_factory=list)
    _needs_reconcile: bool = field(init=False, default=True)
    _stock_loaded: bool = field(init=False, default=False)
    _prepare_lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _stopped: bool = field(init=False, default=False)
    _finger_error: str = field(init=False, default="")
    _render_error: str = field(init=False, default="")
    _render_logged: str = field(init=False, default="")
    _qr_seen: threading.Condition = field(init=False, default_factory=threading.Condition)
    # Set once ``warm_up`` is done (the renderers imported).
    warmed: threading.Event = field(init=False, default_factory=threading.Event)
    _qr_count: int = field(init=False, default=0)

    # --- start -------------------------------------------------------------------------
    def start(self, *, wait: bool = True, timeout: float = 150.0) -> None:
        """Build the kiosk and start its threads; no device I/O on this thread.

        ``wait``: drive the flow on this thread until the first verdict has taken it out
        of ``starting`` (headless callers and tests).  The screen passes False and shows
        the ``starting`` state meanwhile.  A failure part-way cleans up what was built.
        """
        try:
            self._build()
        except BaseException:
            self.stop()
            raise
        if wait:
            self.wait_started(timeout)

    def wait_started(self, timeout: float = 150.0) -> None:
        """Drive the flow on this thread until it has left ``starting``."""
        deadline = time.monotonic() + timeout
        while self.flow.state == "starting":
            if time.monotonic() > deadline:
                raise TimeoutError("kiosk did not finish starting")
            self.flow.run_once(0.1)

    def build_report(self) -> dict[str, object]:
        """What this kiosk is made of, as the server is told (``protocol.api.KioskBuild``):
        its mode and every part that is not a real backend this composition root built
        from the configuration (a simulator named in it, or a part handed in by the
        simulator or a test).  The kiosk vouches only for what it built itself."""
        handed = {
            "card": self.reader is not None or self.monitor is not None,
            "sam": self.sam is not None,
            "printer": self.spooler is not None,
            "fingerprint": self.matcher is not None,
            "server": self.server is not None,
            "qr": self.qr is not None or self.qr_scanner,
        }
        named = {key.split(".")[0] for key in self.config.simulated}
        simulated = sorted({part for part, given in handed.items() if given} | named)
        return {"mode": self.config.kiosk.mode, "simulated": simulated}

    def _build(self) -> None:
        cfg = self.config
        root = logging.getLogger()
        if not root.handlers and logging.lastResort is not None:
            # Nothing configured logging (a library use, a test's child process): warnings
            # went to stderr through logging's last resort, which a handler of our own
            # would switch off.  Kept, explicitly.
            root.addHandler(logging.lastResort)
            self._added_last_resort = True
        root.addHandler(self.recent_errors)
        demo_against_real_server(cfg)
        report = self.build_report()  # before anything is built here
        link = self.server or ServerLink.from_config(cfg)
        self.server_url = link.url
        self.reader = self.reader or make_reader(cfg)
        # The watcher gets its own reader (own PC/SC context): a blocking status wait on a
        # shared context would hold up the flow's card reads.
        self.monitor = self.monitor or make_reader(cfg)
        self.sam = self.sam or make_sam(cfg)
        self.spooler = self.spooler or make_spooler(cfg)
        if self.matcher is None:
            self.matcher = make_matcher(cfg)
        if self.qr is None and not self.qr_scanner:
            self.qr = make_qr(cfg)
        self.card = make_card_service(cfg, self.reader, self.sam)
        self._client = ServerClient(
            link.url, tls=link.tls, issuer_key=link.issuer_key, build=report
        )
        # Blank-card accounting; the durable ledger lives in the kiosk store.
        self.card_ledger = (
            KioskStore(Path(cfg.kiosk.store)) if cfg.kiosk.store else MemoryCardLedger()
        )
        self.card_stock = CardStock(self.card_ledger)
        self._audit("kiosk_started", kiosk=cfg.kiosk.id, server=self.server_url)
        store = self.store
        self.printer = PrintService(
            self._client,
            self.spooler,
            card_stock=self.card_stock,
            store=store,
            queues=cfg.printer.queues,
            job_memory=cfg.printer.job_memory,
        )
        self._needs_reconcile = store is not None
        self._parts = [_Part("card", self.card.open), _Part("printer", self.spooler.open)]
        # The serial devices are optional: without one its path is not offered (the
        # e-KTP path falls back to NIK + PIN), and it is used again when it returns.
        self._watcher = CardWatcher(self.monitor, lambda trigger: self.flow.post(trigger))
        diagnostics = Diagnostics(
            self.printer,
            self._reader_state,
            cfg.kiosk.id,
            devices=self.device_checks,
            live_test=self.live_device_test,
        )
        guard = None
        if cfg.technician.pin_hash:
            guard = PinGuard(
                cfg.technician.pin_hash,
                self._pin_history if store is not None else None,
                max_attempts=cfg.technician.max_attempts,
                lockout=dt.timedelta(minutes=cfg.technician.lockout_minutes),
            )
        self.flow = Flow(
            Services(
                card=self.card,
                matcher=self.matcher,
                server=self._client,
                printer=self.printer,
                diagnostics=diagnostics,
                technician=guard,
                qr_scanner=self._qr_ready if self.qr is not None else self.qr_scanner,
                reader_state=self._slot_state,
                finger_attempts=cfg.fingerprint.attempts,
            )
        )
        self.flow.add_listener(self._audit_flow)
        _journal_fields(cfg.kiosk.id, self.flow)
        self.flow.add_action_listener(self._audit)
        self._watcher.start()
        if self.qr is not None:
            self.qr.start(self._qr_code)
        self.health = HealthMonitor(
            self.flow.post,
            self._reader_state,
            self.printer,
            closed_reason=lambda: diagnostics.manual_out_of_service,
            flow_state=lambda: self.flow.state,
            prepare=self.prepare,
            devices=self.serial_devices,
            update_link=self.update_link(),
            poll=timeouts.HEALTH_POLL,  # read now, not when the module was imported
        )
        self.health.remote = RemoteActions(
            lambda: self.flow.state,
            diagnostics,
            lambda text: setattr(self.flow, "office_notice", text),
            self.health.supplies,
            errors=self.recent_errors,
            restart=self.restart,
            version=self.health.version,
        )
        self.health.start()
        log.info("kiosk %s starting; central server %s", cfg.kiosk.id, self.server_url)

    @property
    def store(self) -> KioskStore | None:
        ledger = getattr(self, "card_ledger", None)
        return ledger if isinstance(ledger, KioskStore) else None

    def _slot_state(self) -> ReaderState:
        """The slot as the watcher last saw it, without waiting (the flow's thread)."""
        return self._watcher.state if self._watcher is not None else ReaderState.UNAVAILABLE

    def _reader_state(self) -> ReaderState:
        if self._watcher is None:
            return ReaderState.UNAVAILABLE
        return self._watcher.current(timeouts.CARD_FIRST_LOOK)

    def _pin_history(self) -> list[Attempt]:
        store = self.store
        assert store is not None
        return attempts_from_audit(store.audit_events_of(PIN_EVENTS, limit=100))

    # --- serial devices ----------------------------------------------------------------
    def _qr_ready(self) -> bool:
        return self.qr is not None and self.qr.available

    def _qr_code(self, text: str) -> None:
        """A code from the QR scanner (its thread): the flow decides what it means where
        the citizen is (a login token at the start, a print code on the code screen)."""
        with self._qr_seen:
            self._qr_count += 1
            self._qr_seen.notify_all()
        self.flow.post("qr_scanned", token=text)

    def _renderers_missing(self) -> str:
        """Why no document can be rendered here ("" when they can): a library or font
        missing (checked every health round, cheaply), or the renderers' import failed.
        The kiosk does not serve then: a citizen would have a document reserved that
        cannot come out."""
        try:
            renderers.check()
        except renderers.RendererUnavailable as exc:
            error = str(exc)
        else:
            error = self._render_error
        if error and error != self._render_logged:
            log.error("documents cannot be rendered: %s", error)
            self._audit("device_unavailable", device="renderers", error=error)
        self._render_logged = error
        return error

    def warm_up(self, then: Callable[[], None] = lambda: None) -> None:
        """Once the kiosk is up: import the document renderers on a worker thread, so the
        idle screen did not wait for them and the first print does not either; ``then``
        runs on that thread after them."""

        def warm() -> None:
            try:
                renderers.ready()
            except renderers.RendererUnavailable as exc:
                # Out of service from the next health round (prepare), with the reason.
                self._render_error = str(exc)
            then()
            self.warmed.set()

        threading.Thread(target=warm, name="warm-renderers", daemon=True).start()

    def live_device_test(self, seconds: float = 10.0) -> str:
        """The technician's test: a finger captured and a code scanned within ``seconds``
        (the code itself is not shown: it may be a citizen's token).  The outcome is a
        notice, ``device_test|finger=..|qr=..|seconds=..`` (the UI words it):
        finger ``ok``, ``no_finger``, ``poor_image`` or ``fault`` (with ``detail``);
        qr ``read`` or ``none``; a device the kiosk lacks is left out."""
        values: dict[str, object] = {}
        m = self.matcher
        if m is not None and hasattr(m, "capture_test"):
            try:
                m.capture_test(seconds)
                values["finger"] = "ok"
            except NoFinger:
                values["finger"] = "no_finger"
            except PoorImage:
                values["finger"] = "poor_image"
            except Exception as exc:  # the technician sees the module's own words
                values["finger"] = "fault"
                values["detail"] = str(exc)[:120]
        if self.qr is not None:
            with self._qr_seen:
                before = self._qr_count
                read = self._qr_seen.wait_for(lambda: self._qr_count > before, seconds)
            values["qr"] = "read" if read else "none"
        if not values:
            return "no_serial_devices"
        return messages.notice("device_test", seconds=f"{seconds:g}", **values)

    def device_checks(self) -> list[Check]:
        """The serial devices for the technician's checks (port, parameters, error)."""
        checks = []
        if self.matcher is not None:
            checks.append(finger_check(self.matcher))
        if self.qr is not None:
            checks.append(qr_check(self.qr))
        return checks

    def update_link(self) -> UpdateLink | None:
        """The privileged updater's files, when this kiosk has one (``[updates]``)."""
        u = self.config.updates
        return UpdateLink(Path(u.kiosk_dir), Path(u.updater_dir)) if u.kiosk_dir else None

    def serial_devices(self) -> dict[str, str]:
        """Each serial device's state for the heartbeat and diagnostics: ok or why not."""
        out: dict[str, str] = {}
        if self.matcher is not None:
            ok = getattr(self.matcher, "available", True)
            out["fingerprint"] = "ok" if ok else getattr(self.matcher, "last_error", "") or "absent"
        if self.qr is not None:
            out["qr"] = "ok" if self.qr.available else self.qr.last_error or "absent"
        return {k: v[:64] for k, v in out.items()}

    def _keep_serial(self) -> None:
        """Open the fingerprint module if it is not open; close it if its port went away
        (unplugged); tell the flow when the paths on offer change."""
        m = self.matcher
        if m is None or not hasattr(m, "is_open"):
            return
        if getattr(m, "busy", False):
            return  # a citizen's finger or the technician's test: the next round looks
        before = m.available  # type: ignore[attr-defined]
        if m.is_open and not m.present():  # type: ignore[attr-defined]
            m.close()
            m.last_error = "unplugged"  # type: ignore[attr-defined]
        if not m.is_open:
            try:
                m.open()
            except Exception as exc:  # any failure: not offered, tried again next round
                if str(exc) != self._finger_error:
                    log.warning("fingerprint module unavailable: %s", exc)
                    self._audit("device_unavailable", device="fingerprint", error=str(exc))
                self._finger_error = str(exc)
            else:
                self._finger_error = ""
                log.info("fingerprint module opened")
        if m.available != before and hasattr(self, "flow"):  # type: ignore[attr-defined]
            self.flow.post("devices_changed")

    def prepare(self) -> str:
        """Open what is not open yet, then reconcile unfinished print jobs and load the
        blank-card stock (once); runs on the health thread.  Returns why the kiosk cannot
        serve yet ("" when start-up is complete)."""
        with self._prepare_lock:
            self._keep_serial()
            for part in self._parts:
                if part.opened:
                    continue
                try:
                    part.open()
                except Exception as exc:  # any device failure: out of service, retried
                    if str(exc) != part.error:
                        log.warning("%s could not be opened: %s", part.name, exc)
                        self._audit("device_unavailable", device=part.name, error=str(exc))
                    part.error = str(exc)
                else:
                    part.opened, part.error = True, ""
                    log.info("%s opened", part.name)
            missing = [p for p in self._parts if not p.opened]
            if missing:
                return _MISSING.get(missing[0].name, "devices_not_ready")
            render_error = self._renderers_missing()
            if render_error:
                return "renderer_missing"
            if self._needs_reconcile:
                store = self.store
                assert store is not None
                try:
                    # Before anyone is served (and before the hopper is counted): every job
                    # a crash left unfinished is settled with CUPS and the server.
                    self.reconciled = reconcile(store, self.printer)
                except Exception as exc:
                    log.warning("start-up reconciliation not finished: %s", exc)
                    return "finishing_earlier_prints"
                self._needs_reconcile = False
            if not self._stock_loaded:
                self._load_stock()
                self._stock_loaded = True
            return ""

    def _load_stock(self) -> None:
        span = self.config.printer.card_range
        if span is None:
            return
        used = {r.serial for r in self.card_ledger.records}
        loaded = self.card_stock.load(span[0], span[1], used)
        self._audit("card_stock_loaded", first=span[0], last=span[1], count=loaded)

    # --- audit -------------------------------------------------------------------------
    def _audit(self, kind: str, **detail: object) -> None:
        store = self.store
        if store is not None:
            store.audit(kind, **detail)

    def _audit_flow(self, state: str, view: SessionView) -> None:
        """Sessions, prints and failures into the audit log (masked NIK only)."""
        previous, self._last_state = self._last_state, state
        for r in view.results[self._audited_results :]:
            self._audit(
                "document_printed",
                document=r.number,
                title=r.title,
                job=r.job_id,
                queue=r.queue,
                cups_job=r.cups_job,
                card_serial=r.card_serial,
            )
        self._audited_results = len(view.results)
        if state == previous:
            return
        if state == "reading_card":
            self._audit("session_started")
        elif state == "verify_finger":
            self._audit("card_read", nik=view.masked_nik)
        elif state == "out_of_service":
            self._audit("out_of_service", reason=view.error)
        elif state == "attract" and previous in ("out_of_service", "starting"):
            self._audit("in_service")
        elif state == "error":
            self._audit("session_error", after=previous, message=view.error)
        elif state == "attract" and previous is not None:
            self._audit("session_ended", after=previous)
            self._audited_results = 0

    # --- stop --------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop in order whatever was started (safe after a failed or partial start, and
        twice): threads first, then the flow's workers, devices, the server client, and
        last the store, with ``kiosk_stopped`` as the final audit row."""
        if self._stopped:
            return
        self._stopped = True
        logging.getLogger().removeHandler(self.recent_errors)
        if self._added_last_resort and logging.lastResort is not None:
            logging.getLogger().removeHandler(logging.lastResort)
        steps: list[tuple[str, Callable[[], None] | None]] = [
            ("health", self.health.stop if self.health else None),
            ("card watcher", self._watcher.stop if self._watcher else None),
            ("flow", self.flow.shutdown if hasattr(self, "flow") else None),
            ("card", self.card.close if hasattr(self, "card") else None),
            ("printer", self.spooler.close if self.spooler else None),
            ("fingerprint", self.matcher.close if self.matcher else None),
            ("qr", self.qr.stop if self.qr else None),
            ("server client", self._client.close if self._client else None),
        ]
        for name, step in steps:
            if step is None:
                continue
            try:
                step()
            except Exception:  # one failing part must not keep the rest open
                log.exception("stopping %s failed", name)
        store = self.store
        if store is not None:
            store.audit("kiosk_stopped")
            store.close()  # the writer drains its queue before it returns
        for closer in self.closers:
            try:
                closer()
            except Exception:
                log.exception("closing failed")
        log.info("kiosk stopped")


def _journal_fields(kiosk_id: str, flow: Flow) -> None:
    """Under systemd, every journal entry of this kiosk names it (KIOSK_ID) and, during
    a citizen's session, the session (SESSION_ID: the kiosk's session counter, never
    anything personal)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, JournalHandler):
            handler.fields["KIOSK_ID"] = kiosk_id

            def session(record: logging.LogRecord) -> bool:
                if flow.state not in ("starting", "attract", "out_of_service"):
                    record.session_id = f"{kiosk_id}-{flow.generation}"
                return True

            handler.addFilter(session)


# Why the kiosk cannot serve yet, as notices (worded by the UI).
_MISSING = {
    "card": "reader_missing",
    "printer": "printer_unreachable",
    "fingerprint": "scanner_missing",
}
