"""Canonical JSON and the two signed formats: document payloads and printed QR codes.

A payload is signed over its canonical bytes (sorted keys, no spaces, UTF-8) with the
issuer's Ed25519 key; kiosks and offline verifiers pin the public key.  A printed QR
carries ``ADM1.<base64url fields>.<base64url signature>``: small enough for a QR on a
CR80 card and checkable without the network.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

QR_PREFIX = "ADM1"


class SignatureError(ValueError):
    """A payload or QR text is malformed or its signature does not verify."""


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
    """A short, stable name of a public key (first 16 hex digits of its SHA-256)."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise SignatureError(f"issuer key is not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SignatureError("issuer key is not an Ed25519 public key")
    return key


def sign_payload(private: Ed25519PrivateKey, payload: Any) -> str:
    return b64u(private.sign(canonical(payload)))


def verify_payload(public: Ed25519PublicKey, payload: Any, signature: str) -> None:
    try:
        public.verify(unb64u(signature), canonical(payload))
    except InvalidSignature:
        raise SignatureError("document signature does not verify") from None


def qr_text(private: Ed25519PrivateKey, fields: dict[str, Any]) -> str:
    """``ADM1.<fields>.<signature>``."""
    body = b64u(canonical(fields))
    sig = b64u(private.sign(body.encode()))
    return f"{QR_PREFIX}.{body}.{sig}"


def verify_qr(public: Ed25519PublicKey, text: str) -> dict[str, Any]:
    """The signed fields of a printed QR, or SignatureError (malformed, forged, other key)."""
    parts = text.strip().split(".")
    if len(parts) != 3 or parts[0] != QR_PREFIX:
        raise SignatureError(f"not an {QR_PREFIX} verification code")
    try:
        public.verify(unb64u(parts[2]), parts[1].encode())
    except InvalidSignature:
        raise SignatureError("QR signature does not verify: forged or altered") from None
    except ValueError:  # not base64url, or text that is not even Unicode (a scanner's noise)
        raise SignatureError("QR text is not a signed code") from None
    try:
        fields = json.loads(unb64u(parts[1]))
    except (ValueError, RecursionError):
        raise SignatureError("QR body is not JSON") from None
    if not isinstance(fields, dict):
        raise SignatureError("QR body has the wrong shape")
    return fields
