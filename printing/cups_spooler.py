"""CUPS backend (pycups): the one module that imports ``cups``.

pycups connections are not thread-safe and ``cups.setServer`` is process-wide, so one
connection is kept behind a lock and re-made when CUPS restarts under us.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import urllib.parse
from typing import Any

from printing import ipp
from printing.ipp import JobList
from printing.spooler import (
    Condition,
    JobState,
    JobStatus,
    JobUnknown,
    PrinterState,
    PrinterStatus,
    QueueMissing,
    SpoolerError,
    Supply,
    conditions_from_reasons,
)

log = logging.getLogger("printing.cups")

# IPP marker types that run out (as opposed to waste containers that fill up)
CONSUMABLES = {
    "toner",
    "toner-cartridge",
    "ink",
    "ink-cartridge",
    "ink-ribbon",
    "ribbon-wax",
    "solid-wax",
}
LOW_PERCENT = 10
DEVICE_SCHEMES = {"ipp", "http"}  # device URIs the printer itself can be asked at
DEVICE_CACHE = 2.0  # s between direct questions to one printer


def _cups() -> Any:
    import cups  # lazy: the core imports without pycups

    return cups


class CupsSpooler:
    """Talks to one CUPS server (``server`` is a socket path or host; None = default)."""

    def __init__(self, server: str | None = None) -> None:
        self._server = server
        self._conn: Any = None
        self._lock = threading.Lock()
        self._device_cache: dict[str, tuple[float, tuple[str, ...] | None]] = {}

    def open(self) -> None:
        with self._lock:
            self._connection()

    def close(self) -> None:
        with self._lock:
            self._conn = None

    def _connection(self) -> Any:
        if self._conn is None:
            cups = _cups()
            if self._server:
                cups.setServer(self._server)
            try:
                self._conn = cups.Connection()
            except RuntimeError as exc:
                raise SpoolerError(
                    f"cannot reach CUPS at {self._server or 'default'}: {exc}"
                ) from None
        return self._conn

    def _call(self, fn: Any, *args: Any, **kw: Any) -> Any:
        cups = _cups()
        with self._lock:
            conn = self._connection()
            try:
                return fn(conn, *args, **kw)
            except cups.IPPError as exc:
                status, message = exc.args if len(exc.args) == 2 else (0, str(exc))
                if status == cups.IPP_NOT_FOUND:
                    raise QueueMissing(f"print queue not found: {message}") from None
                raise SpoolerError(f"CUPS refused: {message} (IPP status 0x{status:04x})") from None
            except (RuntimeError, cups.HTTPError) as exc:
                self._conn = None  # reconnect on the next call
                raise SpoolerError(f"lost connection to CUPS: {exc}") from None

    def submit(self, queue: str, pdf: bytes, title: str) -> int:
        def go(conn: Any) -> int:
            if queue not in conn.getPrinters():
                raise QueueMissing(f"print queue {queue!r} does not exist")
            job_id = int(conn.createJob(queue, title, {}))
            conn.startDocument(queue, job_id, title, "application/pdf", 1)
            conn.writeRequestData(pdf, len(pdf))
            conn.finishDocument(queue)
            return job_id

        job_id: int = self._call(go)
        log.info("submitted job %d to %s (%d bytes)", job_id, queue, len(pdf))
        return job_id

    def status(self, job_id: int) -> JobStatus:
        try:
            attrs = self._call(
                lambda conn: conn.getJobAttributes(
                    job_id, requested_attributes=["job-state", "job-state-reasons", "job-name"]
                )
            )
        except QueueMissing:  # CUPS answers not-found for a job it does not know
            raise JobUnknown(f"CUPS does not know job {job_id}") from None
        reasons = attrs.get("job-state-reasons", ())
        if isinstance(reasons, str):
            reasons = (reasons,)
        name = attrs.get("job-name")
        return JobStatus(
            JobState(int(attrs["job-state"])),
            tuple(reasons),
            None if name is None else str(name),
        )

    def _device_uri(self, queue: str) -> str:
        def go(conn: Any) -> Any:
            if queue not in conn.getPrinters():
                raise QueueMissing(f"print queue {queue!r} does not exist")
            return conn.getPrinterAttributes(queue, requested_attributes=["device-uri"])

        return str(self._call(go).get("device-uri", ""))

    def printer_jobs(self, queue: str) -> JobList | None:
        uri = self._device_uri(queue)
        if uri.split(":", 1)[0] not in DEVICE_SCHEMES:
            return None  # a USB or socket printer keeps no job list we can read
        try:
            return ipp.Printer(uri).jobs()
        except ipp.IppError as exc:
            log.warning("printer behind %s cannot list its jobs: %s", queue, exc)
            return None

    def cancel_at_printer(self, queue: str, printer_job: int) -> None:
        try:
            ipp.Printer(self._device_uri(queue)).cancel(printer_job)
        except ipp.IppError as exc:
            why = f"printer behind {queue} did not cancel {printer_job}: {exc}"
            raise SpoolerError(why) from None
        log.warning("canceled job %d at the printer behind %s", printer_job, queue)

    def _device_reasons(self, queue: str, uri: str) -> tuple[str, ...] | None:
        """The printer's own ``printer-state-reasons``, asked over IPP at its device URI
        (None: it does not answer).  CUPS's copy is what the printer said during the last
        job: a refilled tray stays "media-empty" there until a job succeeds, and a printer
        that died mid-job leaves no reason at all.  Cached briefly: a job is followed
        several times a second."""
        now = time.monotonic()
        hit = self._device_cache.get(queue)
        if hit is not None and hit[0] > now:
            return hit[1]
        parts = urllib.parse.urlsplit(uri)
        port = parts.port or (631 if parts.scheme in ("ipp", "ipps") else 80)
        found: tuple[str, ...] | None
        try:
            # A bounded connect first: pycups itself would wait on a dead host for long.
            socket.create_connection((parts.hostname or "localhost", port), timeout=2).close()
            conn = _cups().Connection(host=parts.hostname, port=port)
            attrs = conn.getPrinterAttributes(
                uri=uri, requested_attributes=["printer-state-reasons"]
            )
            raw = attrs.get("printer-state-reasons", ())
            found = (raw,) if isinstance(raw, str) else tuple(raw)
        except Exception as exc:  # refused, timed out, or an IPP error: not answering
            log.info("printer behind %s does not answer at %s: %s", queue, uri, exc)
            found = None
        self._device_cache[queue] = (now + DEVICE_CACHE, found)
        return found

    def printer_status(self, queue: str) -> PrinterStatus:
        wanted = [
            "device-uri",
            "printer-state",
            "printer-state-reasons",
            "printer-is-accepting-jobs",
            "printer-state-message",
            "marker-names",
            "marker-levels",
            "marker-low-levels",
            "marker-types",
        ]

        def go(conn: Any) -> Any:
            if queue not in conn.getPrinters():
                raise QueueMissing(f"print queue {queue!r} does not exist")
            return conn.getPrinterAttributes(queue, requested_attributes=wanted)

        attrs = self._call(go)
        reasons = attrs.get("printer-state-reasons", ())
        if isinstance(reasons, str):
            reasons = (reasons,)
        reasons = tuple(reasons)
        state = PrinterState(int(attrs.get("printer-state", 3)))
        uri = str(attrs.get("device-uri", ""))
        unreachable = False
        if uri.split(":", 1)[0] in DEVICE_SCHEMES:
            # The printer itself is asked (at most every DEVICE_CACHE seconds).  While no
            # job runs CUPS knows only what the printer said during the last one: a tray
            # emptied between sessions showed nowhere until a job waited (documents stayed
            # on offer that could not come out), and a refilled one stayed "out of paper"
            # (``-warning`` and ``-report`` kept) until a job ran.  During a job, a
            # printer that does not answer is offline at once.
            device = self._device_reasons(queue, uri)
            if device is None:
                unreachable = True
            elif state is not PrinterState.PROCESSING:
                # The printer's own word replaces what CUPS kept from the last job.
                kept = [r for r in reasons if not _kept(r) or r.startswith("cups-")]
                reasons = (*kept, *(r for r in device if r != "none"))
        names = attrs.get("marker-names", ()) or ()
        levels = attrs.get("marker-levels", ()) or ()
        kinds = attrs.get("marker-types", ()) or ()
        supplies = tuple(
            Supply(str(n), int(lv), str(kinds[i]) if i < len(kinds) else "")
            for i, (n, lv) in enumerate(zip(names, levels, strict=False))
        )
        lows = attrs.get("marker-low-levels", ()) or ()
        conditions = set(conditions_from_reasons(reasons))
        if unreachable:
            conditions.add(Condition.OFFLINE)  # stopped answering: not merely slow
        # Printers raise toner-low only now and then; the levels themselves are the truth.
        for i, supply in enumerate(supplies):
            if supply.kind in CONSUMABLES and supply.level >= 0:
                low = int(lows[i]) if i < len(lows) and int(lows[i]) > 0 else LOW_PERCENT
                if supply.level == 0:
                    conditions.add(Condition.TONER_EMPTY)
                elif supply.level < low:
                    conditions.add(Condition.TONER_LOW)
        return PrinterStatus(
            queue=queue,
            state=state,
            accepting=bool(attrs.get("printer-is-accepting-jobs", True)),
            conditions=frozenset(conditions),
            reasons=tuple(reasons),
            supplies=supplies,
            message=str(attrs.get("printer-state-message", "")),
        )

    def find_job(self, marker: str) -> int | None:
        def go(conn: Any) -> int | None:
            # job-id must be requested too, or CUPS answers no jobs at all (seen here).
            jobs = conn.getJobs(which_jobs="all", requested_attributes=["job-id", "job-name"])
            for job_id in sorted(jobs, reverse=True):
                name = jobs[job_id].get("job-name")
                if name is None:
                    # A job cupsd is still taking in is listed without attributes (seen
                    # right after its submitter died); asked on its own it answers.
                    attrs = conn.getJobAttributes(job_id, requested_attributes=["job-name"])
                    name = attrs.get("job-name", "")
                if marker in str(name):
                    return int(job_id)
            return None

        found: int | None = self._call(go)
        return found

    def cancel(self, job_id: int) -> None:
        self._call(lambda conn: conn.cancelJob(job_id))
        log.warning("canceled job %d", job_id)


def _kept(reason: str) -> bool:
    """A reason CUPS may keep from an earlier job (not the printer's word right now)."""
    return reason.endswith(("-warning", "-report"))
