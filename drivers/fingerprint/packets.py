"""The packet protocol of the common optical fingerprint module family (R30x, ZFM, AS608).

Every exchange is packets of one shape::

    EF 01 | address (4) | identifier (1) | length (2) | payload (length - 2) | checksum (2)

``identifier``: 01 command, 02 data (more follow), 07 acknowledgement, 08 end of data.
``length`` counts the payload and the checksum; the checksum is the 16-bit sum of the
identifier, the two length bytes and the payload.  A command's payload is its
instruction code and arguments; an acknowledgement's is a confirmation code and results.

This module is pure (bytes in, bytes or typed errors out) so the driver and the
module's emulator speak it the same way and it can be fuzzed without a port.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable
from dataclasses import dataclass

HEADER = b"\xef\x01"
DEFAULT_ADDRESS = 0xFFFFFFFF
MAX_PAYLOAD = 256  # the largest data packet the family knows (packet size code 3)
TEMPLATE_SIZE = 512  # one character file (a buffer's template)


class Pid(enum.IntEnum):
    COMMAND = 0x01
    DATA = 0x02
    ACK = 0x07
    END = 0x08


class Instruction(enum.IntEnum):
    GEN_IMG = 0x01  # capture an image of the finger on the sensor
    IMG2TZ = 0x02  # image → characteristics in buffer 1 or 2
    MATCH = 0x03  # compare buffer 1 with buffer 2: score
    DOWN_CHAR = 0x09  # host → module: a character file into a buffer, in data packets
    READ_SYS_PARA = 0x0F  # status, library size, security level, address, packet size, baud
    VFY_PWD = 0x13  # handshake: the module's password


class Code(enum.IntEnum):
    """Confirmation codes (the first payload byte of an acknowledgement)."""

    OK = 0x00
    PACKET_ERROR = 0x01
    NO_FINGER = 0x02
    ENROLL_FAILED = 0x03
    DISORDERLY = 0x06  # image too messy: poor image
    TOO_FEW_FEATURES = 0x07
    NO_MATCH = 0x08
    DOWNLOAD_FAILED = 0x0E  # could not receive the following data packets
    WRONG_PASSWORD = 0x13
    INVALID_IMAGE = 0x15


PACKET_SIZES = {0: 32, 1: 64, 2: 128, 3: 256}


class FingerprintProtocolError(Exception):
    """A packet that is not one: bad header, address, identifier, length or checksum."""


class Truncated(FingerprintProtocolError):
    """The bytes ended (or the line went quiet) inside a packet."""


@dataclass(frozen=True)
class Packet:
    address: int
    pid: int
    payload: bytes

    def encode(self) -> bytes:
        return encode(self.pid, self.payload, self.address)


def checksum(pid: int, payload: bytes) -> int:
    length = len(payload) + 2
    return (pid + (length >> 8) + (length & 0xFF) + sum(payload)) & 0xFFFF


def encode(pid: int, payload: bytes, address: int = DEFAULT_ADDRESS) -> bytes:
    if len(payload) > MAX_PAYLOAD + 32:
        raise ValueError(f"payload of {len(payload)} bytes is too long for one packet")
    length = len(payload) + 2
    return (
        HEADER
        + struct.pack(">IBH", address, pid, length)
        + payload
        + struct.pack(">H", checksum(pid, payload))
    )


def command(instruction: Instruction, args: bytes = b"", address: int = DEFAULT_ADDRESS) -> bytes:
    return encode(Pid.COMMAND, bytes([instruction]) + args, address)


def read_packet(read: Callable[[int], bytes], address: int = DEFAULT_ADDRESS) -> Packet:
    """One packet from ``read(n)`` (which returns up to ``n`` bytes, fewer at a timeout).

    Every field is checked: header, the expected ``address``, a known identifier, a length
    within bounds, and the checksum.  Anything else is a :class:`FingerprintProtocolError`
    (:class:`Truncated` when the bytes stop), never a hang and never a half packet.
    """

    def exactly(n: int) -> bytes:
        data = read(n)
        if len(data) != n:
            raise Truncated(f"packet cut short: {len(data)} of {n} bytes")
        return data

    head = exactly(9)
    if head[:2] != HEADER:
        raise FingerprintProtocolError(f"bad packet header {head[:2].hex()}")
    got_address, pid, length = struct.unpack(">IBH", head[2:9])
    if got_address != address:
        raise FingerprintProtocolError(
            f"packet from address {got_address:08X}, expected {address:08X}"
        )
    if pid not in Pid.__members__.values():
        raise FingerprintProtocolError(f"unknown packet identifier {pid:02X}")
    if not 3 <= length <= MAX_PAYLOAD + 2:
        raise FingerprintProtocolError(f"packet length {length} out of range")
    body = exactly(length)
    payload, (sent,) = body[:-2], struct.unpack(">H", body[-2:])
    if sent != checksum(pid, payload):
        raise FingerprintProtocolError(
            f"checksum {sent:04X} does not match {checksum(pid, payload):04X}"
        )
    return Packet(got_address, pid, payload)


def data_packets(blob: bytes, size: int, address: int = DEFAULT_ADDRESS) -> list[bytes]:
    """``blob`` in data packets of ``size`` bytes, the last one marked end of data."""
    chunks = [blob[i : i + size] for i in range(0, len(blob), size)] or [b""]
    return [
        encode(Pid.END if i == len(chunks) - 1 else Pid.DATA, chunk, address)
        for i, chunk in enumerate(chunks)
    ]


@dataclass(frozen=True)
class SystemParameters:
    status: int
    system_id: int
    library_size: int
    security_level: int
    address: int
    packet_size: int  # bytes per data packet
    baud: int

    @classmethod
    def parse(cls, data: bytes) -> SystemParameters:
        if len(data) != 16:
            raise FingerprintProtocolError(f"system parameters of {len(data)} bytes, expected 16")
        status, system_id, library, level, address, size_code, n = struct.unpack(">HHHHIHH", data)
        if size_code not in PACKET_SIZES or not 1 <= n <= 12:
            raise FingerprintProtocolError(
                f"system parameters out of range (packet size code {size_code}, baud N {n})"
            )
        return cls(status, system_id, library, level, address, PACKET_SIZES[size_code], 9600 * n)

    def encode(self) -> bytes:
        code = {v: k for k, v in PACKET_SIZES.items()}[self.packet_size]
        return struct.pack(
            ">HHHHIHH",
            self.status,
            self.system_id,
            self.library_size,
            self.security_level,
            self.address,
            code,
            self.baud // 9600,
        )
