"""The secure access module (SAM): the only holder of the keys that open an e-KTP chip.

The e-KTP protocol asks a :class:`SecureAccessModule` for cryptograms; it never sees a
key.  :class:`ApduSam` speaks the SAM's card protocol (the proprietary class 80, INS
F0..FA, as SAM command sets are) over any
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

import contextlib
import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Protocol

from drivers.card import tlv
from drivers.card.apdu import Response, send_apdu
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
# ISO/IEC 7816-4: a class byte with b8 set is proprietary; its commands (and the GET
# RESPONSE that fetches their answers) keep that class.
CLA_SAM = 0x80


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

    def transaction(self) -> AbstractContextManager[None]:
        """Hold the SAM for the three steps of one authentication."""
        ...


class ApduSam:
    """A SAM card reached through a reader slot; reconnects once if the slot was reset.

    The three steps of an authentication (BEGIN, CHALLENGE, VERIFY) keep state in the
    SAM, so :meth:`transaction` holds the SAM for this kiosk from the first to the last:
    another process sharing the SAM slot (or another thread here) waits instead of
    starting its own authentication in between.
    """

    def __init__(self, reader: CardReader) -> None:
        self._reader = reader
        self._conn: CardConnection | None = None
        self._lock = threading.RLock()
        self._in_transaction = False

    def open(self) -> None:
        with self._lock:
            self._reader.open()
            self._conn = self._reader.connect()

    def close(self) -> None:
        with self._lock:
            self._conn = None
            self._reader.disconnect()
            self._reader.close()

    def _lost(self, what: str, exc: CardError, attempt: int) -> None:
        self._conn = None
        self._reader.disconnect()
        if attempt == 2 or self._in_transaction:
            # Inside a transaction the SAM's state went with the connection: no retry.
            raise ReaderUnavailable(f"SAM unavailable during {what}: {exc}") from exc
        log.warning("SAM connection lost during %s; reconnecting", what)

    def _connection(self) -> CardConnection:
        if self._conn is None:
            self._conn = self._reader.connect()
        return self._conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._in_transaction:  # nested: the outer block already holds the SAM
                yield
                return
            with contextlib.ExitStack() as stack:
                for attempt in (1, 2):
                    try:
                        stack.enter_context(self._connection().transaction())
                        break
                    except (ReaderUnavailable, CardRemoved) as exc:
                        self._lost("begin transaction", exc, attempt)
                self._in_transaction = True
                try:
                    yield
                finally:
                    self._in_transaction = False

    def _send(
        self,
        ins: int,
        what: str,
        data: bytes = b"",
        le: int | None = None,
        accept: tuple[int, ...] = (SW.OK,),
    ) -> Response:
        with self._lock:
            for attempt in (1, 2):
                try:
                    return send_apdu(
                        self._connection(),
                        CLA_SAM,
                        ins,
                        0,
                        0,
                        data,
                        le,
                        what=f"SAM {what}",
                        accept=accept,
                    )
                except (ReaderUnavailable, CardRemoved) as exc:
                    # pcscd restarted or the SAM slot was reset: connect again, once.
                    self._lost(what, exc, attempt)
        raise AssertionError("unreachable")

    def external_cryptogram(self, serial: bytes, card_challenge: bytes) -> bytes:
        out = self._send(INS_BEGIN, "BEGIN", serial + card_challenge, 24).data
        if len(out) != 24:
            raise CardError(f"SAM returned a {len(out)}-byte cryptogram, expected 24")
        return out

    def challenge(self) -> bytes:
        out = self._send(INS_CHALLENGE, "CHALLENGE", le=8).data
        if len(out) != 8:
            raise CardError(f"SAM returned a {len(out)}-byte challenge, expected 8")
        return out

    def verify(self, response: bytes) -> bool:
        try:
            answer = self._send(
                INS_VERIFY, "VERIFY", response, accept=(SW.OK, SW.VERIFICATION_FAILED)
            )
        except CardStatusError as exc:
            raise AuthenticationFailed(str(exc)) from None
        return answer.sw == SW.OK

    def info(self) -> dict[str, str]:
        """SAM serial and key version, for diagnostics."""
        data = self._send(INS_INFO, "INFO", le=0x100).data
        f = tlv.fields(tlv.parse_single(data, 0x67))
        return {"serial": f.get(0x80, b"").hex(), "key_version": f.get(0x81, b"\0").hex()}
