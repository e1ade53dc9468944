"""First boot of an image: the enrolment file the office hands out, applied.

A kiosk image is the same for every kiosk; what makes one kiosk *this* kiosk comes on an
enrolment file: ``/etc/adm/enrolment.toml``, or ``enrolment.toml`` on a small disk
(a USB stick, a second virtual disk) labelled ``ADM-ENROL``.  ``adm-kiosk enrol``
(run at every boot by ``adm-kiosk-enrol.service``, before the kiosk) reads it and:

- installs the e-KTP issuer's public key and records the printer queues;
- makes CUPS's queues for the printers if they are missing (CUPS's own state lives in
  the root slot, which an update replaces; the queue list lives with the configuration);
- sets the configuration keys the file names (readers, serial ports, the technician
  PIN's hash) in ``/etc/adm/kiosk.toml``;
- on a kiosk without a certificate yet, runs the provisioning (``adm-kiosk
  provision``: the key made here, the request sent, the office's signature waited for).

The file carries no secret: the deployment CA and the issuer key are public, the PIN is
a hash, and the kiosk's private key is made on the kiosk.  A private key in it is
refused.

    [enrolment]
    server = "https://adm.example.go.id:8443"
    id = "kiosk-sleman-01"
    ca = "ca.pem"                      # beside this file
    ektp_issuer = "ektp-issuer.pem"    # beside this file
    wait = 86400                       # seconds to wait for the office's signature

    [printers]                         # CUPS queue = device URI
    adm-a4 = "ipp://192.0.2.10/ipp/print"

    [config]                           # kiosk.toml keys, "section.key" = value
    "card.reader" = "ACS ACR1252 PICC"
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ENROL_FILE = "enrolment.toml"
ENROL_LABEL = "ADM-ENROL"
PRINTERS_FILE = "printers.toml"
QUEUE_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


class EnrolError(Exception):
    """The enrolment file cannot be used (say why, naming the key)."""


@dataclass(frozen=True)
class Enrolment:
    server: str
    kiosk_id: str
    ca_pem: str
    ektp_issuer_pem: str
    wait: float
    printers: dict[str, str] = field(default_factory=dict)
    config: dict[str, str | int | bool] = field(default_factory=dict)


def _public_pem(path: Path, what: str) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EnrolError(f"{what}: {path}: {exc}") from None
    if "PRIVATE KEY" in text:
        raise EnrolError(f"{what}: {path} holds a private key; an enrolment carries none")
    if "-----BEGIN " not in text:
        raise EnrolError(f"{what}: {path} is not PEM")
    return text


def parse(path: Path) -> Enrolment:
    """The enrolment file at ``path`` (its PEM files beside it), checked."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise EnrolError(f"{path}: {exc}") from None
    unknown = set(data) - {"enrolment", "printers", "config"}
    if unknown:
        raise EnrolError(f"{path}: unknown section(s) {', '.join(sorted(unknown))}")
    head = data.get("enrolment")
    if not isinstance(head, dict):
        raise EnrolError(f"{path}: [enrolment] is missing")
    for key in ("server", "id", "ca", "ektp_issuer"):
        if not isinstance(head.get(key), str) or not head[key]:
            raise EnrolError(f"{path}: enrolment.{key} is missing")
    if not head["server"].startswith("https://"):
        raise EnrolError(f"{path}: enrolment.server must be an https:// URL")
    wait = head.get("wait", 86400)
    if not isinstance(wait, int | float) or isinstance(wait, bool) or wait < 0:
        raise EnrolError(f"{path}: enrolment.wait must be a number of seconds")
    printers = data.get("printers", {})
    if not isinstance(printers, dict) or not all(
        isinstance(v, str) and set(k) <= QUEUE_CHARS and k for k, v in printers.items()
    ):
        raise EnrolError(f"{path}: [printers] maps queue names (letters, digits, -, _) to URIs")
    for queue, uri in printers.items():
        if not uri.startswith(("ipp://", "ipps://", "usb://", "socket://")):
            raise EnrolError(f"{path}: printers.{queue}: not a printer URI ({uri!r})")
    config = data.get("config", {})
    if not isinstance(config, dict):
        raise EnrolError(f"{path}: [config] maps 'section.key' to values")
    for key, value in config.items():
        if key.count(".") != 1 or not isinstance(value, str | int | bool):
            raise EnrolError(f'{path}: config.{key}: expected "section.key" = a value')
        if key.startswith(("server.", "kiosk.id")):
            raise EnrolError(f"{path}: config.{key}: set by provisioning, not by hand")
    base = path.parent
    return Enrolment(
        server=head["server"],
        kiosk_id=head["id"],
        ca_pem=_public_pem(base / head["ca"], "enrolment.ca"),
        ektp_issuer_pem=_public_pem(base / head["ektp_issuer"], "enrolment.ektp_issuer"),
        wait=float(wait),
        printers=dict(printers),
        config=dict(config),
    )


@contextlib.contextmanager
def source(etc: Path, devices: Path = Path("/dev/disk/by-label")) -> Iterator[Path | None]:
    """The enrolment file: ``etc/enrolment.toml``, or the labelled disk mounted read-only
    for the time of the block; None when there is neither."""
    local = etc / ENROL_FILE
    if local.is_file():
        yield local
        return
    disk = devices / ENROL_LABEL
    if not disk.exists():
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="adm-enrol-") as mnt:
        subprocess.run(
            ["mount", "-o", "ro,nosuid,nodev,noexec", str(disk), mnt],
            check=True,
            capture_output=True,
        )
        try:
            found = Path(mnt) / ENROL_FILE
            yield found if found.is_file() else None
        finally:
            subprocess.run(["umount", mnt], capture_output=True)


def save_printers(etc: Path, printers: dict[str, str]) -> None:
    """The queue list kept with the configuration (it outlives a root slot)."""
    lines = ["# CUPS queues of this kiosk (from its enrolment); made at boot if missing"]
    lines += [f'"{q}" = "{uri}"' for q, uri in sorted(printers.items())]
    path = etc / PRINTERS_FILE
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o644)


def load_printers(etc: Path) -> dict[str, str]:
    path = etc / PRINTERS_FILE
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise EnrolError(f"{path}: {exc}") from None
    return {str(k): str(v) for k, v in data.items()}


def existing_queues() -> dict[str, str]:
    """CUPS's queues and their device URIs (``lpstat -v``)."""
    proc = subprocess.run(["lpstat", "-v"], capture_output=True, text=True)
    queues: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        # "device for adm-a4: ipp://10.0.2.2:8631/ipp/print"
        if line.startswith("device for ") and ": " in line:
            name, uri = line[len("device for ") :].split(": ", 1)
            queues[name] = uri.strip()
    return queues


def ensure_queues(printers: dict[str, str], deadline: float) -> list[str]:
    """Each queue present with its URI, made with the printer's own description (IPP
    Everywhere) when missing; a printer not answering yet is asked again until
    ``deadline``.  Returns the queues that could not be made."""
    have = existing_queues()
    missing = [q for q, uri in printers.items() if have.get(q) != uri]
    while missing:
        still: list[str] = []
        for queue in missing:
            proc = subprocess.run(
                ["lpadmin", "-p", queue, "-E", "-v", printers[queue], "-m", "everywhere"],
                capture_output=True,
                text=True,
            )
            if proc.returncode == 0:
                print(f"✓  printer queue {queue}: {printers[queue]}")
            else:
                still.append(queue)
                reason = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["?"]
                print(f"…  printer queue {queue}: {reason[0]}")
        missing = still
        if not missing or time.monotonic() >= deadline:
            break
        time.sleep(5)
    return missing
