"""The e-KTP card protocol, written against :class:`CardConnection` only.

Skeleton scope: select the application DF ``7F0A``, select the biodata EF ``6FF1`` and
read it in chunks with READ BINARY.  The biodata file is encoded as::

    61 LL LL            container, 2-byte big-endian length of what follows
      01 L  NIK         16 ASCII digits
      02 L  NAME        UTF-8

Every length is checked against the buffer; anything else is a :class:`CardProtocolError`.
The full file map (photo, templates, signature) and SAM authentication replace this later.
"""

from __future__ import annotations

import logging

from drivers.card.base import (
    SW,
    CardConnection,
    CardProtocolError,
    CardStatusError,
    Identity,
)

log = logging.getLogger("drivers.card")

DF_EKTP = 0x7F0A
EF_BIODATA = 0x6FF1
CHUNK = 0xE0  # bytes per READ BINARY: fits every short-APDU reader
MAX_FILE = 0x2000  # the chip holds 8 KB; a longer claim is a foreign or damaged card

TAG_CONTAINER = 0x61
TAG_NIK = 0x01
TAG_NAME = 0x02


def select_apdu(file_id: int, *, df: bool) -> bytes:
    """SELECT by file identifier (P1=01 for a DF, 02 for an EF under the current DF)."""
    return bytes([0x00, 0xA4, 0x01 if df else 0x02, 0x0C, 0x02]) + file_id.to_bytes(2, "big")


def read_binary_apdu(offset: int, length: int) -> bytes:
    if not 0 <= offset <= 0x7FFF or not 1 <= length <= 0x100:
        raise ValueError("offset or length out of range for READ BINARY")
    return bytes([0x00, 0xB0, offset >> 8, offset & 0xFF, length & 0xFF])


def _check(conn: CardConnection, apdu: bytes, what: str) -> bytes:
    data, sw = conn.transmit(apdu)
    if sw != SW.OK:
        raise CardStatusError(what, sw)
    return data


def read_file(conn: CardConnection, file_id: int) -> bytes:
    """Select ``file_id`` in the current DF and read it whole, container header first."""
    _check(conn, select_apdu(file_id, df=False), f"SELECT EF {file_id:04X}")
    header = _check(conn, read_binary_apdu(0, 3), f"READ BINARY {file_id:04X}")
    if len(header) != 3 or header[0] != TAG_CONTAINER:
        raise CardProtocolError(f"EF {file_id:04X} does not start with a container")
    total = int.from_bytes(header[1:3], "big")
    if total > MAX_FILE:
        raise CardProtocolError(f"EF {file_id:04X} claims {total} bytes, more than the chip holds")
    body = bytearray()
    while len(body) < total:
        want = min(CHUNK, total - len(body))
        chunk = _check(conn, read_binary_apdu(3 + len(body), want), f"READ BINARY {file_id:04X}")
        if not chunk or len(chunk) > want:
            raise CardProtocolError(f"EF {file_id:04X}: chunk of {len(chunk)} bytes, asked {want}")
        body += chunk
    return bytes(body)


def parse_tlv(data: bytes) -> dict[int, bytes]:
    """Parse a flat run of 1-byte-tag, 1-byte-length entries; duplicates are an error."""
    out: dict[int, bytes] = {}
    i = 0
    while i < len(data):
        if i + 2 > len(data):
            raise CardProtocolError("truncated TLV header")
        tag, length = data[i], data[i + 1]
        if i + 2 + length > len(data):
            raise CardProtocolError(f"TLV {tag:02X} runs past the end of the file")
        if tag in out:
            raise CardProtocolError(f"TLV {tag:02X} appears twice")
        out[tag] = data[i + 2 : i + 2 + length]
        i += 2 + length
    return out


def encode_biodata(identity: Identity) -> bytes:
    """The biodata file for ``identity`` (used by the virtual card and by tests)."""
    body = bytearray()
    for tag, value in ((TAG_NIK, identity.nik.encode()), (TAG_NAME, identity.name.encode())):
        if len(value) > 0xFF:
            raise ValueError(f"field {tag:02X} longer than 255 bytes")
        body += bytes([tag, len(value)]) + value
    return bytes([TAG_CONTAINER]) + len(body).to_bytes(2, "big") + bytes(body)


def parse_biodata(body: bytes) -> Identity:
    """Decode the biodata container body into an :class:`Identity`, strictly."""
    fields = parse_tlv(body)
    try:
        nik = fields[TAG_NIK].decode("ascii")
        name = fields[TAG_NAME].decode("utf-8").strip()
    except KeyError as exc:
        raise CardProtocolError(f"biodata lacks field {exc.args[0]:02X}") from None
    except UnicodeDecodeError:
        raise CardProtocolError("biodata text is not valid UTF-8") from None
    if len(nik) != 16 or not nik.isdigit():
        raise CardProtocolError("NIK on the card is not 16 digits")
    if not name:
        raise CardProtocolError("name on the card is empty")
    return Identity(nik=nik, name=name)


def read_identity(conn: CardConnection) -> Identity:
    """Select the e-KTP application and read the holder's identity."""
    _check(conn, select_apdu(DF_EKTP, df=True), "SELECT DF 7F0A")
    identity = parse_biodata(read_file(conn, EF_BIODATA))
    return identity
