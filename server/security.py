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

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocol import seal
from protocol.signing import key_id, qr_text, sign_payload


def keyed_hash(pepper: bytes, purpose: str, secret: str) -> bytes:
    """HMAC of ``secret``; ``purpose`` keeps a PIN and a print code with equal digits apart."""
    return hmac.new(pepper, f"{purpose}\x00{secret}".encode(), hashlib.sha256).digest()


def new_token() -> str:
    return secrets.token_urlsafe(24)


def new_print_code() -> str:
    """Eight digits: easy to type on a touch keypad, 10^8 guesses with a lockout after 5."""
    return f"{secrets.randbelow(10**8):08d}"


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
        return sign_payload(self.private, payload)

    def qr_text(self, fields: dict[str, Any]) -> str:
        return qr_text(self.private, fields)

    def seal(self, kind: str, issued: dt.date, number: str) -> str:
        """The token of a document's printed seal (protocol.seal)."""
        return seal.seal(self.private, kind, issued, number)
