"""The deployment's small PKI: a CA, the server's TLS certificate, one client certificate
per kiosk, the issuer's Ed25519 signing key and the pepper for keyed hashes.

Everything lives in the server's *home* folder (``$ADM_SERVER_HOME``)::

    ca.pem ca.key          the deployment CA (signs the server and every kiosk)
    server.pem server.key  TLS certificate of the kiosk API
    issuer.key issuer.pub  Ed25519 key that signs documents and QR codes
    pepper                 32 random bytes (hex) for HMAC of codes, PINs and tokens

Private keys are written with mode 0600.  A kiosk's key is born on the kiosk and never
leaves it: the kiosk sends a certificate request (``adm-kiosk provision``), the office
signs it with :meth:`ServerHome.sign_kiosk_request` where the CA key is kept (``adm-server
pki sign-kiosk``, never the serving process), and the kiosk collects the certificate.  A
kiosk is identified by the certificate's common name, and only the serial recorded at
signing is accepted, so a new certificate retires the old one; ``revoke`` refuses the
kiosk altogether.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
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

from protocol.identity import KIOSK_ID, key_fingerprint
from server.security import Issuer, keyed_hash

if TYPE_CHECKING:
    from server.alerts import AlertRules
    from server.dbops import BackupConfig
    from server.verification import VerificationConfig


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

    def hand_to(self, owner: str) -> None:
        """Give the serving user what serving needs (its TLS key, the issuer key, the
        pepper, the public files) and nothing more: the CA key and the message sender's
        key stay their holder's, 0600, so the network-facing process cannot open them."""
        import grp
        import pwd

        try:
            entry = pwd.getpwnam(owner)
        except KeyError:
            raise PkiError(f"user {owner!r} does not exist") from None
        gid = grp.getgrgid(entry.pw_gid).gr_gid
        os.chown(self.path, os.getuid(), gid)
        self.path.chmod(0o750)
        serving = (
            self.server_key, self.server_cert, self.issuer_key, self.issuer_pub,
            self.pepper_file, self.ca_cert, self.sender_pub,
        )  # fmt: skip
        for path in serving:
            if path.is_file():
                os.chown(path, entry.pw_uid, gid)
        for private in (self.ca_key, self.sender_key):
            if private.is_file():
                os.chown(private, os.getuid(), os.getgid())
                private.chmod(0o600)

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
        """The server's own TLS key and certificate (made where the server runs)."""
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self._certify(cn, role, key.public_key(), hostnames)
        _write(key_path, _key_pem(key), private=True)
        _write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
        return IssuedCert(cert_path, key_path, format(cert.serial_number, "x"))

    def _certify(
        self,
        cn: str,
        role: str,
        public: ec.EllipticCurvePublicKey,
        hostnames: tuple[str, ...] = (),
    ) -> x509.Certificate:
        """A certificate for ``public``, signed with the CA key (which must be here)."""
        ca_cert, ca_key = self._ca()
        now = dt.datetime.now(dt.UTC)
        serial = x509.random_serial_number()
        usage = (
            ExtendedKeyUsageOID.SERVER_AUTH if role == "server" else ExtendedKeyUsageOID.CLIENT_AUTH
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(cn, "kiosks" if role == "kiosk" else "servers"))
            .issuer_name(ca_cert.subject)
            .public_key(public)
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
        return builder.sign(ca_key, hashes.SHA256())

    def sign_kiosk_request(self, csr_pem: str) -> tuple[str, str]:
        """(certificate PEM, serial hex) for a kiosk's certificate request, signed with the
        CA key: only where that key is kept.  The key in the request is the kiosk's own;
        nothing private passes through here."""
        request = read_request(csr_pem)
        cert = self._certify(request.kiosk_id, "kiosk", request.public_key)
        return (
            cert.public_bytes(serialization.Encoding.PEM).decode(),
            format(cert.serial_number, "x"),
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
    # Published update bundles (server.rollout.publish), served to kiosks over mTLS.
    releases_dir = property(lambda self: self.path / "releases")
    metrics_token_file = property(lambda self: self.path / "metrics-token.hash")

    def alert_rules(self) -> AlertRules:
        """``[alerts]`` of ``server.toml`` (defaults without the file)."""
        from server.alerts import AlertRules

        try:
            return AlertRules.load(self.config_file)
        except ValueError as exc:
            raise PkiError(str(exc)) from None

    def verification(self) -> VerificationConfig:
        """``[verification]`` of ``server.toml``: the public check's host, office, budget
        and other offices' keys (defaults without the file)."""
        from server.verification import VerificationConfig, VerificationConfigError

        try:
            return VerificationConfig.load(self.config_file, self.path)
        except VerificationConfigError as exc:
            raise PkiError(str(exc)) from None

    def backup(self) -> BackupConfig:
        """``[backup]`` of ``server.toml`` (none configured without it)."""
        from server.dbops import BackupConfig, DbOpsError

        try:
            return BackupConfig.load(self.config_file)
        except DbOpsError as exc:
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


MAX_CSR = 4096  # characters of PEM; a P-256 request is under 600


@dataclass(frozen=True)
class KioskCsr:
    kiosk_id: str
    public_key: ec.EllipticCurvePublicKey
    fingerprint: str  # SHA-256 of the SubjectPublicKeyInfo, hex


def read_request(csr_pem: str) -> KioskCsr:
    """A kiosk's certificate request, checked: PEM, self-signed by the key it carries (the
    sender holds that key), a P-256 key, one common name that is a kiosk id.  Raises
    :class:`PkiError` saying which."""
    if len(csr_pem) > MAX_CSR:
        raise PkiError(f"certificate request over {MAX_CSR} characters")
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
    except (ValueError, UnicodeEncodeError):
        raise PkiError("not a PEM certificate request") from None
    if not csr.is_signature_valid:
        raise PkiError("the request is not signed by the key it carries")
    public = csr.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
        raise PkiError("the request's key is not a P-256 (secp256r1) key")
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    kiosk_id = str(names[0].value) if len(names) == 1 else ""
    if not KIOSK_ID.match(kiosk_id):
        raise PkiError("the request's common name is not a kiosk id")
    return KioskCsr(kiosk_id, public, key_fingerprint(public))


def cert_identity(der: bytes) -> tuple[str, str]:
    """(common name, serial hex) of a client certificate the TLS layer already verified."""
    cert = x509.load_der_x509_certificate(der)
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = str(cns[0].value) if cns else ""
    return cn, format(cert.serial_number, "x")
