"""The deployment's small PKI: a CA, the server's TLS certificate, one client certificate
per kiosk, the issuer's Ed25519 signing key and the pepper for keyed hashes.

Everything lives in the server's *home* folder (``$ADM_SERVER_HOME``)::

    ca.pem ca.key          the deployment CA (signs the server and every kiosk)
    server.pem server.key  TLS certificate of the kiosk API
    issuer.key issuer.pub  Ed25519 key that signs documents and QR codes
    pepper                 32 random bytes (hex) for HMAC of codes, PINs and tokens
    kiosks/ID.pem ID.key   issued kiosk credentials, to be moved onto the kiosk

Private keys are written with mode 0600.  A kiosk is identified by the certificate's
common name, and only the serial recorded at issue is accepted, so re-issuing a kiosk's
certificate retires the old one; ``revoke`` refuses the kiosk altogether.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from server.security import Issuer, keyed_hash

if TYPE_CHECKING:
    from server.alerts import AlertRules

KIOSK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class PkiError(Exception):
    """The key folder is missing something or a request cannot be honoured."""


def _write(path: Path, data: bytes, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey | Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(cn: str, unit: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Dukcapil ADM"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


@dataclass(frozen=True)
class IssuedCert:
    cert: Path
    key: Path
    serial: str


class ServerHome:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    ca_cert = property(lambda self: self.path / "ca.pem")
    ca_key = property(lambda self: self.path / "ca.key")
    server_cert = property(lambda self: self.path / "server.pem")
    server_key = property(lambda self: self.path / "server.key")
    issuer_key = property(lambda self: self.path / "issuer.key")
    issuer_pub = property(lambda self: self.path / "issuer.pub")
    pepper_file = property(lambda self: self.path / "pepper")
    official_file = property(lambda self: self.path / "official.json")
    sender_key = property(lambda self: self.path / "sender.key")  # the SMS sender's only
    sender_pub = property(lambda self: self.path / "sender.pub")

    @property
    def initialised(self) -> bool:
        """Everything the server needs to serve.  Not the CA's private key: issuing kiosk
        certificates is an offline step, and ``ca.key`` can live on another host."""
        return all(
            p.is_file()
            for p in (
                self.ca_cert,
                self.server_cert,
                self.server_key,
                self.issuer_key,
                self.pepper_file,
            )
        )

    def init(self, hostnames: tuple[str, ...] = ("localhost", "127.0.0.1")) -> bool:
        """Create what is missing; never replaces an existing key.  True if anything new."""
        created = False
        self.path.mkdir(parents=True, exist_ok=True)
        now = dt.datetime.now(dt.UTC)
        if not self.ca_key.is_file() and not self.ca_cert.is_file():
            # A CA certificate without its key is a CA kept offline: never replaced here.
            key = ec.generate_private_key(ec.SECP256R1())
            name = _name("ADM Deployment CA", "CA")
            cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5))
                .not_valid_after(now + dt.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(
                    x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                    critical=True,
                )
                .sign(key, hashes.SHA256())
            )
            _write(self.ca_key, _key_pem(key), private=True)
            _write(self.ca_cert, cert.public_bytes(serialization.Encoding.PEM))
            created = True
        if not self.server_key.is_file():
            self._issue("adm-server", "server", self.server_cert, self.server_key, hostnames)
            created = True
        if not self.sender_pub.is_file():
            # The outbox seals citizens' secrets to this key; its private half belongs to
            # the message sender and may be moved off this host.
            sender = X25519PrivateKey.generate()
            _write(self.sender_key, _key_pem(sender), private=True)
            _write(
                self.sender_pub,
                sender.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                ),
            )
            created = True
        if not self.issuer_key.is_file():
            issuer = Ed25519PrivateKey.generate()
            _write(self.issuer_key, _key_pem(issuer), private=True)
            pub = issuer.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            _write(self.issuer_pub, pub)
            created = True
        if not self.pepper_file.is_file():
            _write(self.pepper_file, secrets.token_hex(32).encode(), private=True)
            created = True
        return created

    def _ca(self) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        if self.ca_cert.is_file() and not self.ca_key.is_file():
            raise PkiError(
                f"the CA's private key is not on this host ({self.ca_key}): issue "
                "certificates where the CA is kept"
            )
        if not (self.ca_cert.is_file() and self.ca_key.is_file()):
            raise PkiError(f"no CA in {self.path}: run 'adm-server pki init' first")
        cert = x509.load_pem_x509_certificate(self.ca_cert.read_bytes())
        key = serialization.load_pem_private_key(self.ca_key.read_bytes(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise PkiError(f"{self.ca_key} is not an EC key")
        return cert, key

    def _issue(
        self, cn: str, role: str, cert_path: Path, key_path: Path, hostnames: tuple[str, ...] = ()
    ) -> IssuedCert:
        ca_cert, ca_key = self._ca()
        now = dt.datetime.now(dt.UTC)
        key = ec.generate_private_key(ec.SECP256R1())
        serial = x509.random_serial_number()
        usage = (
            ExtendedKeyUsageOID.SERVER_AUTH if role == "server" else ExtendedKeyUsageOID.CLIENT_AUTH
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(cn, "kiosks" if role == "kiosk" else "servers"))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=825))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if hostnames:
            names: list[x509.GeneralName] = []
            for h in hostnames:
                try:
                    names.append(x509.IPAddress(ipaddress.ip_address(h)))
                except ValueError:
                    names.append(x509.DNSName(h))
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        _write(key_path, _key_pem(key), private=True)
        _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
        return IssuedCert(cert_path, key_path, format(serial, "x"))

    def issue_kiosk(self, kiosk_id: str, out: Path | None = None) -> IssuedCert:
        """A new client certificate for ``kiosk_id`` (record its serial in the database)."""
        if not KIOSK_ID.match(kiosk_id):
            raise PkiError(f"kiosk id {kiosk_id!r}: letters, digits, '.', '_' or '-', max 64")
        folder = out or self.path / "kiosks"
        return self._issue(
            kiosk_id, "kiosk", folder / f"{kiosk_id}.pem", folder / f"{kiosk_id}.key"
        )

    def issuer(self) -> Issuer:
        key = serialization.load_pem_private_key(self.issuer_key.read_bytes(), None)
        if not isinstance(key, Ed25519PrivateKey):
            raise PkiError(f"{self.issuer_key} is not an Ed25519 key")
        return Issuer(key)

    def pepper(self) -> bytes:
        return bytes.fromhex(self.pepper_file.read_text().strip())

    def sender_public(self) -> X25519PublicKey:
        """The key the outbox seals secrets to (created by ``pki init``)."""
        try:
            key = serialization.load_pem_public_key(self.sender_pub.read_bytes())
        except (OSError, ValueError) as exc:
            raise PkiError(f"{self.sender_pub}: {exc}; run 'adm-server pki init'") from None
        if not isinstance(key, X25519PublicKey):
            raise PkiError(f"{self.sender_pub} is not an X25519 public key")
        return key

    def sender_private(self) -> X25519PrivateKey:
        """The sender's key, to open sealed secrets: only where messages are sent from."""
        try:
            key = serialization.load_pem_private_key(self.sender_key.read_bytes(), None)
        except (OSError, ValueError) as exc:
            raise PkiError(
                f"the message sender's key is not here ({self.sender_key}): {exc}"
            ) from None
        if not isinstance(key, X25519PrivateKey):
            raise PkiError(f"{self.sender_key} is not an X25519 private key")
        return key

    def official(self) -> dict[str, str]:
        """The official whose name, NIP and title go on approved documents: set once per
        deployment with ``adm-server pki official``; approving without one is refused."""
        try:
            data = json.loads(self.official_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise PkiError(
                "no signing official set: run 'adm-server pki official --name ... "
                "--nip ... --title ...' first"
            ) from None
        except (OSError, ValueError) as exc:
            raise PkiError(f"{self.official_file}: unreadable: {exc}") from None
        if not isinstance(data, dict) or not all(
            isinstance(data.get(k), str) and data[k] for k in ("name", "nip", "title")
        ):
            raise PkiError(f"{self.official_file}: needs name, nip and title")
        return {k: data[k] for k in ("name", "nip", "title")}

    # --- the office console's settings -------------------------------------------
    config_file = property(lambda self: self.path / "server.toml")
    metrics_token_file = property(lambda self: self.path / "metrics-token.hash")

    def alert_rules(self) -> AlertRules:
        """``[alerts]`` of ``server.toml`` (defaults without the file)."""
        from server.alerts import AlertRules

        try:
            return AlertRules.load(self.config_file)
        except ValueError as exc:
            raise PkiError(str(exc)) from None

    def metrics_token_hash(self) -> bytes | None:
        """The keyed hash of the token ``/metrics`` wants (None: no token made yet)."""
        try:
            return bytes.fromhex(self.metrics_token_file.read_text().strip())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise PkiError(f"{self.metrics_token_file}: unreadable: {exc}") from None

    def new_metrics_token(self) -> str:
        """A new token for Prometheus (shown once; only its keyed hash is kept)."""
        token = secrets.token_urlsafe(32)
        _write(self.metrics_token_file, keyed_hash(self.pepper(), "metrics", token).hex().encode())
        return token

    def set_official(self, *, name: str, nip: str, title: str) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"name": name, "nip": nip, "title": title}, ensure_ascii=False)
        _write(self.official_file, text.encode())


def enrolment_bundle(kiosk_id: str, issued: IssuedCert, home: ServerHome) -> dict[str, str]:
    """What a kiosk needs to talk to this server, in one file for ``adm-kiosk provision``:
    its certificate and key, the deployment CA and the document-signing key."""
    return {
        "format": "adm-enrolment-1",
        "kiosk_id": kiosk_id,
        "serial": issued.serial,
        "cert": issued.cert.read_text(),
        "key": issued.key.read_text(),
        "ca": home.ca_cert.read_text(),
        "issuer_key": home.issuer_pub.read_text(),
    }


def cert_identity(der: bytes) -> tuple[str, str]:
    """(common name, serial hex) of a client certificate the TLS layer already verified."""
    cert = x509.load_der_x509_certificate(der)
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = str(cns[0].value) if cns else ""
    return cn, format(cert.serial_number, "x")
