"""A kiosk's identity as kiosk and server both see it: the id its certificate names, and
the fingerprint of its key that the technician reads out and the office compares."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from cryptography.hazmat.primitives import serialization

# A kiosk id: the common name of its certificate and its row at the server.
KIOSK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def key_fingerprint(public: Any) -> str:
    """SHA-256 of a public key's SubjectPublicKeyInfo, hex: the same key gives the same
    value however its file was encoded."""
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def spoken(fingerprint: str) -> str:
    """A fingerprint in groups of four, as read out over a telephone."""
    return " ".join(fingerprint[i : i + 4] for i in range(0, len(fingerprint), 4))
