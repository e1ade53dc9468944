"""The secure access module (SAM): the only holder of the keys that open an e-KTP chip.

The e-KTP protocol asks a :class:`SecureAccessModule` for cryptograms; it never sees a
key.  :class:`ApduSam` speaks the SAM's card protocol (class 00, INS F0..FA) over any
:class:`CardConnection`: the contact SAM slot of a PC/SC reader, or the in-process
virtual SAM.  A licensed vendor SAM with another command set is another implementation of
the same interface.

SAM commands:
    F0  BEGIN     data serial(8) || RND.IC(8)  -> external-auth cryptogram (24)
    F2  CHALLENGE                              -> RND.S (8)
    F4  VERIFY    data chip response (16)      -> 9000 good | 6300 bad
    FA  INFO                                   -> TLV 67 {80 SAM serial, 81 key version}
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from drivers.card import tlv
from drivers.card.base import (
    SW,
    AuthenticationFailed,
    CardConnection,
    CardError,
    CardReader,
    CardRemoved,
    CardStatusError,
    ReaderUnavailable,
)

log = logging.getLogger("drivers.card.sam")

INS_BEGIN = 0xF0
INS_CHALLENGE = 0xF2
INS_VERIFY = 0xF4
INS_INFO = 0xFA


class SecureAccessModule(Protocol):
    def open(self) -> None: ...

    def close(self) -> None: ...

    def external_cryptogram(self, serial: bytes, card_challenge: bytes) -> bytes:
        """Start authenticating chip ``serial``: the cryptogram for EXTERNAL AUTHENTICATE."""
        ...

    def challenge(self) -> bytes:
        """A fresh challenge for the chip's INTERNAL AUTHENTICATE."""
        ...

    def verify(self, response: bytes) -> bool:
        """Is ``response`` the chip's correct answer to the last challenge?"""
        ...


def _apdu(ins: int, data: bytes = b"", le: int | None = None) -> bytes:
    out = bytes([0x00, ins, 0x00, 0x00])
    if data:
        out += bytes([len(data)]) + data
    if le is not None:
        out += bytes([le & 0xFF])
    return out


class ApduSam:
    """A SAM card reached through a reader slot; reconnects once if the slot was reset."""

    def __init__(self, reader: CardReader) -> None:
        self._reader = reader
        self._conn: CardConnection | None = None
        self._lock = threading.Lock()

    def open(self) -> None:
        with self._lock:
            self._reader.open()
            self._conn = self._reader.connect()

    def close(self) -> None:
        with self._lock:
            self._conn = None
            self._reader.disconnect()
            self._reader.close()

    def _send(self, apdu: bytes, what: str) -> tuple[bytes, int]:
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._conn is None:
                        self._conn = self._reader.connect()
                    return self._conn.transmit(apdu)
                except (ReaderUnavailable, CardRemoved) as exc:
                    # pcscd restarted or the SAM slot was reset: connect again, once.
                    self._conn = None
                    self._reader.disconnect()
                    if attempt == 2:
                        raise ReaderUnavailable(f"SAM unavailable during {what}: {exc}") from exc
                    log.warning("SAM connection lost during %s; reconnecting", what)
        raise AssertionError("unreachable")

    def _ok(self, apdu: bytes, what: str) -> bytes:
        data, sw = self._send(apdu, what)
        if sw != SW.OK:
            raise CardStatusError(f"SAM {what}", sw)
        return data

    def external_cryptogram(self, serial: bytes, card_challenge: bytes) -> bytes:
        out = self._ok(_apdu(INS_BEGIN, serial + card_challenge, 24), "BEGIN")
        if len(out) != 24:
            raise CardError(f"SAM returned a {len(out)}-byte cryptogram, expected 24")
        return out

    def challenge(self) -> bytes:
        out = self._ok(_apdu(INS_CHALLENGE, le=8), "CHALLENGE")
        if len(out) != 8:
            raise CardError(f"SAM returned a {len(out)}-byte challenge, expected 8")
        return out

    def verify(self, response: bytes) -> bool:
        _, sw = self._send(_apdu(INS_VERIFY, response), "VERIFY")
        if sw == SW.OK:
            return True
        if sw == SW.VERIFICATION_FAILED:
            return False
        raise AuthenticationFailed(f"SAM VERIFY failed with status {sw:04X}")

    def info(self) -> dict[str, str]:
        """SAM serial and key version, for diagnostics."""
        data = self._ok(_apdu(INS_INFO, le=0), "INFO")
        f = tlv.fields(tlv.parse_single(data, 0x67))
        return {"serial": f.get(0x80, b"").hex(), "key_version": f.get(0x81, b"\0").hex()}
