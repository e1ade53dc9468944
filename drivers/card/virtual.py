"""Virtual cards: the chip side of the e-KTP and of the SAM, answering APDUs from memory.

Used by the vpcd emulator (``drivers.card.vicc``, through the real pcscd) and by the
in-process ``sim`` backend, so both paths exercise the same card behaviour.  A card is
built from a :class:`CardImage` (files, chip key, faults), which the simulator issues.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from drivers.card import crypto, tlv
from drivers.card.base import SW
from drivers.card.ektp import DF_EKTP, EF_CAPABILITY
from drivers.card.sam import INS_BEGIN, INS_CHALLENGE, INS_INFO, INS_VERIFY


def make_atr(historical: bytes) -> bytes:
    """An ATR (T=1) with a correct TCK checksum."""
    body = bytes([0x80 | len(historical), 0x80, 0x01]) + historical
    tck = 0
    for b in body:
        tck ^= b
    return bytes([0x3B]) + body + bytes([tck])


EKTP_ATR = make_atr(b"ADM-eKTP")
SAM_ATR = make_atr(b"ADM-SAM1")
FOREIGN_ATR = make_atr(b"BANKCARD")


class VirtualChip(Protocol):
    """What the emulator and the in-process reader need of a virtual chip."""

    atr: bytes

    @property
    def delay(self) -> float: ...

    def reset(self) -> None: ...

    def process(self, apdu: bytes) -> bytes: ...


class CardPulled(Exception):
    """Raised by a card with the ``pull_after`` fault: the emulator drops the connection."""


def _sw(sw: int, data: bytes = b"") -> bytes:
    return data + sw.to_bytes(2, "big")


@dataclass
class CardImage:
    """Everything a virtual e-KTP holds, plus the faults it should show."""

    serial: bytes
    chip_key: bytes
    files: dict[int, bytes]
    max_response: int = 0x1000
    fault: str = ""  # "" | "blank" | "foreign"
    pull_after: int = 0  # drop off the reader after this many READ BINARY commands (0 = never)
    delay_ms: int = 0  # answer every APDU this much later (slow card)
    label: dict[str, str] = field(default_factory=dict)  # NIK/name, for the simulator's lists

    def to_json(self) -> str:
        return json.dumps(
            {
                "serial": self.serial.hex(),
                "chip_key": self.chip_key.hex(),
                "files": {f"{k:04X}": v.hex() for k, v in self.files.items()},
                "max_response": self.max_response,
                "fault": self.fault,
                "pull_after": self.pull_after,
                "delay_ms": self.delay_ms,
                "label": self.label,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> CardImage:
        d = json.loads(text)
        return cls(
            serial=bytes.fromhex(d["serial"]),
            chip_key=bytes.fromhex(d["chip_key"]),
            files={int(k, 16): bytes.fromhex(v) for k, v in d["files"].items()},
            max_response=int(d["max_response"]),
            fault=str(d.get("fault", "")),
            pull_after=int(d.get("pull_after", 0)),
            delay_ms=int(d.get("delay_ms", 0)),
            label=dict(d.get("label", {})),
        )

    def save(self, path: Path) -> None:
        path.write_text(self.to_json())


class VirtualEktp:
    """The e-KTP chip: file system, challenge, mutual authentication, READ BINARY."""

    def __init__(self, image: CardImage, rng: bytes | None = None) -> None:
        self.image = image
        self.atr = FOREIGN_ATR if image.fault == "foreign" else EKTP_ATR
        self.reads = 0
        self._rng = rng
        self.reset()

    @property
    def delay(self) -> float:
        return self.image.delay_ms / 1000

    def reset(self) -> None:
        self._df = False
        self._ef: int | None = None
        self._challenge: bytes | None = None
        self._reader_ok = False  # EXTERNAL AUTHENTICATE passed
        self._authenticated = False  # and INTERNAL AUTHENTICATE answered

    def _random(self, n: int) -> bytes:
        return self._rng[:n] if self._rng else os.urandom(n)

    def process(self, apdu: bytes) -> bytes:
        """Answer one command APDU with response data + status word."""
        if self.image.fault == "foreign":
            return _sw(SW.CLA_NOT_SUPPORTED)
        if len(apdu) < 4:
            return _sw(SW.WRONG_LENGTH)
        cla, ins, p1, p2 = apdu[:4]
        if cla != 0x00:
            return _sw(SW.CLA_NOT_SUPPORTED)
        handler = {
            0xA4: self._select,
            0xB0: self._read,
            0x84: self._get_challenge,
            0x82: self._external,
            0x88: self._internal,
        }.get(ins)
        if handler is None:
            return _sw(SW.INS_NOT_SUPPORTED)
        return handler(p1, p2, apdu[4:])

    def _select(self, p1: int, p2: int, body: bytes) -> bytes:
        if len(body) < 3 or body[0] != 2:
            return _sw(SW.WRONG_LENGTH)
        fid = int.from_bytes(body[1:3], "big")
        if p1 == 0x01:
            if fid != DF_EKTP or self.image.fault == "blank":
                return _sw(SW.FILE_NOT_FOUND)
            self._df, self._ef = True, None
            self._authenticated = self._reader_ok = False
            return _sw(SW.OK)
        if p1 == 0x02 and self._df and fid in self.image.files:
            self._ef = fid
            return _sw(SW.OK)
        return _sw(SW.FILE_NOT_FOUND)

    def _read(self, p1: int, p2: int, body: bytes) -> bytes:
        if self._ef is None:
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        if self._ef != EF_CAPABILITY and not self._authenticated:
            return _sw(SW.SECURITY_STATUS)
        if len(body) == 1:
            le = body[0] or 256
        elif len(body) == 3 and body[0] == 0:
            le = int.from_bytes(body[1:3], "big") or 65536
            if le > self.image.max_response:
                return _sw(SW.WRONG_LENGTH)
        else:
            return _sw(SW.WRONG_LENGTH)
        self.reads += 1
        if self.image.pull_after and self.reads > self.image.pull_after:
            raise CardPulled()
        offset = (p1 << 8) | p2
        content = self.image.files[self._ef]
        if offset >= len(content):
            return _sw(SW.WRONG_P1P2)
        chunk = content[offset : offset + le]
        return _sw(SW.OK if len(chunk) == le else SW.END_OF_FILE, chunk)

    def _get_challenge(self, p1: int, p2: int, body: bytes) -> bytes:
        if not self._df:
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        self._challenge = self._random(8)
        self._reader_ok = self._authenticated = False
        return _sw(SW.OK, self._challenge)

    def _external(self, p1: int, p2: int, body: bytes) -> bytes:
        if self._challenge is None or not body:
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        cryptogram = body[1 : 1 + body[0]]
        ok = crypto.check_external(self.image.chip_key, cryptogram, self._challenge)
        self._challenge = None  # one try per challenge
        self._reader_ok = ok
        return _sw(SW.OK if ok else SW.VERIFICATION_FAILED)

    def _internal(self, p1: int, p2: int, body: bytes) -> bytes:
        if not self._reader_ok:
            return _sw(SW.SECURITY_STATUS)
        if len(body) < 9 or body[0] != 8:
            return _sw(SW.WRONG_LENGTH)
        self._authenticated = True
        return _sw(
            SW.OK, crypto.internal_response(self.image.chip_key, body[1:9], self.image.serial)
        )


class VirtualSam:
    """A SAM holding the master key; computes and checks the chips' cryptograms."""

    def __init__(self, master_key: bytes, serial: bytes = b"SAM00001", key_version: int = 1):
        self.master_key = master_key
        self.serial = serial
        self.key_version = key_version
        self.atr = SAM_ATR
        self.delay = 0.0
        self.reset()

    def reset(self) -> None:
        self._chip_key: bytes | None = None
        self._chip_serial = b""
        self._rnd_s: bytes | None = None

    def process(self, apdu: bytes) -> bytes:
        if len(apdu) < 4 or apdu[0] != 0x00:
            return _sw(SW.CLA_NOT_SUPPORTED)
        ins, body = apdu[1], apdu[4:]
        if ins == INS_BEGIN:
            if len(body) < 17 or body[0] != 16:
                return _sw(SW.WRONG_LENGTH)
            serial, rnd_ic = body[1:9], body[9:17]
            self._chip_key = crypto.diversify(self.master_key, serial)
            self._chip_serial = serial
            return _sw(SW.OK, crypto.external_cryptogram(self._chip_key, rnd_ic, os.urandom(8)))
        if ins == INS_CHALLENGE:
            if self._chip_key is None:
                return _sw(SW.CONDITIONS_NOT_SATISFIED)
            self._rnd_s = os.urandom(8)
            return _sw(SW.OK, self._rnd_s)
        if ins == INS_VERIFY:
            if self._chip_key is None or self._rnd_s is None or len(body) < 17:
                return _sw(SW.CONDITIONS_NOT_SATISFIED)
            expected = crypto.internal_response(self._chip_key, self._rnd_s, self._chip_serial)
            self._rnd_s = None
            return _sw(SW.OK if body[1:17] == expected else SW.VERIFICATION_FAILED)
        if ins == INS_INFO:
            info = tlv.encode_all(0x67, [(0x80, self.serial), (0x81, bytes([self.key_version]))])
            return _sw(SW.OK, info)
        return _sw(SW.INS_NOT_SUPPORTED)
