"""A virtual e-KTP: the card side of the protocol, answering APDUs from memory.

Used by the vpcd emulator (``drivers.card.vicc``, through the real pcscd) and by the
in-process ``sim`` backend, so both exercise the same card behaviour.
"""

from __future__ import annotations

from drivers.card.base import SW, Identity
from drivers.card.ektp import DF_EKTP, EF_BIODATA, encode_biodata


def _atr(historical: bytes) -> bytes:
    """A contactless-style ATR (T=1) with a correct TCK checksum."""
    body = bytes([0x80 | len(historical), 0x80, 0x01]) + historical
    tck = 0
    for b in body:
        tck ^= b
    return bytes([0x3B]) + body + bytes([tck])


ATR = _atr(b"ADM-eKTP")


def _sw(sw: int, data: bytes = b"") -> bytes:
    return data + sw.to_bytes(2, "big")


class VirtualEktp:
    """Card state: which DF/EF is selected, and the files."""

    def __init__(self, identity: Identity) -> None:
        self.files = {EF_BIODATA: encode_biodata(identity)}
        self.atr = ATR
        self.reset()

    def reset(self) -> None:
        self._df_selected = False
        self._ef: int | None = None

    def process(self, apdu: bytes) -> bytes:
        """Answer one command APDU with response data + status word."""
        if len(apdu) < 4:
            return _sw(SW.WRONG_LENGTH)
        cla, ins, p1, p2 = apdu[:4]
        if cla != 0x00:
            return _sw(SW.CLA_NOT_SUPPORTED)
        if ins == 0xA4:
            if len(apdu) < 7 or apdu[4] != 2:
                return _sw(SW.WRONG_LENGTH)
            fid = int.from_bytes(apdu[5:7], "big")
            if p1 == 0x01 and fid == DF_EKTP:
                self._df_selected, self._ef = True, None
                return _sw(SW.OK)
            if p1 == 0x02 and self._df_selected and fid in self.files:
                self._ef = fid
                return _sw(SW.OK)
            return _sw(SW.FILE_NOT_FOUND)
        if ins == 0xB0:
            if self._ef is None:
                return _sw(SW.SECURITY_STATUS)
            if len(apdu) != 5:
                return _sw(SW.WRONG_LENGTH)
            offset = (p1 << 8) | p2
            le = apdu[4] or 256
            content = self.files[self._ef]
            if offset >= len(content):
                return _sw(SW.WRONG_P1P2)
            chunk = content[offset : offset + le]
            return _sw(SW.OK if len(chunk) == le else SW.END_OF_FILE, chunk)
        return _sw(SW.INS_NOT_SUPPORTED)
