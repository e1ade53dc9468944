"""The technician's diagnostics: device checks, a test print, the out-of-service switch.

Runs in workers like every other device call; results come back to the flow as events.
Every technician action is written to the audit log by the flow's listener.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drivers.card.base import ReaderState
from kiosk import timeouts
from kiosk.messages import notice
from kiosk.print_service import PrintService
from kiosk.server_client import ServerError
from printing import renderers
from printing.spooler import JobState, SpoolerError
from printing.tracking import JobDeadline, follow_job


@dataclass(frozen=True)
class Check:
    """One device check, language-free: ``name`` and ``detail`` are notices
    (``kiosk.messages``: ``printer|queue=adm-a4``, ``cards_left|left=249``) that the
    screen and the diagnostics command word; a device's own error text travels as a
    value."""

    name: str
    ok: bool
    detail: str


def finger_check(matcher: Any) -> Check:
    """The fingerprint module: its port and parameters, or why it is not there."""
    port = getattr(matcher, "port", "")
    params = getattr(matcher, "parameters", None)
    if getattr(matcher, "available", False) and params is not None:
        detail = notice(
            "finger_ready",
            port=port,
            baud=params.baud,
            packet=params.packet_size,
            security=params.security_level,
        )
        return Check("fingerprint", True, detail)
    if getattr(matcher, "available", False):
        return Check("fingerprint", True, "ready")
    return Check("fingerprint", False, _port_error(port, getattr(matcher, "last_error", "")))


def _port_error(port: str, error: str) -> str:
    return (
        notice("port_error", port=port, error=error) if error else notice("port_missing", port=port)
    )


def qr_check(scanner: Any) -> Check:
    port = getattr(scanner, "port", "")
    if scanner.available:
        return Check("qr", True, notice("port_ready", port=port))
    return Check("qr", False, _port_error(port, scanner.last_error))


class Diagnostics:
    def __init__(
        self,
        printer: PrintService,
        reader_state: Callable[[], ReaderState] | None,
        kiosk_id: str,
        devices: Callable[[], list[Check]] = list,
        live_test: Callable[[], str] | None = None,
    ) -> None:
        """``reader_state``: the card slot as the watcher last saw it (None: no reader);
        ``devices``: the serial devices' checks (port, parameters, last error)."""
        self.printer = printer
        self.reader_state = reader_state
        self.kiosk_id = kiosk_id
        self.devices = devices
        self.live_test = live_test
        # Set by the technician; the health check keeps the kiosk out of service while set.
        self.manual_out_of_service = ""

    def device_test(self) -> str:
        """The serial devices tested live (a finger captured, a code scanned): a notice
        (``device_test|...``, ``no_serial_devices``) the UI words."""
        if self.live_test is None:
            return "no_serial_devices"
        return self.live_test()

    def run_checks(self) -> list[Check]:
        checks: list[Check] = []
        if self.reader_state is not None:
            state = self.reader_state().value
            checks.append(Check("reader", state != "unavailable", f"reader_{state}"))
        for queue in self.printer.queues.values():
            name = notice("printer", queue=queue)
            try:
                status = self.printer.spooler.printer_status(queue)
                supplies = ", ".join(f"{s.name} {s.level}%" for s in status.supplies)
                conditions = ",".join(sorted(c.value for c in status.conditions))
                detail = notice("printer_state", conditions=conditions, supplies=supplies)
                checks.append(Check(name, status.ready, detail))
            except SpoolerError as exc:
                checks.append(Check(name, False, notice("raw", text=exc)))
        checks.extend(self.devices())
        stock = self.printer.card_stock
        left = stock.remaining if stock is not None else 0
        checks.append(Check("blank_cards", left > 0, notice("cards_left", left=left)))
        try:
            ok = self.printer.server.health()
            checks.append(Check("server", ok, "server_ok" if ok else "server_unhealthy"))
        except ServerError as exc:
            checks.append(Check("server", False, notice("raw", text=exc)))
        store = self.printer.store
        if store is not None:
            pending = len(store.outbox_pending())
            unfinished = len(store.jobs())
            checks.append(
                Check(
                    "print_jobs",
                    pending == 0 and unfinished == 0,
                    notice("jobs", unfinished=unfinished, pending=pending),
                )
            )
        return checks

    def test_print(self) -> str:
        """The A4 test page (corner marks, grey ramp) through the real queue."""
        from importlib.metadata import PackageNotFoundError, version

        try:
            software = version("adm-kiosk")
        except PackageNotFoundError:
            software = "unknown"
        queue = self.printer.queues["a4"]
        payload = {
            "kind": "test_page",
            "kiosk_id": self.kiosk_id,
            "printer": queue,
            "queue": queue,
            "printed_at": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "software_version": software,
        }
        pdf = renderers.render(payload)
        job = self.printer.spooler.submit(queue, pdf, "Halaman uji teknisi")
        try:
            status = follow_job(
                self.printer.spooler, queue, job, deadline=timeouts.PRINT_JOB_DEADLINE
            )
        except JobDeadline as exc:
            raise SpoolerError(str(exc)) from exc
        if status.state != JobState.COMPLETED:
            raise SpoolerError(f"test page job {job} ended {status.state.name.lower()}")
        return f"Halaman uji tercetak (job {job} di {queue})"
