"""The cryptography of e-KTP authentication, shared by the SAM and the card emulator.

AES-128 (CBC, zero IV, for 16-byte blocks of fresh random data) and AES-CMAC, all from the
``cryptography`` package; nothing is hand-rolled.  Every chip has its own key, diversified
from the SAM's master key and the chip serial, so one chip's key reveals no other.

    K_chip        = CMAC(K_master, "EKTP-KEY" || serial)
    external auth = AES(K_chip, RND.IC || RND.IFD) || CMAC(K_chip, "EXT" || that)[:8]
    internal auth = CMAC(K_chip, "INT" || RND.S || serial)
"""

from __future__ import annotations

import hmac

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

KEY_SIZE = 16
NONCE = 8


def cmac(key: bytes, data: bytes) -> bytes:
    c = CMAC(algorithms.AES(key))
    c.update(data)
    return c.finalize()


def diversify(master: bytes, serial: bytes) -> bytes:
    """The chip key for ``serial``; only the SAM (and the issuer) hold ``master``."""
    return cmac(master, b"EKTP-KEY" + serial)


def _aes(key: bytes, block: bytes, *, decrypt: bool) -> bytes:
    cipher = Cipher(algorithms.AES(key), modes.CBC(bytes(16)))
    op = cipher.decryptor() if decrypt else cipher.encryptor()
    return op.update(block) + op.finalize()


def external_cryptogram(chip_key: bytes, rnd_ic: bytes, rnd_ifd: bytes) -> bytes:
    """What the SAM sends the chip to prove it holds the chip's key (24 bytes)."""
    body = _aes(chip_key, rnd_ic + rnd_ifd, decrypt=False)
    return body + cmac(chip_key, b"EXT" + body)[:8]


def check_external(chip_key: bytes, cryptogram: bytes, rnd_ic: bytes) -> bool:
    """The chip's check: right MAC, and its own challenge inside."""
    if len(cryptogram) != 24:
        return False
    body, mac = cryptogram[:16], cryptogram[16:]
    if not hmac.compare_digest(cmac(chip_key, b"EXT" + body)[:8], mac):
        return False
    return hmac.compare_digest(_aes(chip_key, body, decrypt=True)[:NONCE], rnd_ic)


def internal_response(chip_key: bytes, rnd_s: bytes, serial: bytes) -> bytes:
    """The chip's answer to INTERNAL AUTHENTICATE (16 bytes)."""
    return cmac(chip_key, b"INT" + rnd_s + serial)
