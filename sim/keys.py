"""TEST KEYS ONLY: the simulator's SAM master key and e-KTP issuer key.

Real e-KTP keys are licensed secrets held in Dukcapil's SAMs; these exist so that the
virtual chips, the virtual SAM and the tests can run the real protocol.  The kiosk
itself only ever sees the issuer's *public* key (``config/keys/ektp-issuer-test.pem``).
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

SAM_MASTER_KEY = bytes.fromhex("41444d2d53494d2d544553542d4b4559")  # "ADM-SIM-TEST-KEY"
WRONG_MASTER_KEY = bytes.fromhex("0badc0de0badc0de0badc0de0badc0de")

_ISSUER_SCALAR = int("5eed" * 16, 16)  # a fixed test scalar, so the pinned key is stable


def issuer_private_key() -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(_ISSUER_SCALAR, ec.SECP256R1())


def issuer_public_pem() -> bytes:
    return (
        issuer_private_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
