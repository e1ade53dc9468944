"""Provisioning: the kiosk makes its key, sends a certificate request, the office signs
it where the CA key is kept (after comparing the fingerprint the kiosk shows), and the
kiosk collects, checks and installs the certificate, writes its configuration and checks
it against the server, the rig's printers and what a production configuration still
needs.  The key never leaves the kiosk; the serving process signs nothing."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.db import AuditEntry, KioskRequest
from sim.embedded import EmbeddedServer
from tests.console_helpers import database

ROOT = Path(__file__).resolve().parent.parent
FINGERPRINT = re.compile(r"--fingerprint \\\n\s+((?:[0-9a-f]{4} ?){16})")
REQUEST = re.compile(r"adm-server pki sign-kiosk (\S+)")


def provision(
    rig: Any, server: EmbeddedServer, etc: Path, *extra: str, url: str = ""
) -> subprocess.CompletedProcess[str]:
    cli = [sys.executable, "-m", "cli.kiosk", "provision", "--server", url or server.url]
    return subprocess.run(
        [*cli, "--ca", str(server.home.ca_cert), "--etc", str(etc), "--owner", "root", *extra],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "CUPS_SERVER": str(rig.cups_socket)},
        timeout=120,
    )


def sign(
    server: EmbeddedServer, request: str, fingerprint: str
) -> subprocess.CompletedProcess[str]:
    """The office, on the host where the CA key is kept."""
    cli = [sys.executable, "-m", "server.cli", "--home", str(server.home.path)]
    cli += ["--db", server.database_url, "pki", "sign-kiosk", request]
    return subprocess.run(
        [*cli, "--fingerprint", fingerprint, "--as", "budi"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def shown(out: str) -> tuple[str, str]:
    """The request id and fingerprint the kiosk prints for the office."""
    request, fp = REQUEST.search(out), FINGERPRINT.search(out)
    assert request and fp, out
    return request.group(1), fp.group(1).strip()


@pytest.mark.rig
def test_the_key_is_born_on_the_kiosk_signed_at_the_ca_and_installed(
    rig: Any, server: EmbeddedServer, tmp_path: Path
) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "kiosk.toml").write_text('[printer]\nqueue_a4 = "adm-a4"\ncard_serials = ""\n')
    first = provision(rig, server, etc, "--id", "kiosk-prov-1")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "✓  key made on this kiosk" in first.stdout and "not signed yet" in first.stdout
    key = (etc / "keys" / "kiosk.key").read_text()
    assert stat.S_IMODE((etc / "keys" / "kiosk.key").stat().st_mode) == 0o600
    request, fp = shown(first.stdout)
    with database(server) as db:
        row = db.scalars(select(KioskRequest).where(KioskRequest.id.startswith(request))).one()
        assert row.kiosk_id == "kiosk-prov-1" and row.status == "pending"
        # What reached the server is a request: the kiosk's private key is not in it.
        assert "PRIVATE" not in row.csr and key.split("\n")[1] not in row.csr
        assert row.fingerprint == fp.replace(" ", "")
    # A wrong fingerprint (a request that is not the kiosk's own) is not signed.
    wrong = sign(server, request, "0" * 64)
    assert wrong.returncode == 1 and "does not match" in wrong.stderr
    signed = sign(server, request, fp)
    assert signed.returncode == 0, signed.stderr
    done = provision(rig, server, etc)  # run again: collects, installs, checks
    out = done.stdout
    assert done.returncode == 1, out + done.stderr  # ready but for the missing readers
    assert "✓  certificate of kiosk kiosk-prov-1: signed by the deployment CA" in out
    assert f"✓  server {server.url}: reachable, this kiosk's certificate accepted" in out
    assert "✓  printer queue adm-a4" in out and "✓  printer queue adm-card" in out
    assert "card.reader: the e-KTP reader's PC/SC name" in out
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (etc / "keys").iterdir()}
    assert modes == {"kiosk.key": 0o600, "kiosk.pem": 0o640, "ca.pem": 0o644, "issuer.pem": 0o644}
    assert (etc / "keys" / "kiosk.key").read_text() == key  # the same key, never replaced
    text = (etc / "kiosk.toml").read_text()
    assert 'id = "kiosk-prov-1"' in text and f'url = "{server.url}"' in text
    assert 'queue_a4 = "adm-a4"' in text  # what was there stays
    with database(server) as db:
        actions = [a.action for a in db.scalars(select(AuditEntry)).all()]
    assert "kiosk_key_requested" in actions and "kiosk_key_fingerprint_mismatch" in actions
    assert "kiosk_certificate_issued" in actions


@pytest.mark.rig
def test_unusable_answers_and_servers_are_said_plainly(
    rig: Any, server: EmbeddedServer, tmp_path: Path
) -> None:
    down = provision(rig, server, tmp_path / "a", "--id", "kiosk-prov-2", url="https://127.0.0.1:9")
    assert down.returncode == 1 and "✕  central server: unreachable" in down.stdout
    no_id = provision(rig, server, tmp_path / "b")
    assert no_id.returncode == 2 and "--id" in no_id.stdout
    bad_id = provision(rig, server, tmp_path / "c", "--id", "../etc/passwd")
    assert bad_id.returncode == 2 and "kiosk id" in bad_id.stdout
    # The request record of another kiosk is not mixed up with this one's.
    first = provision(rig, server, tmp_path / "d", "--id", "kiosk-prov-3")
    assert first.returncode == 1
    other = provision(rig, server, tmp_path / "d", "--id", "kiosk-prov-4")
    assert other.returncode == 2 and "kiosk-prov-3" in other.stdout
    (tmp_path / "d" / "keys" / "request.json").write_bytes(b"\xff not json")
    broken = provision(rig, server, tmp_path / "d")
    assert broken.returncode == 2 and "unreadable" in broken.stdout
    assert "Traceback" not in broken.stderr + other.stderr + down.stderr


def test_the_serving_process_has_no_signing_path() -> None:
    """The server's own modules (the API, the console, the ASGI entry) never reach the
    CA key: no route signs, and nothing they import calls the signing method."""
    import ast

    for module in ("server/app.py", "server/console/web.py", "server/asgi.py"):
        tree = ast.parse((ROOT / module).read_text())
        called = {
            node.func.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        }
        assert not called & {"sign_kiosk_request", "_certify", "_ca", "_issue"}, module
