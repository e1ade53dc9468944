"""Citizens' secrets in the server's outbox: sealed to the sender, opened only there."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from server.sealing import SealError, seal, unseal

SENDER = X25519PrivateKey.generate()


@given(st.text(st.characters(blacklist_categories=("Cs",)), min_size=8, max_size=64))
def test_a_sealed_secret_opens_with_the_senders_key_only(secret: str) -> None:
    blob = seal(SENDER.public_key(), secret)
    assert secret.encode() not in blob
    assert unseal(SENDER, blob) == secret
    with pytest.raises(SealError):
        unseal(X25519PrivateKey.generate(), blob)


def test_a_damaged_seal_is_refused() -> None:
    blob = bytearray(seal(SENDER.public_key(), "12345678"))
    blob[-1] ^= 1
    with pytest.raises(SealError):
        unseal(SENDER, bytes(blob))
    with pytest.raises(SealError):
        unseal(SENDER, b"short")


def test_each_seal_is_different() -> None:
    """A fresh key per message: two equal codes do not give equal rows to compare."""
    assert seal(SENDER.public_key(), "12345678") != seal(SENDER.public_key(), "12345678")
