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

from drivers.card import apdu, crypto, tlv
from drivers.card.base import SW
from drivers.card.ektp import DF_EKTP, DF_EKTP_NAME, EF_CAPABILITY
from drivers.card.sam import CLA_SAM, INS_BEGIN, INS_CHALLENGE, INS_INFO, INS_VERIFY


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


# Status words of ISO/IEC 7816-4 the virtual chips answer beyond drivers.card.base.SW.
INCORRECT_P1P2 = 0x6A86
LC_INCONSISTENT = 0x6A87  # Nc inconsistent with P1-P2
LOGICAL_CHANNEL = 0x6881
SECURE_MESSAGING = 0x6882
CHAINING = 0x6884
NO_CURRENT_EF = 0x6986
MF = 0x3F00


def class_refusal(cla: int, *, proprietary: bool) -> int | None:
    """The status word for a class byte this chip does not take, or None.

    ISO/IEC 7816-4 5.4.1: 0x0X/0x1X is the first interindustry class (b5 chaining, b4-b3
    secure messaging, b2-b1 the logical channel), 0x4X-0x7X the further one (logical
    channels 4-19), 0x8X-0xFE proprietary, 0xFF invalid, the rest reserved.  These chips
    have one logical channel, no secure messaging and no command chaining; ``proprietary``
    chips (a SAM) take 0x80 for their own commands."""
    if cla == 0xFF or 0x20 <= cla <= 0x3F:
        return SW.CLA_NOT_SUPPORTED
    if cla & 0x80:
        return None if proprietary and cla & 0x7F == 0 else SW.CLA_NOT_SUPPORTED
    if cla & 0x40:
        return LOGICAL_CHANNEL
    if cla & 0x10:
        return CHAINING
    if cla & 0x0C:
        return SECURE_MESSAGING
    if cla & 0x03:
        return LOGICAL_CHANNEL
    return None


class _T0Answers:
    """How a T=0 chip (and most SAMs) hands out answers: a case 4 or extended answer is
    announced with ``61xx`` and fetched with GET RESPONSE; a case 2 command whose Le does
    not match what the chip has gets ``6Cxx`` with the exact length.  The kiosk must
    follow both (:func:`drivers.card.apdu.send_apdu`); the virtual chips answer this way
    on request so that path runs in tests."""

    def __init__(self) -> None:
        self._pending = b""
        self._cla = 0x00  # the class of the command whose answer waits

    def reset(self) -> None:
        self._pending = b""

    def get_response(self, command: apdu.Command) -> bytes:
        """GET RESPONSE in the class of the command whose answer waits (ISO/IEC 7816-4:
        a proprietary command's answer is fetched in its proprietary class)."""
        if command.cla != self._cla:
            return _sw(SW.CLA_NOT_SUPPORTED)
        if command.p1 or command.p2:
            return _sw(INCORRECT_P1P2)
        if not self._pending:
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        n = command.le or 0x100
        part, self._pending = self._pending[:n], self._pending[n:]
        return _sw(self._more() if self._pending else SW.OK, part)

    def _more(self) -> int:
        return 0x6100 | (len(self._pending) if len(self._pending) < 0x100 else 0)

    def shape(self, command: apdu.Command, reply: bytes) -> bytes:
        """Turn a direct answer into the T=0 form of the same answer."""
        self._pending = b""
        self._cla = command.cla
        data, sw = reply[:-2], int.from_bytes(reply[-2:], "big")
        if not data or sw not in (SW.OK, SW.END_OF_FILE):
            return reply
        short_case_2 = not command.data and command.le is not None and command.le <= 0x100
        if short_case_2:
            if len(data) != command.le and len(data) < 0x100:
                return _sw(0x6C00 | len(data))
            return reply
        self._pending = data
        return _sw(self._more())


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
    t0: bool = False  # answer as a T=0 card does: 61xx + GET RESPONSE, 6Cxx for a wrong Le
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
                "t0": self.t0,
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
            t0=bool(d.get("t0", False)),
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
        self._t0 = _T0Answers()

    def _random(self, n: int) -> bytes:
        return self._rng[:n] if self._rng else os.urandom(n)

    def process(self, raw: bytes) -> bytes:
        """Answer one command APDU with response data + status word."""
        if self.image.fault == "foreign":
            return _sw(SW.CLA_NOT_SUPPORTED)
        try:
            command = apdu.decode(raw)
        except ValueError:
            return _sw(SW.WRONG_LENGTH)
        # ISO/IEC 7816-4 order: the class, then the instruction, then P1-P2, then the
        # data and its length; the file system and security state last.
        refused = class_refusal(command.cla, proprietary=False)
        if refused is not None:
            return _sw(refused)
        if command.ins == apdu.INS_GET_RESPONSE and self.image.t0:
            return self._t0.get_response(command)
        handler = {
            0xA4: self._select,
            0xB0: self._read,
            0x84: self._get_challenge,
            0x82: self._external,
            0x88: self._internal,
        }.get(command.ins)
        if handler is None:
            return _sw(SW.INS_NOT_SUPPORTED)
        reply = handler(command)
        return self._t0.shape(command, reply) if self.image.t0 else reply

    def _control(self, fid: int, template: int) -> bytes:
        """The file's control parameters (FCP, template 62) or control information (FCI,
        template 6F) as ISO/IEC 7816-4 codes them: descriptor (82: 38 a DF, 01 a
        transparent EF), identifier (83), the DF's name (84), size (80), life cycle (8A:
        05 operational, activated)."""
        if fid in (MF, DF_EKTP):
            fields = [(0x82, b"\x38"), (0x83, fid.to_bytes(2, "big"))]
            if fid == DF_EKTP:
                fields.append((0x84, DF_EKTP_NAME))
        else:
            fields = [(0x82, b"\x01"), (0x83, fid.to_bytes(2, "big"))]
            fields.append((0x80, len(self.image.files[fid]).to_bytes(2, "big")))
        fields.append((0x8A, b"\x05"))
        return tlv.encode_all(template, fields)

    def _select(self, c: apdu.Command) -> bytes:
        """SELECT (ISO/IEC 7816-4 11.2.2).  P1: 00 the MF (no data, or 3F00) or any file
        by identifier, 01 a DF, 02 an EF under the current DF, 03 the parent DF, 04 a DF
        by name (the e-KTP application's name, or a leading part of it).  P2: b4-b3 the
        answer (00 FCI, 04 FCP, 0C none; 08 FMD is not kept), b2-b1 the occurrence (by
        name only: 00 first, 02 next).  Checked in ISO's order: P1-P2 (6A86), then the
        data's length for that P1 (6A87), then whether the file exists (6A82)."""
        answer, occurrence = c.p2 & 0x0C, c.p2 & 0x03
        if (
            c.p1 not in (0x00, 0x01, 0x02, 0x03, 0x04)
            or c.p2 & 0xF0
            or answer == 0x08
            or (occurrence and c.p1 != 0x04)
        ):
            return _sw(INCORRECT_P1P2)
        data = c.data
        if c.p1 in (0x01, 0x02) and len(data) != 2:
            return _sw(LC_INCONSISTENT)
        if (c.p1 == 0x00 and len(data) not in (0, 2)) or (c.p1 == 0x03 and data):
            return _sw(LC_INCONSISTENT)
        if c.p1 == 0x04 and not 1 <= len(data) <= 16:
            return _sw(LC_INCONSISTENT)
        has_df = self.image.fault != "blank"
        fid: int
        if c.p1 == 0x04:
            if not (has_df and DF_EKTP_NAME.startswith(data)) or occurrence == 0x02:
                return _sw(SW.FILE_NOT_FOUND)
            fid = DF_EKTP
        elif c.p1 == 0x03:
            fid = DF_EKTP if self._ef is not None else MF
        elif c.p1 == 0x00 and (not data or int.from_bytes(data, "big") == MF):
            fid = MF
        else:
            fid = int.from_bytes(data, "big")
            is_df = fid == DF_EKTP and has_df and c.p1 in (0x00, 0x01)
            is_ef = c.p1 in (0x00, 0x02) and self._df and fid in self.image.files
            if not (is_df or is_ef):
                return _sw(SW.FILE_NOT_FOUND)
        if fid == MF:
            self._df, self._ef = False, None
            self._authenticated = self._reader_ok = False
        elif fid == DF_EKTP:
            if not (self._df and c.p1 == 0x03):  # back to the DF keeps its session
                self._authenticated = self._reader_ok = False
            self._df, self._ef = True, None
        else:
            self._ef = fid
        if answer == 0x0C or c.le is None:  # no answer asked for, or no room for one (Ne=0)
            return _sw(SW.OK)
        return _sw(SW.OK, self._control(fid, 0x62 if answer == 0x04 else 0x6F))

    def _read(self, c: apdu.Command) -> bytes:
        if c.p1 & 0x80:  # a short EF identifier in P1: not kept by this chip
            return _sw(INCORRECT_P1P2)
        if self._ef is None:
            return _sw(NO_CURRENT_EF)
        if self._ef != EF_CAPABILITY and not self._authenticated:
            return _sw(SW.SECURITY_STATUS)
        if c.le is None or c.data:
            return _sw(SW.WRONG_LENGTH)
        le = c.le
        if le > 0x100 and le > self.image.max_response:
            return _sw(SW.WRONG_LENGTH)
        self.reads += 1
        if self.image.pull_after and self.reads > self.image.pull_after:
            raise CardPulled()
        offset = (c.p1 << 8) | c.p2
        content = self.image.files[self._ef]
        if offset >= len(content):
            return _sw(SW.WRONG_P1P2)
        chunk = content[offset : offset + le]
        return _sw(SW.OK if len(chunk) == le else SW.END_OF_FILE, chunk)

    def _get_challenge(self, c: apdu.Command) -> bytes:
        if not self._df:
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        if c.le is None or c.data:
            return _sw(SW.WRONG_LENGTH)
        self._challenge = self._random(8)
        self._reader_ok = self._authenticated = False
        return _sw(SW.OK, self._challenge)

    def _external(self, c: apdu.Command) -> bytes:
        if self._challenge is None or not c.data:
            return _sw(SW.CONDITIONS_NOT_SATISFIED)
        ok = crypto.check_external(self.image.chip_key, c.data, self._challenge)
        self._challenge = None  # one try per challenge
        self._reader_ok = ok
        return _sw(SW.OK if ok else SW.VERIFICATION_FAILED)

    def _internal(self, c: apdu.Command) -> bytes:
        if not self._reader_ok:
            return _sw(SW.SECURITY_STATUS)
        if len(c.data) != 8:
            return _sw(SW.WRONG_LENGTH)
        self._authenticated = True
        return _sw(SW.OK, crypto.internal_response(self.image.chip_key, c.data, self.image.serial))


class VirtualSam:
    """A SAM holding the master key; computes and checks the chips' cryptograms.

    ``t0``: answer as a T=0 SAM does (``61xx`` for BEGIN's cryptogram, ``6Cxx`` for an
    INFO asked with the wrong Le)."""

    def __init__(
        self,
        master_key: bytes,
        serial: bytes = b"SAM00001",
        key_version: int = 1,
        *,
        t0: bool = False,
    ) -> None:
        self.master_key = master_key
        self.serial = serial
        self.key_version = key_version
        self.t0 = t0
        self.atr = SAM_ATR
        self.delay = 0.0
        self.reset()

    def reset(self) -> None:
        self._chip_key: bytes | None = None
        self._chip_serial = b""
        self._rnd_s: bytes | None = None
        self._t0 = _T0Answers()

    def process(self, raw: bytes) -> bytes:
        try:
            command = apdu.decode(raw)
        except ValueError:
            return _sw(SW.WRONG_LENGTH)
        refused = class_refusal(command.cla, proprietary=True)
        if refused is not None:
            return _sw(refused)
        if command.ins == apdu.INS_GET_RESPONSE and self.t0:
            return self._t0.get_response(command)
        if (
            command.ins in (INS_BEGIN, INS_CHALLENGE, INS_VERIFY, INS_INFO)
            and command.cla != CLA_SAM
        ):
            return _sw(SW.CLA_NOT_SUPPORTED)  # the SAM's own commands are proprietary-class
        reply = self._answer(command)
        return self._t0.shape(command, reply) if self.t0 else reply

    def _answer(self, c: apdu.Command) -> bytes:
        if c.ins == INS_BEGIN:
            if len(c.data) != 16:
                return _sw(SW.WRONG_LENGTH)
            serial, rnd_ic = c.data[:8], c.data[8:]
            self._chip_key = crypto.diversify(self.master_key, serial)
            self._chip_serial = serial
            return _sw(SW.OK, crypto.external_cryptogram(self._chip_key, rnd_ic, os.urandom(8)))
        if c.ins == INS_CHALLENGE:
            if self._chip_key is None:
                return _sw(SW.CONDITIONS_NOT_SATISFIED)
            self._rnd_s = os.urandom(8)
            return _sw(SW.OK, self._rnd_s)
        if c.ins == INS_VERIFY:
            if self._chip_key is None or self._rnd_s is None or len(c.data) != 16:
                return _sw(SW.CONDITIONS_NOT_SATISFIED)
            expected = crypto.internal_response(self._chip_key, self._rnd_s, self._chip_serial)
            self._rnd_s = None
            return _sw(SW.OK if c.data == expected else SW.VERIFICATION_FAILED)
        if c.ins == INS_INFO:
            info = tlv.encode_all(0x67, [(0x80, self.serial), (0x81, bytes([self.key_version]))])
            return _sw(SW.OK, info)
        return _sw(SW.INS_NOT_SUPPORTED)
