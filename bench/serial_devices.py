"""The serial devices' figures, through the emulators on pty pairs (``make bench-serial``).

1. Fingerprint verification, from "finger on the sensor" to the decision (capture,
   features, and for each of the chip's two templates a download and a 1:1 match) at
   57600 baud, next to its physical floor: the wire time of every byte exchanged at that
   baud rate plus the module's nominal timings (sim/serial_devices.py).  Target: the
   ratio under 1.2.
2. A QR line to the kiosk's ``qr_scanned`` event (the driver's callback, which posts it):
   from the line's last byte on the wire.  Target: median under 20 ms.

    python bench/serial_devices.py [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from machine import header  # bench/ is the script's own folder

from drivers.fingerprint.base import MatchResult
from drivers.fingerprint.module import FingerprintModule, ModuleSettings, Transport
from drivers.fingerprint.serial_backend import SerialTransport
from drivers.qr.serial_backend import SerialQrScanner
from sim.cards import minutiae_template
from sim.population import DEMO_NIK
from sim.serial_devices import CAPTURE, EXTRACT, MATCH, send_control, wire_time

BAUD = 57600
QR_BAUD = 115200


class Counting:
    """A transport that counts the bytes both ways."""

    def __init__(self, inner: Transport) -> None:
        self.inner, self.bytes = inner, 0

    def read(self, n: int) -> bytes:
        data = self.inner.read(n)
        self.bytes += len(data)
        return data

    def write(self, data: bytes) -> None:
        self.bytes += len(data)
        self.inner.write(data)

    def close(self) -> None:
        self.inner.close()


def start(kind: str, folder: Path, baud: int) -> tuple[subprocess.Popen[bytes], Path, Path]:
    link, ctl = folder / kind, folder / f"{kind}.ctl"
    argv = [sys.executable, "-m", "sim.serial_devices", kind, "--baud", str(baud)]
    proc = subprocess.Popen([*argv, "--link", str(link), "--control", str(ctl)])
    deadline = time.monotonic() + 15
    while not (link.exists() and ctl.exists()):
        if time.monotonic() > deadline:
            raise SystemExit(f"the {kind} emulator did not start")
        time.sleep(0.02)
    return proc, link, ctl


def fingerprint(folder: Path, runs: int) -> None:
    proc, link, ctl = start("fingerprint", folder, BAUD)
    counting: list[Counting] = []

    def connect(s: ModuleSettings) -> Transport:
        counting.append(Counting(SerialTransport(str(link), s)))
        return counting[-1]

    module = FingerprintModule(connect, ModuleSettings(baud=BAUD))
    templates = (minutiae_template(DEMO_NIK, 2), minutiae_template(DEMO_NIK, 7))
    try:
        module.open()
        send_control(ctl, {"finger": "holder", "holder": DEMO_NIK})
        times, floors = [], []
        for _ in range(runs):
            before = counting[-1].bytes
            started = time.perf_counter()
            result = module.verify(templates, 5.0)
            times.append(time.perf_counter() - started)
            assert result.result is MatchResult.MATCH
            exchanged = counting[-1].bytes - before
            floors.append(wire_time(exchanged, BAUD) + CAPTURE + EXTRACT + MATCH * len(templates))
        median, floor = statistics.median(times), statistics.median(floors)
        print(
            f"fingerprint verification at {BAUD} baud, {runs} runs: median {median * 1000:.0f} ms"
            f" (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}); physical floor "
            f"{floor * 1000:.0f} ms ({exchanged} bytes on the wire = "
            f"{wire_time(exchanged, BAUD) * 1000:.0f} ms, sensor "
            f"{(CAPTURE + EXTRACT + MATCH * len(templates)) * 1000:.0f} ms); "
            f"ratio {median / floor:.3f}",
            flush=True,
        )
    finally:
        module.close()
        proc.terminate()
        proc.wait()


def qr(folder: Path, runs: int) -> None:
    proc, link, ctl = start("qr", folder, QR_BAUD)
    got = threading.Condition()
    arrivals: list[float] = []

    def on_code(text: str) -> None:
        with got:
            arrivals.append(time.perf_counter())
            got.notify_all()

    scanner = SerialQrScanner(link, baud=QR_BAUD)
    scanner.start(on_code)
    try:
        deadline = time.monotonic() + 10
        while not scanner.available and time.monotonic() < deadline:
            time.sleep(0.01)
        token = "ADM-QR-" + "x" * 32
        wire = wire_time(len(token) + 1, QR_BAUD)
        delays = []
        for i in range(runs):
            sent = time.perf_counter()
            send_control(ctl, {"scan": token})
            with got:
                got.wait_for(lambda n=i: len(arrivals) > n, timeout=5)
            # The emulator spends the line's wire time before the last byte is out.
            delays.append(arrivals[i] - sent - wire)
        print(
            f"QR line ({len(token) + 1} bytes at {QR_BAUD} baud) to qr_scanned, {runs} runs: "
            f"median {statistics.median(delays) * 1000:.1f} ms, "
            f"max {max(delays) * 1000:.1f} ms (after the last byte on the wire)",
            flush=True,
        )
    finally:
        scanner.stop()
        proc.terminate()
        proc.wait()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=20)
    args = p.parse_args()
    print(header())
    with tempfile.TemporaryDirectory(prefix="adm-bench-serial-") as folder:
        fingerprint(Path(folder), args.runs)
        qr(Path(folder), args.runs * 5)


if __name__ == "__main__":
    main()
