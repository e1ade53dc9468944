"""The simulator panel beside the windowed demo: each button changes the simulated world
(the rig's card, QR scanner and printer, the embedded server), off the GUI thread."""

from __future__ import annotations

import ssl
import threading
from typing import Any

import httpx

from drivers.qr.serial_backend import SerialQrScanner
from sim.embedded import EmbeddedServer
from sim.panel import SimulatorPanel
from sim.population import FAMILIES
from sim.rig import Rig


def press(qtbot: Any, panel: SimulatorPanel, key: str) -> str:
    panel.buttons[key].click()
    qtbot.waitUntil(lambda: panel.pending == 0, timeout=30_000)
    return panel.status.text()


def healthy(srv: EmbeddedServer) -> bool:
    ctx = ssl.create_default_context(cafile=str(srv.home.ca_cert))
    try:
        return httpx.get(f"{srv.url}/api/v1/health", verify=ctx, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_panel_drives_the_card_the_qr_scanner_the_printer_and_the_server(
    qtbot: Any, rig: Rig, own_server: EmbeddedServer
) -> None:
    panel = SimulatorPanel(rig, own_server)
    qtbot.addWidget(panel)
    try:
        other = FAMILIES[1]["members"][0]["nik"]
        panel.citizen.setCurrentIndex(panel.citizen.findData(other))
        assert press(qtbot, panel, "tap").endswith("done.")
        assert rig.status()["card"].startswith("inserted")
        assert press(qtbot, panel, "lift").endswith("done.")
        assert rig.status()["card"] == "none"

        seen: list[str] = []
        got = threading.Event()
        scanner = SerialQrScanner(rig.serial_link("qr"))
        scanner.start(lambda code: (seen.append(code), got.set()))
        assert scanner.wait_ready(10)
        panel.qr_text.setText("ADM-TEST-123")
        press(qtbot, panel, "qr")
        assert got.wait(10) and seen == ["ADM-TEST-123"]
        scanner.stop()

        assert press(qtbot, panel, "finger_wrong").endswith("done.")
        assert press(qtbot, panel, "finger_good").endswith("done.")

        assert press(qtbot, panel, "a4_stop").endswith("done.")
        assert rig.status()["printer adm-a4"] == "stopped"
        assert press(qtbot, panel, "a4_start").endswith("done.")
        assert rig.status()["printer adm-a4"].startswith("running")
        assert press(qtbot, panel, "paper_empty").endswith("done.")
        assert press(qtbot, panel, "paper_fill").endswith("done.")

        assert healthy(own_server)
        assert press(qtbot, panel, "server_down").endswith("done.")
        assert not healthy(own_server)
        assert press(qtbot, panel, "server_up").endswith("done.")
        assert healthy(own_server)
    finally:
        rig.remove_card()
        rig.start_printer("adm-a4")
        rig.set_paper("adm-a4", 250)
        panel.close()


def test_a_failing_action_is_reported_and_the_panel_goes_on(qtbot: Any, rig: Rig) -> None:
    panel = SimulatorPanel(rig, None)
    qtbot.addWidget(panel)
    assert not panel.buttons["server_down"].isEnabled()  # no embedded server to stop

    def broken() -> None:
        raise RuntimeError("no such printer")

    panel.run("Stop printer", broken)
    qtbot.waitUntil(lambda: panel.pending == 0)
    assert panel.status.text() == "Stop printer: failed (no such printer)."
    panel.close()


def test_the_demo_server_in_its_own_process_goes_down_and_comes_back_on_its_port(
    tmp_path: Any,
) -> None:
    from sim.server_process import ServerProcess

    proc = ServerProcess(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "home", "adm-sim-001")
    proc.spawn()  # returns at once: the kiosk imports meanwhile
    proc.wait_ready()
    try:
        ctx = ssl.create_default_context(cafile=str(tmp_path / "home" / "ca.pem"))
        ctx.load_cert_chain(proc.cert, proc.key)

        def answers() -> bool:
            try:
                return httpx.get(f"{proc.url}/api/v1/health", verify=ctx, timeout=2).is_success
            except httpx.HTTPError:
                return False

        url = proc.url
        assert answers()
        proc.stop()
        assert not answers()
        proc.start()
        assert proc.url == url and answers()
    finally:
        proc.stop()
