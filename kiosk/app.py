"""Composition root: builds the kiosk from its configuration, picking each backend by name.

Native modules (pyscard, pycups) are imported lazily inside their backends, so this module
and the whole core import on a machine without them.  Every collaborator can be passed in
instead (tests hand in simulators).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.card.base import CardReader
from drivers.card.sam import ApduSam, SecureAccessModule
from drivers.fingerprint.base import FingerprintMatcher
from kiosk.card_service import CardService, load_issuer_key
from kiosk.card_watch import CardWatcher
from kiosk.config import Config, issuer_key_path
from kiosk.diagnostics import Diagnostics
from kiosk.flow import Flow, Services, SessionView
from kiosk.health import HealthMonitor
from kiosk.print_service import PrintService
from kiosk.reconcile import Reconciled, reconcile
from kiosk.server_client import ServerClient, Tls
from kiosk.store import KioskStore
from printing.card_stock import CardStock, MemoryCardLedger
from printing.spooler import Spooler

log = logging.getLogger("kiosk.app")


def make_reader(config: Config) -> CardReader:
    if config.card.backend == "pcsc":
        from drivers.card.pcsc import PcscReader

        return PcscReader(config.card.reader)
    from drivers.card.sim import SimReader

    return SimReader()


def make_sam(config: Config) -> SecureAccessModule:
    """The SAM: in the reader's contact slot (pcsc) or an in-process virtual SAM (sim)."""
    if config.card.backend == "pcsc":
        from drivers.card.pcsc import PcscReader

        return ApduSam(PcscReader(config.card.sam_reader))
    from drivers.card.sim import SimReader
    from drivers.card.virtual import VirtualSam
    from sim.keys import SAM_MASTER_KEY  # test keys: the sim backend is for tests and demos

    return ApduSam(SimReader(VirtualSam(SAM_MASTER_KEY)))


def make_card_service(
    config: Config, reader: CardReader | None = None, sam: SecureAccessModule | None = None
) -> CardService:
    """The e-KTP reading service the configuration describes (reader, SAM, pinned key)."""
    return CardService(
        reader or make_reader(config),
        sam or make_sam(config),
        load_issuer_key(issuer_key_path(config)),
        extended=config.card.extended_apdu,
    )


def make_spooler(config: Config) -> Spooler:
    if config.printer.backend == "cups":
        from printing.cups_spooler import CupsSpooler

        return CupsSpooler(config.printer.server or os.environ.get("CUPS_SERVER") or None)
    from printing.sim_spooler import SimSpooler

    return SimSpooler()


def make_matcher(config: Config) -> FingerprintMatcher:
    from drivers.fingerprint.sim import SimMatcher

    return SimMatcher()


@dataclass
class KioskApp:
    """The running kiosk minus its screen: flow, services, card watcher, embedded server."""

    config: Config
    reader: CardReader | None = None
    monitor: CardReader | None = None
    sam: SecureAccessModule | None = None
    spooler: Spooler | None = None
    matcher: FingerprintMatcher | None = None
    flow: Flow = field(init=False)
    card: CardService = field(init=False)
    card_stock: CardStock = field(init=False)
    card_ledger: KioskStore | MemoryCardLedger = field(init=False)
    server_url: str = field(init=False, default="")
    _embedded: Any = field(init=False, default=None)
    _watcher: CardWatcher | None = field(init=False, default=None)
    _client: ServerClient | None = field(init=False, default=None)
    _last_state: str | None = field(init=False, default=None)
    health: HealthMonitor | None = field(init=False, default=None)
    printer: PrintService = field(init=False)
    reconciled: Reconciled | None = field(init=False, default=None)
    _audited_results: int = field(init=False, default=0)

    def start(self) -> None:
        cfg = self.config
        if cfg.server.backend == "embedded":
            from server.embedded import EmbeddedServer  # demo and tests only

            self._embedded = EmbeddedServer(
                cfg.server.database, Path(cfg.server.home), kiosks=(cfg.kiosk.id,)
            )
            self._embedded.start()
            self.server_url = self._embedded.url
            cred = self._embedded.credentials(cfg.kiosk.id)
            home = self._embedded.home
            tls = Tls(ca=home.ca_cert, cert=cred.cert, key=cred.key)
            issuer_key = home.issuer_pub
        else:
            self.server_url = cfg.server.url
            tls = Tls(Path(cfg.server.ca), Path(cfg.server.cert), Path(cfg.server.key))
            issuer_key = Path(cfg.server.issuer_key)
        self.reader = self.reader or make_reader(cfg)
        # The watcher gets its own reader (own PC/SC context): a blocking status wait on a
        # shared context would hold up the flow's card reads.
        self.monitor = self.monitor or (
            self.reader if cfg.card.backend == "sim" else make_reader(cfg)
        )
        self.sam = self.sam or make_sam(cfg)
        self.spooler = self.spooler or make_spooler(cfg)
        self.matcher = self.matcher or make_matcher(cfg)
        self.card = make_card_service(cfg, self.reader, self.sam)
        self.card.open()
        self.spooler.open()
        self.matcher.open()
        self._client = ServerClient(self.server_url, tls=tls, issuer_key=issuer_key)
        # Blank-card accounting; the durable ledger lives in the kiosk store.
        self.card_ledger = (
            KioskStore(Path(cfg.kiosk.store)) if cfg.kiosk.store else MemoryCardLedger()
        )
        self.card_stock = CardStock(self.card_ledger)
        self._audit("kiosk_started", kiosk=cfg.kiosk.id, server=self.server_url)
        store = self.card_ledger if isinstance(self.card_ledger, KioskStore) else None
        self.printer = PrintService(
            self._client, self.spooler, card_stock=self.card_stock, store=store
        )
        if store is not None:
            # Before anyone is served (and before the hopper is counted): every job a
            # crash left unfinished is settled with CUPS and the server.
            self.reconciled = reconcile(store, self.printer)
        if cfg.printer.card_serials:
            first, _, last = cfg.printer.card_serials.partition("..")
            used = {r.serial for r in self.card_ledger.records}
            loaded = self.card_stock.load(first.strip(), last.strip(), used)
            self._audit("card_stock_loaded", first=first.strip(), last=last.strip(), count=loaded)
        self.flow = Flow(
            Services(
                card=self.card,
                matcher=self.matcher,
                server=self._client,
                printer=self.printer,
                diagnostics=Diagnostics(self.printer, None, cfg.kiosk.id),
                technician_pin_sha256=cfg.technician.pin_sha256,
            )
        )
        self.flow.add_listener(self._audit_flow)
        self.flow.add_action_listener(self._audit)
        self._watcher = CardWatcher(self.monitor, self.flow)
        assert self.flow.services.diagnostics is not None
        self.flow.services.diagnostics.watcher = self._watcher
        self._watcher.start()
        self.health = HealthMonitor(self.flow, self._watcher, self.flow.services.printer)
        self.health.start()
        log.info("kiosk %s started; central server %s", cfg.kiosk.id, self.server_url)

    def _audit(self, kind: str, **detail: object) -> None:
        if isinstance(self.card_ledger, KioskStore):
            self.card_ledger.audit(kind, **detail)

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
        elif state == "attract" and previous == "out_of_service":
            self._audit("back_in_service")
        elif state == "error":
            self._audit("session_error", after=previous, message=view.error)
        elif state == "attract" and previous is not None:
            self._audit("session_ended", after=previous)
            self._audited_results = 0

    def stop(self) -> None:
        if self.health is not None:
            self.health.stop()
        if self._watcher is not None:
            self._watcher.stop()
        self.flow.shutdown()
        self.card.close()
        for part in (self.spooler, self.matcher):
            if part is not None:
                part.close()
        if self._client is not None:
            self._client.close()
        if isinstance(self.card_ledger, KioskStore):
            self._audit("kiosk_stopped")
            self.card_ledger.close()
        if self._embedded is not None:
            self._embedded.stop()
