"""Provisioning a kiosk from its enrolment: keys installed, configuration written,
checked, and what is still missing said in plain words.

``adm-server pki issue-kiosk ID --enrolment FILE`` writes one file with the kiosk's
certificate and key, the deployment CA and the document-signing key.  On the kiosk,
``adm-kiosk provision --server URL --enrolment FILE`` checks it (the key belongs to the
certificate, the CA signed it, it names this kiosk), installs the four files under
``/etc/adm/keys`` (key 0600, certificate 0640, both owned by the kiosk user), writes
``/etc/adm/kiosk.toml`` (the existing one, or the template, with the kiosk id and the
server section set), then checks the configuration, the server (an authenticated call
with the new certificate), the printers and the readers, and lists what is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID


class EnrolmentError(Exception):
    """The enrolment file cannot be used (say why)."""


@dataclass(frozen=True)
class Enrolment:
    kiosk_id: str
    cert: str
    key: str
    ca: str
    issuer_key: str


def read_enrolment(path: Path) -> Enrolment:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise EnrolmentError(f"{path}: not an enrolment file ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != "adm-enrolment-1":
        raise EnrolmentError(f"{path}: not an enrolment file (format adm-enrolment-1)")
    fields = ("kiosk_id", "cert", "key", "ca", "issuer_key")
    if not all(isinstance(data.get(f), str) and data[f] for f in fields):
        raise EnrolmentError(f"{path}: incomplete (needs {', '.join(fields)})")
    e = Enrolment(*(str(data[f]) for f in fields))
    try:
        cert = x509.load_pem_x509_certificate(e.cert.encode())
        ca = x509.load_pem_x509_certificate(e.ca.encode())
        key = serialization.load_pem_private_key(e.key.encode(), None)
        issuer = serialization.load_pem_public_key(e.issuer_key.encode())
    except ValueError as exc:
        raise EnrolmentError(f"{path}: a key or certificate does not parse ({exc})") from None
    if not isinstance(issuer, ed25519.Ed25519PublicKey):
        raise EnrolmentError(f"{path}: the document-signing key is not an Ed25519 key")
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, pub) != cert.public_key().public_bytes(der, pub):
        raise EnrolmentError(f"{path}: the private key does not belong to the certificate")
    _signed_by(cert, ca, path)
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names or names[0].value != e.kiosk_id:
        raise EnrolmentError(f"{path}: the certificate is not for kiosk {e.kiosk_id!r}")
    return e


def _signed_by(cert: x509.Certificate, ca: x509.Certificate, path: Path) -> None:
    public = ca.public_key()
    try:
        if isinstance(public, ec.EllipticCurvePublicKey):
            assert cert.signature_hash_algorithm is not None
            public.verify(
                cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm)
            )
        elif isinstance(public, rsa.RSAPublicKey):
            assert cert.signature_hash_algorithm is not None
            public.verify(
                cert.signature,
                cert.tbs_certificate_bytes,
                padding.PKCS1v15(),
                cert.signature_hash_algorithm,
            )
        elif isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(cert.signature, cert.tbs_certificate_bytes)
        else:
            raise EnrolmentError(f"{path}: the CA's key type is not supported")
    except Exception as exc:
        if isinstance(exc, EnrolmentError):
            raise
        raise EnrolmentError(f"{path}: the certificate was not signed by the CA in it") from None


@dataclass(frozen=True)
class Installed:
    cert: Path
    key: Path
    ca: Path
    issuer_key: Path


def install(e: Enrolment, keys: Path, owner: str | None) -> Installed:
    """The four files under ``keys``: the private key 0600 and the certificate 0640,
    owned by ``owner`` (the kiosk user; None: left to the current user), the public CA
    and signing key 0644."""
    keys.mkdir(parents=True, exist_ok=True)
    uid = gid = -1
    if owner:
        try:
            entry = pwd.getpwnam(owner)
        except KeyError:
            raise EnrolmentError(
                f"user {owner!r} does not exist (the package creates adm-kiosk)"
            ) from None
        uid, gid = entry.pw_uid, entry.pw_gid
    out = Installed(keys / "kiosk.pem", keys / "kiosk.key", keys / "ca.pem", keys / "issuer.pem")
    for path, text, mode in (
        (out.key, e.key, 0o600),
        (out.cert, e.cert, 0o640),
        (out.ca, e.ca, 0o644),
        (out.issuer_key, e.issuer_key, 0o644),
    ):
        tmp = path.with_name(path.name + ".new")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, mode)
        if uid != -1 and mode != 0o644:
            os.chown(tmp, uid, gid)
        tmp.replace(path)
    return out


def _set(text: str, section: str, key: str, value: str) -> str:
    """``key = value`` in ``[section]`` of a TOML text (the line replaced or added)."""
    literal = json.dumps(value, ensure_ascii=False)  # a TOML basic string
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == f"[{section}]"), None)
    if start is None:
        return text.rstrip("\n") + f"\n\n[{section}]\n{key} = {literal}\n"
    end = next(
        (i for i in range(start + 1, len(lines)) if re.match(r"^\s*\[", lines[i])), len(lines)
    )
    for i in range(start + 1, end):
        if re.match(rf"^\s*{re.escape(key)}\s*=", lines[i]):
            lines[i] = f"{key} = {literal}"
            return "\n".join(lines) + "\n"
    lines.insert(start + 1, f"{key} = {literal}")
    return "\n".join(lines) + "\n"


def write_config(
    config: Path, template: str, kiosk_id: str, url: str, files: Installed, owner: str | None
) -> None:
    """The configuration with this kiosk's id and server section (the rest kept)."""
    text = config.read_text(encoding="utf-8") if config.is_file() else template
    text = _set(text, "kiosk", "id", kiosk_id)
    for key, value in (
        ("backend", "http"),
        ("url", url),
        ("ca", str(files.ca)),
        ("cert", str(files.cert)),
        ("key", str(files.key)),
        ("issuer_key", str(files.issuer_key)),
    ):
        text = _set(text, "server", key, value)
    config.parent.mkdir(parents=True, exist_ok=True)
    tmp = config.with_name(config.name + ".new")
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, 0o640)
    if owner:
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(owner)
            os.chown(tmp, 0, entry.pw_gid)  # root-owned, readable by the kiosk's group
    tmp.replace(config)
