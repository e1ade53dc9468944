"""Benchmark: the longest time the flow's thread is busy in one step, over scripted
sessions through the real rig (pcscd, CUPS, HTTP server, kiosk store).

The flow thread (the Qt main thread in the kiosk) must never wait on I/O: card reads,
server calls, rendering and printing run in workers.  This drives sessions headless and
times every ``process_pending`` call (one batch of events and the transitions they fire).
Run with ``make bench-flow``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from machine import header  # bench/ is the script's own folder

from kiosk.app import KioskApp
from sim.compose import build, demo_config, use_rig
from sim.population import DEMO_NIK
from sim.rig import Rig
from sim.seed import demo_code


def run_until(app: KioskApp, state: str, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while app.flow.state != state:
        if time.monotonic() > end:
            raise RuntimeError(f"stuck in {app.flow.state} waiting for {state}")
        app.flow.run_once(0.05)


def time_steps(app: KioskApp, busy: list[float]) -> None:
    """Wrap the flow's step so each call's duration lands in ``busy``."""
    step = app.flow.process_pending

    def timed() -> int:
        t = time.perf_counter()
        n = step()
        busy.append(time.perf_counter() - t)
        return n

    app.flow.process_pending = timed  # type: ignore[method-assign]


def main(sessions: int = 5) -> None:
    print(header())
    rig = Rig()
    rig.up()
    tmp = Path(tempfile.mkdtemp(prefix="adm-bench-flow-"))
    cfg = demo_config()
    use_rig(cfg, rig)  # the rig's CUPS and the serial emulators' ports
    cfg.kiosk.store = str(tmp / "kiosk.db")
    busy: list[float] = []
    session_times = []
    for i in range(sessions):
        cfg.server.database = f"sqlite:///{tmp}/server-{i}.db"  # fresh approvals each time
        cfg.server.home = str(tmp / "server-home")
        app = build(cfg)
        app.start()
        time_steps(app, busy)
        started = time.perf_counter()
        rig.insert_card(DEMO_NIK)
        run_until(app, "choose_documents")
        wanted = [d for d in app.flow.view().documents if d["kind"] in ("kartu_keluarga", "ktp_el")]
        for doc in wanted:
            app.flow.post("document_tapped", doc_id=doc["id"])
            run_until(app, "enter_code")
            app.flow.post("code_entered", code=demo_code(doc["number"]))
            run_until(app, "checking_code")
            run_until(app, "choose_documents")
        app.flow.post("print_selected", doc_ids=[d["id"] for d in wanted])
        run_until(app, "done", 120)
        rig.remove_card()
        run_until(app, "attract")
        session_times.append(time.perf_counter() - started)
        app.stop()
    busy_ms = sorted(b * 1000 for b in busy)
    print(
        f"{sessions} sessions (card, fingerprint, documents, KK + KTP-el printed, card out): "
        f"median session {statistics.median(session_times):.2f} s"
    )
    print(
        f"flow thread busy per step: {len(busy_ms)} steps, "
        f"median {statistics.median(busy_ms):.2f} ms, "
        f"p99 {busy_ms[int(0.99 * (len(busy_ms) - 1))]:.2f} ms, max {busy_ms[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
