"""Secrets and signatures of the central server.

* Print codes, PINs, QR tokens and session tokens are stored as HMAC-SHA256 under the
  server's *pepper* (a key kept in the server's key folder, never in the database): a
  stolen database alone does not let anyone brute-force 6-digit codes offline, and a check
  costs microseconds, so the kiosk API stays fast.  Guessing online is what the lockouts in
  ``server.limits`` stop.
* Document payloads and the text in every printed QR are signed with the issuer's Ed25519
  key; kiosks and offline verifiers pin the public key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

QR_PREFIX = "ADM1"


class SignatureError(ValueError):
    """A payload or QR text is malformed or its signature does not verify."""


def keyed_hash(pepper: bytes, purpose: str, secret: str) -> bytes:
    """HMAC of ``secret``; ``purpose`` keeps a PIN and a print code with equal digits apart."""
    return hmac.new(pepper, f"{purpose}\x00{secret}".encode(), hashlib.sha256).digest()


def new_token() -> str:
    return secrets.token_urlsafe(24)


def new_print_code() -> str:
    """Eight digits: easy to type on a touch keypad, 10^8 guesses with a lockout after 5."""
    return f"{secrets.randbelow(10**8):08d}"


def canonical(payload: Any) -> bytes:
    """The exact bytes that are signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise SignatureError("not base64url") from exc


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class Issuer:
    """The issuer's signing key."""

    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def sign(self, payload: Any) -> str:
        return b64u(self.private.sign(canonical(payload)))

    def qr_text(self, fields: dict[str, Any]) -> str:
        """``ADM1.<fields>.<signature>``: small enough for a QR on a CR80 card."""
        body = b64u(canonical(fields))
        sig = b64u(self.private.sign(body.encode()))
        return f"{QR_PREFIX}.{body}.{sig}"


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise SignatureError("issuer key is not an Ed25519 public key")
    return key


def verify_payload(public: Ed25519PublicKey, payload: Any, signature: str) -> None:
    try:
        public.verify(unb64u(signature), canonical(payload))
    except InvalidSignature:
        raise SignatureError("document signature does not verify") from None


def verify_qr(public: Ed25519PublicKey, text: str) -> dict[str, Any]:
    """The signed fields of a printed QR, or SignatureError (malformed, forged, other key)."""
    parts = text.strip().split(".")
    if len(parts) != 3 or parts[0] != QR_PREFIX:
        raise SignatureError(f"not an {QR_PREFIX} verification code")
    try:
        public.verify(unb64u(parts[2]), parts[1].encode())
    except InvalidSignature:
        raise SignatureError("QR signature does not verify: forged or altered") from None
    try:
        fields = json.loads(unb64u(parts[1]))
    except ValueError:
        raise SignatureError("QR body is not JSON") from None
    if not isinstance(fields, dict):
        raise SignatureError("QR body has the wrong shape")
    return fields
