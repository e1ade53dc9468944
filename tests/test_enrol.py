"""First boot of an image: the enrolment file (kiosk/enrol.py, ``adm-kiosk enrol``).

The file is checked before anything is written (a private key, a plain-HTTP server, an
unknown section, a bad queue name or URI each refused with the key named); applied, it
installs the public keys, records the printers, sets the configuration keys and runs the
provisioning against a real server until the office signs.  The booted image runs the
same command from its unit (tests/boot)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk import enrol
from sim.embedded import EmbeddedServer
from tests.test_provision import ROOT, shown, sign

PUBLIC = (
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"
)

GOOD = """\
[enrolment]
server = "https://adm.example.go.id:8443"
id = "kiosk-enrol-1"
ca = "ca.pem"
ektp_issuer = "ektp-issuer.pem"
wait = 0

[printers]
adm-a4 = "ipp://192.0.2.10/ipp/print"

[config]
"card.reader" = "ACS ACR1252 PICC"
"fingerprint.baud" = 57600
"ui.office_notice" = "Buka 08.00-15.00"
"""


def folder(tmp: Path, text: str, ca: str = PUBLIC, issuer: str = PUBLIC) -> Path:
    (tmp / "enrolment.toml").write_text(text)
    (tmp / "ca.pem").write_text(ca)
    (tmp / "ektp-issuer.pem").write_text(issuer)
    return tmp / "enrolment.toml"


def test_a_good_file_parses(tmp_path: Path) -> None:
    got = enrol.parse(folder(tmp_path, GOOD))
    assert got.kiosk_id == "kiosk-enrol-1" and got.wait == 0
    assert got.printers == {"adm-a4": "ipp://192.0.2.10/ipp/print"}
    assert got.config["fingerprint.baud"] == 57600
    assert got.ca_pem == PUBLIC


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda t: t.replace("https://", "http://"), "enrolment.server must be an https://"),
        (lambda t: t.replace('id = "kiosk-enrol-1"\n', ""), "enrolment.id is missing"),
        (lambda t: t + "\n[secrets]\nx = 1\n", "unknown section(s) secrets"),
        (lambda t: t.replace("adm-a4 =", '"adm a4" ='), "[printers] maps queue names"),
        (lambda t: t.replace("ipp://192", "file:///etc/192"), "printers.adm-a4: not a printer"),
        (lambda t: t + '"server.url" = "https://x"\n', "config.server.url: set by provisioning"),
        (lambda t: t + '"nodot" = 1\n', 'config.nodot: expected "section.key"'),
        (lambda t: t.replace("wait = 0", "wait = -1"), "enrolment.wait must be a number"),
        (lambda t: t.replace("[enrolment]", "[enrolment"), "enrolment.toml"),
    ],
)
def test_a_bad_file_is_refused_naming_the_key(tmp_path: Path, change: Any, words: str) -> None:
    with pytest.raises(enrol.EnrolError) as err:
        enrol.parse(folder(tmp_path, change(GOOD)))
    assert words in str(err.value)


def test_an_enrolment_never_carries_a_private_key(tmp_path: Path) -> None:
    private = (
        "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\n-----END PRIVATE KEY-----\n"
    )
    with pytest.raises(enrol.EnrolError, match="holds a private key"):
        enrol.parse(folder(tmp_path, GOOD, issuer=private))
    with pytest.raises(enrol.EnrolError, match=r"enrolment\.ca: .* is not PEM"):
        enrol.parse(folder(tmp_path, GOOD, ca="not a certificate"))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_parsed_or_refused_plainly(tmp_path_factory: Any, text: str) -> None:
    tmp = tmp_path_factory.mktemp("fuzz")
    try:
        enrol.parse(folder(tmp, text))
    except enrol.EnrolError as exc:
        assert str(exc)


def test_the_printer_list_outlives_the_file(tmp_path: Path) -> None:
    enrol.save_printers(tmp_path, {"adm-a4": "ipp://192.0.2.10/ipp/print", "adm-card": "usb://x"})
    assert enrol.load_printers(tmp_path) == {
        "adm-a4": "ipp://192.0.2.10/ipp/print",
        "adm-card": "usb://x",
    }
    assert enrol.load_printers(tmp_path / "none") == {}


def _enrol(etc: Path, cups: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.kiosk", "enrol", "--etc", str(etc), "--owner", "root"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "CUPS_SERVER": str(cups), "PYTHONUNBUFFERED": "1"},
        timeout=180,
    )


@pytest.mark.rig
def test_enrol_applies_the_file_and_provisions_once_signed(
    rig: Any, server: EmbeddedServer, tmp_path: Path
) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    a4 = rig.printer("adm-a4").port
    text = GOOD.replace("https://adm.example.go.id:8443", server.url).replace(
        "ipp://192.0.2.10/ipp/print", f"ipp://localhost:{a4}/ipp/print"
    )
    text = text.replace("adm-a4 =", "adm-enrol-a4 =")
    folder(etc, text, ca=server.home.ca_cert.read_text())
    cups = {**os.environ, "CUPS_SERVER": str(rig.cups_socket)}
    subprocess.run(["lpadmin", "-x", "adm-enrol-a4"], env=cups, capture_output=True)
    first = _enrol(etc, rig.cups_socket)
    assert first.returncode == 1, first.stdout + first.stderr  # the office has not signed
    assert "✓  printer queue adm-enrol-a4" in first.stdout
    assert (etc / "keys" / "ektp-issuer.pem").read_text() == PUBLIC
    config = tomllib.loads((etc / "kiosk.toml").read_text())
    assert config["card"]["reader"] == "ACS ACR1252 PICC"
    assert config["fingerprint"]["baud"] == 57600
    assert config["card"]["issuer_key"] == str(etc / "keys" / "ektp-issuer.pem")
    request, fp = shown(first.stdout)
    assert sign(server, request, fp).returncode == 0
    second = _enrol(etc, rig.cups_socket)
    assert "✓  certificate of kiosk kiosk-enrol-1: signed by the deployment CA" in second.stdout
    assert "this kiosk's certificate accepted" in second.stdout
    assert second.returncode == 0, second.stdout + second.stderr
    config = tomllib.loads((etc / "kiosk.toml").read_text())
    assert config["kiosk"]["id"] == "kiosk-enrol-1" and config["server"]["url"] == server.url
    assert config["ui"]["office_notice"] == "Buka 08.00-15.00"  # kept through provisioning
    # A later boot with the file still there: no new request, the queues already made.
    third = _enrol(etc, rig.cups_socket)
    assert third.returncode == 0 and "request sent" not in third.stdout, third.stdout
    assert not re.search(r"…  printer queue", third.stdout)
    subprocess.run(["lpadmin", "-x", "adm-enrol-a4"], env=cups, capture_output=True)


def test_a_request_id_is_never_taken_for_an_option() -> None:
    from protocol.api import ENROLMENT_ID
    from server.app import request_id

    ids = [request_id() for _ in range(2000)]
    assert all(re.match(ENROLMENT_ID, i) and not i.startswith("-") for i in ids)
    assert len(set(ids)) == len(ids)
