"""Secrets for citizens (print codes, QR login tokens) sealed for the message sender.

The server must hand a new print code to whatever sends the SMS, but a stolen database
must not yield every unprinted code.  So the outbox keeps a code only sealed to the
sender's X25519 public key (``HOME/sender.pub``): the server can seal and never open;
only the holder of ``sender.key`` (the sender, which may run elsewhere) can.  Once the
message is handed over, the sealed secret is deleted.

Format: ephemeral public key (32) || nonce (12) || ChaCha20-Poly1305 ciphertext, the key
derived with HKDF-SHA256 from the X25519 shared secret.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO = b"adm-outbox-v1"


class SealError(ValueError):
    """A sealed secret that does not open (another key, damaged)."""


def _key(shared: bytes, ephemeral: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=ephemeral, info=INFO).derive(shared)


def _raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def seal(recipient: X25519PublicKey, secret: str) -> bytes:
    ephemeral = X25519PrivateKey.generate()
    eph = _raw(ephemeral.public_key())
    nonce = os.urandom(12)
    key = _key(ephemeral.exchange(recipient), eph)
    return eph + nonce + ChaCha20Poly1305(key).encrypt(nonce, secret.encode(), _raw(recipient))


def unseal(private: X25519PrivateKey, blob: bytes) -> str:
    if len(blob) < 32 + 12 + 16:
        raise SealError("sealed secret too short")
    eph, nonce, body = blob[:32], blob[32:44], blob[44:]
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(eph))
        key = _key(shared, eph)
        plain = ChaCha20Poly1305(key).decrypt(nonce, body, _raw(private.public_key()))
    except (InvalidTag, ValueError):
        raise SealError("sealed secret does not open with this key") from None
    return plain.decode()
