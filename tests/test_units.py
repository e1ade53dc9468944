"""The systemd units: verified by systemd-analyze (syntax, references, the executables
they name), their sandbox scored, and the server's READY=1 after migrations."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_supervision import FakeSystemd

UNITS = Path(__file__).resolve().parent.parent / "systemd"
EXECUTABLES = (
    "opt/adm-kiosk/venv/bin/adm-kiosk",
    "opt/adm-kiosk/venv/bin/adm-server",
    "usr/bin/cage",
)

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is part of Debian's systemd"
)


def _root(tmp: Path, units: dict[str, str]) -> Path:
    """A root with the system's own units, ours, and the executables they start."""
    root = tmp / "root"
    (root / "etc/systemd/system").mkdir(parents=True)
    (root / "usr/lib/systemd").mkdir(parents=True)
    shutil.copytree("/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    for name, text in units.items():
        (root / "etc/systemd/system" / name).write_text(text)
    for exe in EXECUTABLES:
        path = root / exe
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    return root


def _verify(root: Path, *names: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", *names],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_units_verify_and_a_broken_one_would_not(tmp_path: Path) -> None:
    units = {p.name: p.read_text() for p in UNITS.glob("*.service")}
    assert set(units) == {
        "adm-kiosk.service",
        "adm-server.service",
        "adm-kiosk-enrol.service",
        "adm-kiosk-update.service",
    }
    ok = _verify(_root(tmp_path / "ok", units), *units)
    assert ok.returncode == 0 and not ok.stderr.strip(), ok.stderr
    broken = dict(units)
    broken["adm-kiosk.service"] = units["adm-kiosk.service"].replace(
        "ExecStart=/usr/bin/cage", "ExecStart=/usr/bin/no-such-compositor"
    )
    bad = _verify(_root(tmp_path / "bad", broken), "adm-kiosk.service")
    assert bad.returncode != 0 and "no-such-compositor" in bad.stderr


def test_supervision_settings_of_the_units() -> None:
    kiosk = (UNITS / "adm-kiosk.service").read_text()
    server = (UNITS / "adm-server.service").read_text()
    for text in (kiosk, server):
        assert "Type=notify" in text and "Restart=always" in text
        assert "StartLimitIntervalSec=0" in text  # a lobby unit never gives up
    assert re.search(r"^WatchdogSec=\d+$", kiosk, re.M)
    assert "NotifyAccess=all" in kiosk  # the kiosk is the compositor's child
    # A PAM session (pam_systemd) would move the kiosk into a session scope, where its
    # READY=1 and watchdog pings no longer count as the unit's: the seat is seatd's.
    assert "PAMName=" not in kiosk and "LIBSEAT_BACKEND=seatd" in kiosk
    assert "adm-kiosk-enrol.service" in re.search(r"^After=.*$", kiosk, re.M).group(0)  # type: ignore[union-attr]


def test_presets_enable_the_kiosk_and_not_the_server() -> None:
    """A new image's first boot applies the presets (systemd's preset-all): the first
    boot enabled the server on a kiosk until the package said otherwise."""
    preset = (UNITS / "50-adm-kiosk.preset").read_text()
    rules = dict(line.split()[::-1] for line in preset.splitlines() if line[:1].isalpha())
    assert rules == {
        "adm-kiosk.service": "enable",
        "adm-kiosk-enrol.service": "enable",
        "adm-kiosk-update.service": "enable",
        "adm-server.service": "disable",
    }
    # The updater runs only on an A/B appliance, and never gives up either.
    updater = (UNITS / "adm-kiosk-update.service").read_text()
    assert "ConditionPathExists=/etc/rauc/system.conf" in updater
    assert "Restart=always" in updater and "StartLimitIntervalSec=0" in updater


def _exposure(unit: Path) -> float:
    out = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    found = re.search(r"Overall exposure level for \S+: ([0-9.]+)", out)
    assert found, out[-500:]
    return float(found.group(1))


def test_the_sandbox_scores() -> None:
    # The figures in the README: server 1.2 "OK", kiosk 2.0 "OK" (a graphical session
    # with devices); a unit that loses a hardening line fails here.
    assert _exposure(UNITS / "adm-server.service") <= 1.5
    assert _exposure(UNITS / "adm-kiosk.service") <= 2.2
    # root, for the enrolment disk's mount, CUPS queues and handing the key to its user
    assert _exposure(UNITS / "adm-kiosk-enrol.service") <= 3.5


def test_the_server_says_ready_after_migrations_once_it_answers(
    server_home: Path, tmp_path: Path
) -> None:
    from server.db import make_engine
    from server.migrate import current

    home = tmp_path / "home"
    shutil.copytree(server_home, home)
    systemd = FakeSystemd(tmp_path / "notify.sock")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = f"sqlite:///{tmp_path / 'server.db'}"
    env = {"NOTIFY_SOCKET": str(systemd.path), "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "server.cli", "--home", str(home), "--db", db]
    proc = subprocess.Popen(
        [*cmd, "serve", "--port", str(port)],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert systemd.wait(lambda: bool(systemd.messages()), 60), "no READY"
        assert proc.poll() is None
        assert systemd.messages()[0] == f"READY=1\nSTATUS=serving on port {port} with 1 worker(s)"
        engine = make_engine(db, migrate=False)
        assert current(engine) is not None  # the schema was there before READY
        engine.dispose()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        systemd.close()
