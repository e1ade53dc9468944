"""Supervision by systemd: the notify protocol against a real AF_UNIX datagram socket
standing in for systemd, with the kiosk's window on the GUI thread (offscreen Qt)."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from protocol.notify import Notifier
from ui.supervision import Supervision, status_line


class FakeSystemd:
    """A bound datagram socket collecting (arrival time, message) like systemd's."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.got: list[tuple[float, str]] = []
        self.raw: list[bytes] = []  # as received (journal entries hold binary fields)
        self.arrived = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            with self.arrived:
                self.raw.append(data)
                self.got.append((time.monotonic(), data.decode("utf-8", "replace")))
                self.arrived.notify_all()

    def wait(self, cond: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``cond`` holds, re-checked at each datagram; False at the deadline."""
        with self.arrived:
            return self.arrived.wait_for(cond, timeout)

    def pings(self) -> list[float]:
        return [t for t, m in self.got if m == "WATCHDOG=1"]

    def messages(self) -> list[str]:
        return [m for _, m in self.got if m != "WATCHDOG=1"]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[FakeSystemd]:
    fake = FakeSystemd(tmp_path / "notify.sock")
    yield fake
    fake.close()


def test_the_protocol_lines_and_the_watchdog_interval(systemd: FakeSystemd) -> None:
    env = {"NOTIFY_SOCKET": str(systemd.path), "WATCHDOG_USEC": "3000000"}
    n = Notifier(env)
    assert n.enabled and n.watchdog_seconds == 3.0
    assert n.ready("idle: serving citizens") and n.watchdog() and n.status("in session")
    assert systemd.wait(lambda: len(systemd.got) >= 3, 5)
    assert [m for _, m in systemd.got] == [
        "READY=1\nSTATUS=idle: serving citizens",
        "WATCHDOG=1",
        "STATUS=in session",
    ]
    # Another process's watchdog, or no systemd at all: nothing is sent, nothing fails.
    assert Notifier({**env, "WATCHDOG_PID": "1"}).watchdog_seconds is None
    assert not Notifier({}).ready("x") and not Notifier({}).enabled


def test_an_abstract_socket_address_is_understood() -> None:
    name = f"adm-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    try:
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).ready("idle")
        assert sock.recv(100) == b"READY=1\nSTATUS=idle"
    finally:
        sock.close()


def test_status_lines_say_the_state_never_a_person() -> None:
    assert status_line("attract") == "idle: serving citizens"
    assert status_line("out_of_service", "Printer tidak dapat dihubungi.").startswith(
        "out of service: Printer"
    )
    assert status_line("choose_documents") == "in session"


def _ui(systemd: FakeSystemd, monkeypatch: pytest.MonkeyPatch, server: Any, qtbot: Any) -> Any:
    """A kiosk window and its flow (simulated parts), under the fake systemd."""
    from drivers.card.sam import ApduSam
    from drivers.card.sim import SimReader
    from drivers.card.virtual import VirtualSam
    from kiosk.card_service import CardService
    from kiosk.flow import Flow, Services
    from kiosk.print_service import PrintService
    from printing.sim_spooler import SimSpooler
    from sim import keys
    from tests.conftest import kiosk_client
    from ui.main import KioskUi

    monkeypatch.setenv("NOTIFY_SOCKET", str(systemd.path))
    monkeypatch.setenv("WATCHDOG_USEC", "400000")  # pings every 0.2 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    client = kiosk_client(server)
    sam = ApduSam(SimReader(VirtualSam(keys.SAM_MASTER_KEY)))
    card = CardService(SimReader(), sam, keys.issuer_private_key().public_key())
    flow = Flow(Services(card, None, client, PrintService(client, SimSpooler(), poll=0.001)))
    ui = KioskUi(SimpleNamespace(flow=flow, warm_up=lambda then=None: None))  # type: ignore[arg-type]
    return ui


def test_ready_after_the_idle_screen_then_status_and_steady_pings(
    systemd: FakeSystemd, monkeypatch: pytest.MonkeyPatch, server: Any, qtbot: Any
) -> None:
    ui = _ui(systemd, monkeypatch, server, qtbot)
    order: list[str] = []
    shown = ui.window.show_view
    ui.window.show_view = lambda view: (order.append(f"shown {view.state}"), shown(view))
    send = ui.supervision.notifier.send
    ui.supervision.notifier.send = lambda *lines: (order.append(lines[0]), send(*lines))[1]
    try:
        qtbot.wait(600)  # still starting: pings, but no READY
        assert "READY=1" not in "".join(systemd.messages())
        ui.app.flow.post("service_up")
        qtbot.waitUntil(lambda: any("READY=1" in m for m in systemd.messages()), timeout=5000)
        assert order.index("shown attract") < order.index("READY=1")
        assert systemd.messages()[0] == "READY=1\nSTATUS=idle: serving citizens"
        ui.app.flow.post("service_down", reason="Printer tidak dapat dihubungi.")
        qtbot.waitUntil(lambda: len(systemd.messages()) == 2, timeout=5000)
        assert systemd.messages()[1] == "STATUS=out of service: Printer tidak dapat dihubungi."
        first = len(systemd.pings())
        qtbot.wait(1200)
        pings = systemd.pings()[first:]
        gaps = [b - a for a, b in itertools.pairwise(pings)]
        assert len(gaps) >= 4 and all(0.1 < g < 0.4 for g in gaps), gaps
    finally:
        ui.close()


def test_a_stalled_gui_thread_stops_the_pings(
    systemd: FakeSystemd, monkeypatch: pytest.MonkeyPatch, server: Any, qtbot: Any
) -> None:
    from PySide6.QtCore import QTimer

    ui = _ui(systemd, monkeypatch, server, qtbot)
    try:
        qtbot.waitUntil(lambda: len(systemd.pings()) >= 2, timeout=5000)
        stalled_at = time.monotonic()
        QTimer.singleShot(0, lambda: _busy(1.0))  # the GUI thread blocked for 1 s
        qtbot.wait(1500)
        during = [t for t in systemd.pings() if stalled_at + 0.25 < t < stalled_at + 0.95]
        assert during == []  # longer than the 0.4 s watchdog: systemd would restart us
        assert systemd.pings()[-1] > stalled_at + 1.0  # and they resume after it
    finally:
        ui.close()


def _busy(seconds: float) -> None:
    """Keep the calling thread busy, as a hung computation on the GUI thread would."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


CRASHING = """
import os, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtWidgets import QApplication
from PySide6.QtCore import QTimer
from protocol.notify import Notifier
from ui.supervision import Supervision
from types import SimpleNamespace
app = QApplication([])
flow = SimpleNamespace(
    state="starting", add_listener=lambda f: None, remove_listener=lambda f: None
)
sup = Supervision(flow, Notifier())
print("up", flush=True)
app.exec()
"""


def test_no_pings_after_a_crash(systemd: FakeSystemd) -> None:
    env = {
        **os.environ,
        "NOTIFY_SOCKET": str(systemd.path),
        "WATCHDOG_USEC": "200000",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([sys.executable, "-c", CRASHING], env=env, stdout=subprocess.PIPE)
    try:
        assert systemd.wait(lambda: len(systemd.pings()) >= 3, 20), "no pings"
        os.kill(proc.pid, signal.SIGSEGV)  # a crash: no clean exit
        proc.wait(timeout=10)
        assert proc.returncode != 0
        # Everything the process sent before it died is in the socket ahead of a marker.
        Notifier({"NOTIFY_SOCKET": str(systemd.path)}).send("MARKER=1")
        assert systemd.wait(lambda: "MARKER=1" in systemd.messages(), 5)
        before = len(systemd.pings())
        # Waiting for the next ping, which a surviving timer would send within 0.1 s:
        # none comes in five of its intervals.
        assert not systemd.wait(lambda: len(systemd.pings()) > before, 0.5)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_attached_to_a_kiosk_already_up_it_is_ready_at_once_and_warms_after(
    systemd: FakeSystemd, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A screen attached after the kiosk left ``starting`` sends READY=1 at once (it
    would otherwise wait for a change that may not come), and what waits for READY runs
    after it, not before."""
    monkeypatch.setenv("NOTIFY_SOCKET", str(systemd.path))
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    order: list[str] = []
    flow = SimpleNamespace(
        state="attract",
        view=lambda: SimpleNamespace(error=""),
        add_listener=lambda f: None,
        remove_listener=lambda f: None,
    )
    notifier = Notifier()
    send = notifier.send
    notifier.send = lambda *lines: (order.append(lines[0]), send(*lines))[1]  # type: ignore[method-assign]
    sup = Supervision(
        flow,  # type: ignore[arg-type]
        notifier,
        paint=lambda: order.append("painted"),
        after_ready=lambda: order.append("warm"),
    )
    assert sup.ready and order == ["painted", "READY=1", "warm"]
    assert systemd.wait(lambda: any("READY=1" in m for m in systemd.messages()), 5)
    sup.close()
