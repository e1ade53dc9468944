"""Benchmark: e-KTP reads through pcscd+vpcd, and card tap to identity in the kiosk flow.

Run with ``make bench-card`` (brings the rig up).  Prints medians and percentiles; the
results with machine and date go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from machine import header  # bench/ is the script's own folder

from drivers.card.ektp import ReadStats
from kiosk.app import make_card_service
from kiosk.config import DEMO_FILE, load
from sim.cards import card_holders
from sim.compose import build, use_rig
from sim.rig import Rig


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def bench_reads(rig: Rig, n: int) -> None:
    cfg = load(DEMO_FILE)
    service = make_card_service(cfg)
    service.open()
    rig.insert_card(card_holders()[0]["nik"])
    try:
        for extended in (True, False):
            service.extended = extended
            service.read()  # warm-up
            times: list[float] = []
            phases: dict[str, list[float]] = {}
            last = ReadStats()
            for _ in range(n):
                stats = ReadStats()
                t = time.perf_counter()
                service.read(stats)
                times.append(time.perf_counter() - t)
                for k, v in stats.phases.items():
                    phases.setdefault(k, []).append(v)
                last = stats
            label = "extended APDUs" if extended else "short APDUs"
            print(
                f"full read ({label}), n={n}: median {statistics.median(times) * 1000:.1f} ms, "
                f"p90 {pct(times, 90) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms; "
                f"{last.apdus} APDUs, {last.bytes_in} bytes received"
            )
            print(
                "   per phase (median ms): "
                + ", ".join(f"{k} {statistics.median(v) * 1000:.1f}" for k, v in phases.items())
            )
    finally:
        rig.remove_card()
        service.close()


def bench_tap(rig: Rig, n: int) -> None:
    """From the card entering the field (the emulator connected to vpcd) to the flow
    holding the verified identity (entering verify_finger)."""
    cfg = load(DEMO_FILE)
    use_rig(cfg, rig)  # the serial emulators' ports (the fingerprint module's among them)
    cfg.kiosk.store = ""
    cfg.printer.backend = "sim"
    cfg.server.database = "sqlite:///" + str(rig.dir / "bench-server.db")
    cfg.server.home = str(rig.dir / "bench-server-home")
    app = build(cfg)
    app.start()
    got: list[float] = []
    app.flow.add_listener(
        lambda state, view: got.append(time.time()) if state == "verify_finger" else None
    )
    ready = rig.run_dir / "card.ready"
    latencies = []
    try:
        for i in range(n):
            person = card_holders()[i % len(card_holders())]
            got.clear()
            inserter = threading.Thread(target=rig.insert_card, args=(person["nik"],))
            inserter.start()
            deadline = time.monotonic() + 10
            while not got and time.monotonic() < deadline:
                app.flow.run_once(0.01)
            inserter.join()
            if not got:
                raise RuntimeError("the flow never read the card")
            latencies.append(got[0] - ready.stat().st_mtime)
            rig.remove_card()
            deadline = time.monotonic() + 10
            while app.flow.state != "attract" and time.monotonic() < deadline:
                app.flow.run_once(0.01)
    finally:
        rig.remove_card()
        app.stop()
    print(
        f"tap to identity in the flow, n={n}: median {statistics.median(latencies) * 1000:.0f} ms, "
        f"p90 {pct(latencies, 90) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50, help="reads per variant")
    parser.add_argument("--taps", type=int, default=20)
    args = parser.parse_args()
    print(header())
    rig = Rig()
    rig.up()
    bench_reads(rig, args.n)
    bench_tap(rig, args.taps)


if __name__ == "__main__":
    main()
