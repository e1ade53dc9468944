"""Provisioning a kiosk: its key made here, a certificate request sent, the signed
certificate collected, installed and checked, and what is still missing said plainly.

``adm-kiosk provision --server URL --ca FILE --id ID`` makes the kiosk's P-256 key under
``/etc/adm/keys`` (0600, owned by the kiosk user; it never leaves the kiosk), sends a
certificate request to the central server (``POST /api/v1/enrolments``, over TLS checked
against the deployment CA) and prints the key's fingerprint for the technician to read
to the office.  The office compares it and signs where the CA key is kept (``adm-server
pki sign-kiosk REQUEST --fingerprint F``).  Run again (or with ``--wait``), the command
collects the certificate, checks it (this key, this kiosk, signed by the CA), installs
it with the CA and the document-signing key, writes ``/etc/adm/kiosk.toml`` (the
existing one, or the template, with the kiosk id and the server section set), then
checks the configuration, the server (an authenticated call with the new certificate),
the printers and the readers, and lists what is missing.
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
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

from protocol.identity import KIOSK_ID


class EnrolmentError(Exception):
    """The request or the certificate cannot be used (say why)."""


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def request_pem(key: ec.EllipticCurvePrivateKey, kiosk_id: str) -> str:
    """A certificate request for ``kiosk_id``, signed with the kiosk's own key."""
    if not KIOSK_ID.match(kiosk_id):
        raise EnrolmentError(f"kiosk id {kiosk_id!r}: letters, digits, '.', '_' or '-', max 64")
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, kiosk_id)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def write_private(path: Path, text: str, owner: str | None) -> None:
    """A private file: 0600 from its creation, owned by ``owner``, replaced atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    uid, gid = _ids(owner)
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o600)
    if uid != -1:
        os.chown(tmp, uid, gid)
    tmp.replace(path)


def _ids(owner: str | None) -> tuple[int, int]:
    if not owner:
        return -1, -1
    try:
        entry = pwd.getpwnam(owner)
    except KeyError:
        raise EnrolmentError(
            f"user {owner!r} does not exist (the package creates adm-kiosk)"
        ) from None
    return entry.pw_uid, entry.pw_gid


def load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), None)
    except (OSError, ValueError) as exc:
        raise EnrolmentError(f"{path}: the kiosk's key cannot be read ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise EnrolmentError(f"{path}: not an EC key")
    return key


@dataclass(frozen=True)
class Signed:
    """What the server hands back for a signed request: no private key in it."""

    kiosk_id: str
    cert: str
    ca: str
    issuer_key: str


def check_signed(answer: Signed, key: ec.EllipticCurvePrivateKey, ca_pem: str) -> None:
    """The certificate is for this kiosk's own key, names this kiosk, and was signed by
    the deployment CA the kiosk already trusts (``ca_pem``, brought with the image, not
    the one in the answer)."""
    try:
        cert = x509.load_pem_x509_certificate(answer.cert.encode())
        ca = x509.load_pem_x509_certificate(ca_pem.encode())
        issuer = serialization.load_pem_public_key(answer.issuer_key.encode())
    except ValueError as exc:
        raise EnrolmentError(f"a certificate or key in the answer does not parse ({exc})") from None
    if not isinstance(issuer, ed25519.Ed25519PublicKey):
        raise EnrolmentError("the document-signing key is not an Ed25519 key")
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, pub) != cert.public_key().public_bytes(der, pub):
        raise EnrolmentError("the certificate is not for this kiosk's key")
    _signed_by(cert, ca)
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names or names[0].value != answer.kiosk_id:
        raise EnrolmentError(f"the certificate is not for kiosk {answer.kiosk_id!r}")


def _signed_by(cert: x509.Certificate, ca: x509.Certificate) -> None:
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
            raise EnrolmentError("the CA's key type is not supported")
    except Exception as exc:
        if isinstance(exc, EnrolmentError):
            raise
        raise EnrolmentError("the certificate was not signed by the deployment CA") from None


@dataclass(frozen=True)
class Installed:
    cert: Path
    key: Path
    ca: Path
    issuer_key: Path


def install(answer: Signed, keys: Path, owner: str | None) -> Installed:
    """The certificate (0640, owned by ``owner``, the kiosk user), the public CA and
    signing key (0644) beside the kiosk's key, which is already there."""
    keys.mkdir(parents=True, exist_ok=True)
    uid, gid = _ids(owner)
    out = Installed(keys / "kiosk.pem", keys / "kiosk.key", keys / "ca.pem", keys / "issuer.pem")
    for path, text, mode in (
        (out.cert, answer.cert, 0o640),
        (out.ca, answer.ca, 0o644),
        (out.issuer_key, answer.issuer_key, 0o644),
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


def read_state(path: Path) -> dict[str, str] | None:
    """The request this kiosk sent and waits on (None: none yet)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise EnrolmentError(
            f"{path}: unreadable ({exc}); remove it to send a new request"
        ) from None
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), str) for k in ("request", "kiosk_id", "fingerprint")
    ):
        raise EnrolmentError(f"{path}: not a request record; remove it to send a new request")
    return {k: str(v) for k, v in data.items()}


def _set(text: str, section: str, key: str, value: str | int | bool) -> str:
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
    set_values(
        config,
        template,
        {
            "kiosk.id": kiosk_id,
            "server.backend": "http",
            "server.url": url,
            "server.ca": str(files.ca),
            "server.cert": str(files.cert),
            "server.key": str(files.key),
            "server.issuer_key": str(files.issuer_key),
        },
        owner,
    )


def set_values(
    config: Path, template: str, values: dict[str, str | int | bool], owner: str | None
) -> None:
    """``"section.key" = value`` set in the configuration (the file, or the template when
    there is none yet; every other line kept), root-owned and readable by ``owner``'s
    group, replaced atomically."""
    text = config.read_text(encoding="utf-8") if config.is_file() else template
    for dotted, value in values.items():
        section, key = dotted.split(".", 1)
        text = _set(text, section, key, value)
    config.parent.mkdir(parents=True, exist_ok=True)
    tmp = config.with_name(config.name + ".new")
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, 0o640)
    if owner:
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(owner)
            os.chown(tmp, 0, entry.pw_gid)  # root-owned, readable by the kiosk's group
    tmp.replace(config)
