"""Command APDUs: one place that frames a command, follows the card's response chaining
and turns status words into errors.

Every command the kiosk sends to a chip or a SAM goes through :func:`send_apdu`, because
real readers and cards answer in ways a hand-built ``transmit`` misses:

* ``61xx`` (T=0 cards and most SAMs): the answer waits in the card; fetch it with GET
  RESPONSE, possibly several times (``6100`` means 256 bytes or more are left).
* ``6Cxx``: the Le was wrong; the card tells the exact length and the command is sent
  again once with it.
* Any other status not accepted by the caller becomes a :class:`CardStatusError` whose
  message says what the status word means (ISO/IEC 7816-4), so a technician reading a
  log line knows a missing file from a security condition.

:func:`encode` and :func:`decode` are the ISO/IEC 7816-3 cases 1-4 in short and extended
form; the virtual cards decode with the same code the kiosk encodes with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from drivers.card.base import SW, CardConnection, CardProtocolError, CardStatusError

INS_GET_RESPONSE = 0xC0
MAX_CHAINED = 0x10000 + 0x1000  # no e-KTP or SAM answer comes near this
MAX_GET_RESPONSE = 300  # rounds; a card that keeps saying 61xx past this is broken

MEANINGS: dict[int, str] = {
    0x6281: "part of the returned data may be corrupted",
    0x6282: "end of file reached before Le bytes",
    0x6283: "selected file invalidated",
    0x6300: "verification failed",
    0x6581: "memory failure",
    0x6700: "wrong length",
    0x6881: "logical channel not supported",
    0x6882: "secure messaging not supported",
    0x6982: "security status not satisfied",
    0x6983: "authentication method blocked",
    0x6984: "reference data not usable",
    0x6985: "conditions of use not satisfied",
    0x6986: "command not allowed (no current EF)",
    0x6A80: "incorrect data field",
    0x6A81: "function not supported",
    0x6A82: "file or application not found",
    0x6A86: "incorrect P1-P2",
    0x6A88: "referenced data not found",
    0x6B00: "wrong P1-P2",
    0x6D00: "instruction not supported",
    0x6E00: "class not supported",
    0x6F00: "no precise diagnosis",
}


def meaning(sw: int) -> str:
    """What status word ``sw`` means, in words (``63Cx`` and unknown words included)."""
    if sw in MEANINGS:
        return MEANINGS[sw]
    if sw & 0xFFF0 == 0x63C0:
        return f"verification failed, {sw & 0x0F} tries left"
    if sw >> 8 == 0x61:
        return "response bytes still available"
    if sw >> 8 == 0x6C:
        return "wrong Le"
    return "unknown status"


def status_error(what: str, sw: int) -> CardStatusError:
    """The error for a command ``what`` refused with ``sw``."""
    return CardStatusError(what, sw, meaning(sw))


@dataclass(frozen=True)
class Command:
    """A decoded command APDU; ``le`` is None for no Le field, else 1..65536."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None


def encode(cla: int, ins: int, p1: int, p2: int, data: bytes = b"", le: int | None = None) -> bytes:
    """Frame a command: short form when data <= 255 bytes and Le <= 256, else extended."""
    for name, value in (("CLA", cla), ("INS", ins), ("P1", p1), ("P2", p2)):
        if not 0 <= value <= 0xFF:
            raise ValueError(f"{name} {value} is not a byte")
    if len(data) > 0xFFFF:
        raise ValueError(f"{len(data)} bytes of command data do not fit an APDU")
    if le is not None and not 1 <= le <= 0x10000:
        raise ValueError(f"Le {le} out of range 1..65536")
    head = bytes([cla, ins, p1, p2])
    if len(data) <= 0xFF and (le is None or le <= 0x100):
        out = head
        if data:
            out += bytes([len(data)]) + data
        if le is not None:
            out += bytes([le & 0xFF])
        return out
    out = head + b"\x00"
    if data:
        out += len(data).to_bytes(2, "big") + data
    if le is not None:
        out += (le & 0xFFFF).to_bytes(2, "big")
    return out


def decode(apdu: bytes) -> Command:
    """Parse a command APDU (cases 1-4, short or extended); :class:`ValueError` if it is
    none of them."""
    if len(apdu) < 4:
        raise ValueError("an APDU has at least four bytes")
    cla, ins, p1, p2 = apdu[:4]
    body = apdu[4:]
    if not body:
        return Command(cla, ins, p1, p2)
    if len(body) == 1:
        return Command(cla, ins, p1, p2, le=body[0] or 0x100)
    if body[0] != 0:
        lc = body[0]
        if len(body) == 1 + lc:
            return Command(cla, ins, p1, p2, body[1:])
        if len(body) == 2 + lc:
            return Command(cla, ins, p1, p2, body[1:-1], body[-1] or 0x100)
        raise ValueError("short APDU whose length matches neither Lc nor Lc + Le")
    if len(body) == 3:
        return Command(cla, ins, p1, p2, le=int.from_bytes(body[1:3], "big") or 0x10000)
    if len(body) < 3:
        raise ValueError("extended APDU cut short")
    lc = int.from_bytes(body[1:3], "big")
    if lc == 0:
        raise ValueError("extended APDU with Lc 0")
    if len(body) == 3 + lc:
        return Command(cla, ins, p1, p2, body[3:])
    if len(body) == 5 + lc:
        le = int.from_bytes(body[-2:], "big") or 0x10000
        return Command(cla, ins, p1, p2, body[3:-2], le)
    raise ValueError("extended APDU whose length matches neither Lc nor Lc + Le")


@dataclass(frozen=True)
class Response:
    """A complete answer: every chained part joined, and the final status word."""

    data: bytes
    sw: int


def get_response_class(cla: int) -> int:
    """The class of the GET RESPONSE that fetches a command's answer: the command's own
    (its logical channel, its secure messaging, a proprietary class such as a SAM's 80),
    without the command-chaining bit, which belongs to the command, not to the fetch."""
    return cla & 0xEF


def send_apdu(
    conn: CardConnection,
    cla: int,
    ins: int,
    p1: int,
    p2: int,
    data: bytes = b"",
    le: int | None = None,
    *,
    what: str,
    accept: Iterable[int] = (SW.OK,),
) -> Response:
    """Send one command and return its whole answer.

    Follows ``6Cxx`` (once) and ``61xx`` (GET RESPONSE until the card is done, bounded);
    raises :class:`CardStatusError` for a final status word not in ``accept`` and
    :class:`CardProtocolError` for a card that chains without end.
    """
    answer, sw = conn.transmit(encode(cla, ins, p1, p2, data, le))
    if sw >> 8 == 0x6C:
        exact = sw & 0xFF or 0x100
        answer, sw = conn.transmit(encode(cla, ins, p1, p2, data, exact))
        if sw >> 8 == 0x6C:
            raise CardProtocolError(f"{what}: the card asked twice for another Le")
    out = bytearray(answer)
    rounds = 0
    while sw >> 8 == 0x61:
        rounds += 1
        if rounds > MAX_GET_RESPONSE or len(out) > MAX_CHAINED:
            raise CardProtocolError(f"{what}: the card keeps answering 61xx")
        more = sw & 0xFF or 0x100
        get = encode(get_response_class(cla), INS_GET_RESPONSE, 0, 0, le=more)
        part, sw = conn.transmit(get)
        if sw >> 8 == 0x6C:  # the card miscounted what it holds: ask for what it says
            part, sw = conn.transmit(
                encode(get_response_class(cla), INS_GET_RESPONSE, 0, 0, le=sw & 0xFF or 0x100)
            )
        out += part
    if sw not in set(accept):
        raise status_error(what, sw)
    return Response(bytes(out), sw)
