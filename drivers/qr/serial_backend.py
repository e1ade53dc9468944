"""A serial QR scanner through pyserial, on its own thread, surviving unplug and replug.

The thread opens the port, reads whatever arrives (a short read timeout keeps it
responsive to stop), and hands complete lines to the callback.  When the port fails or
disappears the partial line is dropped, ``available`` turns False and the thread tries
again every ``retry`` seconds: the scanner is used again within a few seconds of its
return, without a restart.  Only this file imports pyserial.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path

import serial  # type: ignore[import-untyped]

from drivers.qr.lines import LineAssembler

log = logging.getLogger("drivers.qr")


class SerialQrScanner:
    def __init__(
        self,
        port: str | Path,
        *,
        baud: int = 115200,
        eol: bytes = b"\r",
        retry: float = 1.0,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self.port = str(port)
        self.baud = baud
        self.lines = LineAssembler(eol)
        self.retry = retry
        self.available = False
        self.last_error = ""
        self._on_change = on_change
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, on_code: Callable[[str], None]) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(on_code,), name="qr-scanner", daemon=True
        )
        self._thread.start()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the port is open (False if it is not within ``timeout`` s)."""
        return self._ready.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _set(self, available: bool, error: str = "") -> None:
        changed = available != self.available
        self.available, self.last_error = available, error
        if available:
            self._ready.set()
        else:
            self._ready.clear()
        if changed:
            log.info("QR scanner at %s %s", self.port, "ready" if available else f"gone: {error}")
            if self._on_change is not None:
                self._on_change(available)

    def _run(self, on_code: Callable[[str], None]) -> None:
        while not self._stop.is_set():
            try:
                port = serial.Serial(self.port, baudrate=self.baud, timeout=0.2)
            except (serial.SerialException, OSError) as exc:
                self._set(False, str(exc))
                self._stop.wait(self.retry)
                continue
            self._set(True)
            try:
                while not self._stop.is_set():
                    data = port.read(1)  # returns at the first byte (or the timeout)
                    if data:
                        data += port.read(port.in_waiting)
                    for code in self.lines.feed(bytes(data)):
                        on_code(code)
            except (serial.SerialException, OSError) as exc:
                self.lines.reset()
                self._set(False, str(exc))
            finally:
                with contextlib.suppress(serial.SerialException, OSError):
                    port.close()
            self._stop.wait(self.retry)
