"""Strict BER-TLV (ISO 7816-4 / X.690 subset) for the e-KTP files.

Tags are one or two bytes (two when the low five bits of the first are all set); lengths
use the short form or the long forms ``81 xx`` and ``82 xx xx``.  Parsing checks every
length against the buffer and raises :class:`CardProtocolError` for anything else, so a
damaged or hostile card can cost an exception, never an over-read or a hang.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.card.base import CardProtocolError

MAX_LENGTH = 0xFFFF


@dataclass(frozen=True)
class Tlv:
    tag: int
    value: bytes

    @property
    def constructed(self) -> bool:
        first = self.tag >> 8 if self.tag > 0xFF else self.tag
        return bool(first & 0x20)

    def children(self) -> list[Tlv]:
        if not self.constructed:
            raise CardProtocolError(f"tag {self.tag:X} is primitive, it has no children")
        return parse_all(self.value)


def read_header(data: bytes, offset: int = 0) -> tuple[int, int, int]:
    """Decode the tag and length at ``offset``; return (tag, length, header size)."""
    i = offset
    if i >= len(data):
        raise CardProtocolError("TLV header missing")
    tag = data[i]
    i += 1
    if tag in (0x00, 0xFF):
        raise CardProtocolError(f"invalid TLV tag byte {tag:02X}")
    if tag & 0x1F == 0x1F:
        if i >= len(data):
            raise CardProtocolError("two-byte tag is truncated")
        if data[i] & 0x80:
            raise CardProtocolError("tags longer than two bytes are not used on the e-KTP")
        tag = (tag << 8) | data[i]
        i += 1
    if i >= len(data):
        raise CardProtocolError("TLV length missing")
    first = data[i]
    i += 1
    if first < 0x80:
        length = first
    elif first in (0x81, 0x82):
        n = first - 0x80
        if i + n > len(data):
            raise CardProtocolError("TLV length is truncated")
        length = int.from_bytes(data[i : i + n], "big")
        i += n
    else:
        raise CardProtocolError(f"unsupported TLV length form {first:02X}")
    return tag, length, i - offset


def parse_one(data: bytes, offset: int = 0) -> tuple[Tlv, int]:
    """Parse one TLV at ``offset``; return it and the offset just past it."""
    tag, length, header = read_header(data, offset)
    start = offset + header
    end = start + length
    if end > len(data):
        raise CardProtocolError(f"TLV {tag:X} claims {length} bytes, {len(data) - start} remain")
    return Tlv(tag, bytes(data[start:end])), end


def parse_all(data: bytes) -> list[Tlv]:
    """Parse a run of TLVs that must fill ``data`` exactly."""
    out = []
    i = 0
    while i < len(data):
        tlv, i = parse_one(data, i)
        out.append(tlv)
    return out


def parse_single(data: bytes, tag: int) -> Tlv:
    """``data`` must be exactly one TLV with ``tag``."""
    tlv, end = parse_one(data)
    if tlv.tag != tag:
        raise CardProtocolError(f"expected tag {tag:X}, found {tlv.tag:X}")
    if end != len(data):
        raise CardProtocolError(f"{len(data) - end} stray bytes after tag {tag:X}")
    return tlv


def fields(tlv: Tlv) -> dict[int, bytes]:
    """The primitive children of a constructed TLV by tag; a repeated tag is an error."""
    out: dict[int, bytes] = {}
    for child in tlv.children():
        if child.tag in out:
            raise CardProtocolError(f"tag {child.tag:X} appears twice in {tlv.tag:X}")
        out[child.tag] = child.value
    return out


def encode(tag: int, value: bytes) -> bytes:
    """Encode one TLV (the card side and tests)."""
    if len(value) > MAX_LENGTH:
        raise ValueError("TLV value too long")
    tag_bytes = tag.to_bytes(2 if tag > 0xFF else 1, "big")
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    elif n <= 0xFF:
        length = bytes([0x81, n])
    else:
        length = bytes([0x82]) + n.to_bytes(2, "big")
    return tag_bytes + length + value


def encode_all(tag: int, children: list[tuple[int, bytes]]) -> bytes:
    return encode(tag, b"".join(encode(t, v) for t, v in children))
