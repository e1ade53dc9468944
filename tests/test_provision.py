"""Provisioning: a freshly issued enrolment from the reference server installed on a
kiosk (keys with their modes, the configuration written), then checked against the
server, the rig's printers, and what a production configuration still needs."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sim.embedded import EmbeddedServer

ROOT = Path(__file__).resolve().parent.parent


def enrol(server: EmbeddedServer, kiosk_id: str, out: Path) -> Path:
    path = out / f"{kiosk_id}.enrol"
    cli = [sys.executable, "-m", "server.cli", "--home", str(server.home.path)]
    run = subprocess.run(
        [
            *cli,
            "--db",
            server.database_url,
            "pki",
            "issue-kiosk",
            kiosk_id,
            "--out",
            str(out),
            "--enrolment",
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return path


def provision(rig: Any, url: str, enrolment: Path, etc: Path) -> subprocess.CompletedProcess[str]:
    cli = [sys.executable, "-m", "cli.kiosk", "provision", "--server", url]
    return subprocess.run(
        [*cli, "--enrolment", str(enrolment), "--etc", str(etc), "--owner", "root"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "CUPS_SERVER": str(rig.cups_socket)},
        timeout=120,
    )


@pytest.mark.rig
def test_a_fresh_enrolment_is_installed_checked_and_what_is_missing_said(
    rig: Any, server: EmbeddedServer, tmp_path: Path
) -> None:
    enrolment = enrol(server, "kiosk-prov-1", tmp_path / "issued")
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "kiosk.toml").write_text('[printer]\nqueue_a4 = "adm-a4"\ncard_serials = ""\n')
    done = provision(rig, server.url, enrolment, etc)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr  # ready but for the missing keys
    assert "✓  enrolment of kiosk kiosk-prov-1: signed by the deployment CA" in out
    assert f"✓  server {server.url}: reachable, this kiosk's certificate accepted" in out
    assert "✓  printer queue adm-a4" in out and "✓  printer queue adm-card" in out
    assert "card.reader: the e-KTP reader's PC/SC name" in out
    assert "technician.pin_hash: a technician PIN" in out
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (etc / "keys").iterdir()}
    assert modes == {"kiosk.key": 0o600, "kiosk.pem": 0o640, "ca.pem": 0o644, "issuer.pem": 0o644}
    assert stat.S_IMODE((etc / "kiosk.toml").stat().st_mode) == 0o640
    text = (etc / "kiosk.toml").read_text()
    assert 'id = "kiosk-prov-1"' in text and f'url = "{server.url}"' in text
    assert 'queue_a4 = "adm-a4"' in text  # what was there stays


@pytest.mark.rig
def test_an_unusable_enrolment_or_server_is_said_plainly(
    rig: Any, server: EmbeddedServer, tmp_path: Path
) -> None:
    one = enrol(server, "kiosk-prov-2", tmp_path / "a")
    other = enrol(server, "kiosk-prov-3", tmp_path / "b")
    forged = json.loads(one.read_text())
    forged["key"] = json.loads(other.read_text())["key"]
    bad = tmp_path / "forged.enrol"
    bad.write_text(json.dumps(forged))
    done = provision(rig, server.url, bad, tmp_path / "etc1")
    assert done.returncode == 2 and "private key does not belong to the certificate" in done.stdout
    garbage = tmp_path / "garbage.enrol"
    garbage.write_bytes(b"\xff\xfe not json")
    done = provision(rig, server.url, garbage, tmp_path / "etc2")
    assert done.returncode == 2 and "not an enrolment file" in done.stdout
    done = provision(rig, "https://127.0.0.1:9", one, tmp_path / "etc3")
    assert done.returncode == 1 and "✕  server not reachable" in done.stdout
