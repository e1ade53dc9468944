"""Start without devices, stop cleanly: the kiosk's life cycle on the real rig.

* A kiosk started with pcscd and CUPS absent is out of service at once (its first health
  round runs as soon as it starts) and serves once both appear, without a restart.
* ``adm-kiosk run`` stops in order on SIGTERM: the audit chain verifies and ends with
  ``kiosk_stopped``; a partial start leaves nothing running; a bad configuration is one
  line naming the key, not a traceback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kiosk.app import KioskApp
from kiosk.config import Config, ConfigError
from kiosk.store import KioskStore
from sim.embedded import EmbeddedServer
from sim.rig import Rig
from tests.conftest import point_at, rig_config, run_until, server_section

pytestmark = pytest.mark.rig


def test_starts_out_of_service_without_reader_and_cups_and_serves_when_they_appear(
    rig: Rig, server: EmbeddedServer, tmp_path: Path
) -> None:
    """GIVEN pcscd stopped and the CUPS socket absent WHEN the kiosk starts THEN it is out
    of service within 2 s, saying why; WHEN both appear THEN it serves, unrestarted."""
    cups = tmp_path / "cups.sock"  # a link to the rig's cupsd, made when CUPS "appears"
    cfg = rig_config()
    point_at(cfg, server)
    cfg.printer.server = str(cups)
    cfg.kiosk.store = str(tmp_path / "kiosk.db")
    rig.stop_pcscd()
    app = KioskApp(cfg)
    try:
        started = time.monotonic()
        app.start(wait=False)
        assert app.flow.state == "starting"
        run_until(app, lambda: app.flow.state != "starting", "the first verdict", timeout=2.0)
        assert time.monotonic() - started < 2.0
        assert app.flow.state == "out_of_service"
        assert app.flow.view().error  # the reason, for the screen
        rig.restart_pcscd()
        rig.insert_sam()
        cups.symlink_to(rig.cups_socket)
        run_until(app, lambda: app.flow.state == "attract", "service once devices appear", 60)
    finally:
        app.stop()
        if rig._pid("pcscd") is None:
            rig.restart_pcscd()
        rig.insert_sam()
    store = KioskStore(tmp_path / "kiosk.db")
    try:
        kinds = [e[2] for e in store.audit_events()]
        assert "device_unavailable" in kinds and "in_service" in kinds
        assert kinds[-1] == "kiosk_stopped" and store.verify_audit().ok
    finally:
        store.close()


def test_stop_after_a_failed_start_cleans_up(tmp_path: Path) -> None:
    """A start that fails part-way (a simulator name reaching the composition root) is
    refused with the key named, and stop() after it neither raises nor leaves threads."""
    cfg = Config()
    cfg.kiosk.store = str(tmp_path / "kiosk.db")
    cfg.card.backend = "sim"
    app = KioskApp(cfg)
    with pytest.raises(ConfigError, match=r"card\.backend"):
        app.start()
    app.stop()  # again: must be harmless

    assert not [t for t in threading.enumerate() if t.name in ("health", "card-watch")]


def _kiosk_file(tmp_path: Path, server: EmbeddedServer) -> Path:
    """A demo-mode kiosk with every device simulated in-process (no rig needed) and the
    test server: what `adm-kiosk run` composes through sim/."""
    keys = Path(__file__).resolve().parent.parent / "config" / "keys"
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f"""
[kiosk]
id = "kiosk-test"
mode = "demo"
store = "{tmp_path / "kiosk.db"}"
[card]
backend = "sim"
issuer_key = "{keys / "ektp-issuer-test.pem"}"
[fingerprint]
backend = "sim"
[printer]
backend = "sim"
{server_section(server, backend="embedded")}"""
    )
    return path


def test_sigterm_stops_in_order_with_an_intact_audit_chain(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    """GIVEN `adm-kiosk run` serving WHEN SIGTERM arrives THEN it exits 0 and its audit
    log verifies and ends with kiosk_stopped (nothing still queued was lost)."""
    config = _kiosk_file(tmp_path, server)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.kiosk", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    stdout = proc.stdout
    seen: list[str] = []
    serving = threading.Event()

    def read() -> None:  # the kiosk's own log says when it serves
        for line in stdout:
            seen.append(line)
            if "starting --service_up--> attract" in line:
                serving.set()
                return

    try:
        threading.Thread(target=read, daemon=True).start()
        assert serving.wait(60), "".join(seen)
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, "".join(seen) + rest
    assert "kiosk stopped" in rest
    store = KioskStore(tmp_path / "kiosk.db")
    try:
        events = store.audit_events()
        assert events[0][2] == "kiosk_started" and events[-1][2] == "kiosk_stopped"
        assert "in_service" in [e[2] for e in events]
        assert store.verify_audit().ok
    finally:
        store.close()


def test_run_with_a_bad_configuration_names_the_key_without_a_traceback(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "kiosk.toml"
    bad.write_text('[kiosk]\nmode = "production"\n[card]\nbackend = "usb"\n')
    res = subprocess.run(
        [sys.executable, "-m", "cli.kiosk", "run", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2
    assert "card.backend: must be one of pcsc, sim" in res.stderr
    assert "Traceback" not in res.stderr
