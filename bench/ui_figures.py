"""Benchmark: the citizen's UI as a process — cold start, memory over many sessions, the
longest stall of the GUI thread, and the touches a citizen needs.

- Cold start: ``adm-kiosk simulate --window`` started as a fresh process (offscreen Qt,
  rig up) until it tells systemd it is ready, which it does once the idle screen is
  painted (``ui/supervision.py``, READY=1 on $NOTIFY_SOCKET). Median of 5.
- Memory and stalls: one process runs scripted sessions through the real window (every
  press a synthetic mouse press on the real button): NIK + PIN, the document list, one
  document's code typed on the keypad, printed (simulated printer), taken, finished. The
  resident set is read after 1, 20, 100 and the last session; a 10 ms QTimer measures
  its own lateness throughout (the GUI thread's longest stall).
- Touches: one session on the e-KTP path (the rig's virtual card, the emulated finger):
  presses from the card tap to a printed single document, the code's digits not counted.

    .venv/bin/python bench/ui_figures.py [--sessions 500]      (make bench-ui)
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from machine import header  # bench/ is the script's own folder
from PySide6.QtCore import QElapsedTimer, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QPushButton

from kiosk.app import KioskApp
from sim.compose import build_with_server, demo_config, use_rig
from sim.population import DEMO_NIK
from sim.rig import Rig
from sim.seed import demo_code, demo_pin
from sim.server_process import ServerProcess
from ui.main import KioskUi, wait_until

ROOT = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cold_start(runs: int = 5) -> list[float]:
    """Seconds from process start to READY=1 (the idle screen painted)."""
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="adm-cold-") as tmp:
            path = f"{tmp}/notify"
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(path)
            sock.settimeout(60)
            env = {**os.environ, "NOTIFY_SOCKET": path, "QT_QPA_PLATFORM": "offscreen"}
            start = time.monotonic()
            proc = subprocess.Popen(
                [str(ROOT / ".venv/bin/adm-kiosk"), "simulate", "--window", "--out", tmp],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                while True:
                    message = sock.recv(4096).decode()
                    if "READY=1" in message.split("\n"):
                        times.append(time.monotonic() - start)
                        break
            finally:
                proc.terminate()
                proc.wait(timeout=30)
                sock.close()
    return times


class Clicks:
    """Presses on real buttons, counted (the code's digits apart)."""

    def __init__(self, qapp: QApplication) -> None:
        self.qapp = qapp
        self.touches = 0
        self.digits = 0

    def press(self, button: QPushButton, digit: bool = False) -> None:
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        self.qapp.processEvents()
        if digit:
            self.digits += 1
        else:
            self.touches += 1


def pin_session(ui: KioskUi, app: KioskApp, qapp: QApplication, clicks: Clicks) -> None:
    w = ui.window
    clicks.press(w.screens["attract"].pin_button)  # type: ignore[attr-defined]
    wait_until(qapp, lambda: app.flow.state == "enter_pin", 10, "the PIN screen")
    for digit in DEMO_NIK + demo_pin(DEMO_NIK):
        clicks.press(w.pin.keypad.buttons[digit], digit=True)
    assert (w.pin.nik.value, w.pin.pin.value) == (DEMO_NIK, demo_pin(DEMO_NIK)), (
        w.pin.nik.value,
        w.pin.pin.value,
    )
    clicks.press(w.pin.submit)
    wait_until(
        qapp,
        lambda: app.flow.state in ("choose_documents", "error", "enter_pin"),
        30,
        "the documents",
    )
    if app.flow.state != "choose_documents":
        raise RuntimeError(f"login failed: {app.flow.state} {app.flow.view().prompt}")
    print_one(ui, app, qapp, clicks)


def print_one(ui: KioskUi, app: KioskApp, qapp: QApplication, clicks: Clicks) -> None:
    w = ui.window
    doc = next(d for d in app.flow.session.documents if d["kind"] == "akta_kelahiran")
    clicks.press(w.documents.doc_buttons[doc["id"]])
    wait_until(qapp, lambda: app.flow.state == "enter_code", 10, "the code keypad")
    for digit in demo_code(doc["number"]):
        clicks.press(w.code.keypad.buttons[digit], digit=True)
    clicks.press(w.code.submit)
    wait_until(qapp, lambda: app.flow.state == "choose_documents", 30, "the code check")
    clicks.press(w.documents.print_button)
    wait_until(qapp, lambda: app.flow.state in ("done", "error"), 60, "the print")
    if app.flow.state == "error":
        raise RuntimeError(f"print failed: {app.flow.session.error}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument(
        "--why",
        action="store_true",
        help="sample the other threads' stacks and print what ran during the stalls",
    )
    parser.add_argument("--cold-runs", type=int, default=5)
    args = parser.parse_args()
    print(header())
    rig = Rig()
    rig.up()
    rig.remove_card()
    colds = cold_start(args.cold_runs)
    print(
        f"cold start to the idle screen painted: median {statistics.median(colds):.2f} s "
        f"(runs: {', '.join(f'{t:.2f}' for t in colds)})"
    )

    qapp = QApplication.instance() or QApplication([])
    assert isinstance(qapp, QApplication)
    tmp = Path(tempfile.mkdtemp(prefix="adm-bench-ui-"))
    cfg = demo_config()
    cfg.printer.server = str(rig.cups_socket)
    cfg.printer.backend = "sim"  # hundreds of sessions: the printer answers at once
    cfg.kiosk.store = str(tmp / "kiosk.db")
    cfg.server.database = f"sqlite:///{tmp}/server.db"
    cfg.server.home = str(tmp / "server-home")
    cfg.ui.voice = "none"
    # The central server in a process of its own, as in a deployment (in the demo's own
    # process its work would compete with the screen for the interpreter).
    server = ServerProcess(cfg.server.database, Path(cfg.server.home), cfg.kiosk.id)
    server.spawn()
    use_rig(cfg, rig)  # the emulated fingerprint module and QR scanner
    # A demo kiosk talks only to the simulator's server (kiosk.config): handed to it.
    app, _ = build_with_server(cfg, server_process=server)
    app.start()
    ui = KioskUi(app)
    ui.window.show()
    wait_until(qapp, lambda: app.flow.state == "attract", 30, "the idle screen")
    # As on a kiosk: the renderers come in at idle, after READY, before the first citizen.
    wait_until(qapp, app.warmed.is_set, 30, "the renderers warmed")

    # The GUI thread's lateness: a 10 ms timer that measures how late it fires.
    clock, late, session_late = QElapsedTimer(), [0.0], [0.0]
    clock.start()
    last = [clock.elapsed()]
    stalls: list[tuple[float, str]] = []  # (seconds late, the flow's state then)
    stall_ends: list[tuple[float, float]] = []  # (monotonic time noticed, seconds late)

    def tick() -> None:
        now = clock.elapsed()
        lateness = (now - last[0] - 10) / 1000
        late[0] = max(late[0], lateness)
        session_late[0] = max(session_late[0], lateness)
        if lateness > 0.03:
            stalls.append((lateness, app.flow.state))
            stall_ends.append((time.monotonic(), lateness))
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(10)
    samples: collections.deque[tuple[float, str]] = collections.deque(maxlen=20000)
    collections_seen: list[tuple[int, float]] = []  # (generation, seconds)
    if args.why:
        start_sampler(samples)
        began = [0.0]

        def on_gc(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                began[0] = time.perf_counter()
            else:
                collections_seen.append((info["generation"], time.perf_counter() - began[0]))

        gc.callbacks.append(on_gc)

    clicks = Clicks(qapp)
    marks: dict[int, float] = {}
    started = time.monotonic()
    per_session: list[float] = []  # each session's longest stall
    for n in range(1, args.sessions + 1):
        session_late[0] = 0.0
        pin_session(ui, app, qapp, clicks)
        clicks.press(ui.window.screens["done"].findChild(QPushButton))  # Selesai
        wait_until(qapp, lambda: app.flow.state == "attract", 30, "the idle screen")
        # A printed document is not offered again: approve it anew for the next session.
        # (The bench's own database work on this thread is not the kiosk's: not timed.)
        timer.stop()
        per_session.append(session_late[0])
        reissue(cfg)
        last[0] = clock.elapsed()
        timer.start(10)
        if n in (1, 20, 100, args.sessions):
            marks[n] = rss_mb()
    took = time.monotonic() - started
    timer.stop()
    print(
        f"{args.sessions} scripted sessions (NIK + PIN, one document coded and printed) in "
        f"{took:.0f} s; resident memory "
        + ", ".join(f"after {n}: {mb:.1f} MB" for n, mb in marks.items())
        + f"; growth from session 20 to {args.sessions}: "
        f"{marks[args.sessions] - marks.get(20, marks[1]):.1f} MB"
    )
    print(f"longest GUI-thread stall (10 ms timer's lateness): {late[0] * 1000:.1f} ms")
    ranked = sorted(per_session)
    print(
        "each session's longest stall: median "
        f"{statistics.median(ranked) * 1000:.0f} ms, 95th percentile "
        f"{ranked[int(len(ranked) * 0.95) - 1] * 1000:.0f} ms, 99th "
        f"{ranked[max(0, int(len(ranked) * 0.99) - 1)] * 1000:.0f} ms; sessions over 50 ms: "
        f"{sum(1 for t in ranked if t > 0.05)} of {len(ranked)}"
    )
    if args.why:
        print_stall_causes(samples, stall_ends)
        for generation in (0, 1, 2):
            took = [t for g, t in collections_seen if g == generation]
            if took:
                print(
                    f"  gc generation {generation}: {len(took)} collections, "
                    f"longest {max(took) * 1000:.1f} ms"
                )
    by_state: dict[str, list[float]] = {}
    for lateness, state in stalls:
        by_state.setdefault(state, []).append(lateness)
    print(
        "stalls over 30 ms by flow state: "
        + (
            ", ".join(
                f"{state} {len(v)}x (max {max(v) * 1000:.0f} ms)"
                for state, v in sorted(by_state.items(), key=lambda kv: -max(kv[1]))
            )
            or "none"
        )
    )

    # Touches on the e-KTP path, card tap to a printed single document.
    card = Clicks(qapp)
    if cfg.fingerprint.backend == "serial":
        rig.serial("fingerprint", finger="holder")
    rig.insert_card(DEMO_NIK)
    wait_until(qapp, lambda: app.flow.state == "choose_documents", 60, "the documents")
    print_one(ui, app, qapp, card)
    rig.remove_card()
    wait_until(qapp, lambda: app.flow.state == "attract", 30, "the idle screen")
    print(
        f"touches from the card tap to a printed single document: {card.touches} "
        f"(the code's {card.digits} digits not counted)"
    )
    ui.close()
    app.stop()
    server.stop()
    return 0


def start_sampler(samples: collections.deque[tuple[float, str]]) -> None:
    """Every 2 ms, where each other thread is (its innermost three frames in the
    project or a library): what held the interpreter while the screen waited."""
    gui = threading.main_thread().ident

    def run() -> None:
        me = threading.get_ident()
        while True:
            now = time.monotonic()
            for ident, frame in sys._current_frames().items():
                if ident in (gui, me):
                    continue
                where = []
                f: Any = frame
                while f is not None and len(where) < 3:
                    where.append(f"{Path(f.f_code.co_filename).name}:{f.f_code.co_name}")
                    f = f.f_back
                samples.append((now, " < ".join(where)))
            time.sleep(0.002)

    threading.Thread(target=run, name="stall-sampler", daemon=True).start()


def print_stall_causes(
    samples: collections.deque[tuple[float, str]], ends: list[tuple[float, float]]
) -> None:
    seen: collections.Counter[str] = collections.Counter()
    for end, lateness in ends:
        for at, where in list(samples):
            if end - lateness - 0.01 <= at <= end:
                seen[where] += 1
    for where, n in seen.most_common(15):
        print(f"  {n:5d}  {where}")


def reissue(cfg: object) -> None:
    """Put the birth certificate back to approved with its demo code (the embedded
    server's database, as an officer re-issuing it would)."""
    from sqlalchemy import update

    from server.db import Document, make_engine
    from server.pki import ServerHome
    from server.security import keyed_hash

    pepper = ServerHome(Path(cfg.server.home)).pepper()  # type: ignore[attr-defined]
    engine = make_engine(cfg.server.database, migrate=False)  # type: ignore[attr-defined]
    with engine.begin() as conn:
        for number in conn.execute(
            Document.__table__.select().where(Document.kind == "akta_kelahiran")
        ).all():
            conn.execute(
                update(Document)
                .where(Document.id == number.id)
                .values(
                    status="approved",
                    printed_at=None,
                    printed_job=None,
                    printed_kiosk=None,
                    reserved_job=None,
                    reserved_until=None,
                    code_hash=keyed_hash(pepper, "code", demo_code(number.number)),
                )
            )
    engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
