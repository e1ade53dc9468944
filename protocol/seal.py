"""The seal printed on every document: a link that also verifies offline.

The QR on a document encodes ``HTTPS://<HOST>/V/<TOKEN>``.  A phone camera opens the
link and the office's public page checks the document's state online; a verifier
without network (or the offline page, ``adm-server verifier-page``) checks the token's
Ed25519 signature against the issuer keys it holds.

Why this shape:

* **Alphanumeric QR mode.**  A QR symbol packs the 45 characters ``0-9 A-Z space $ % *
  + - . / :`` at 5.5 bits each, against 8 bits in byte mode.  An upper-case scheme, host
  and path, with the token in RFC 4648 base32 (``A-Z2-7``, no padding), keeps the whole
  URL in that set.  Base45 (the EU certificate's choice) is 6 % denser but its alphabet
  has space, ``%`` and ``+``, which a URL cannot carry as they are.
* **A fixed binary layout, not CBOR/COSE.**  The token has five fields, always the same;
  CBOR's type and length bytes and COSE's protected header would add about 12 bytes
  (20 base32 characters, most of a QR version) to say what the format byte already
  says, and a fixed layout is 30 lines to parse in the offline page's JavaScript.  The
  first byte versions the layout, as ICAO's Visible Digital Seal header does.

Layout (big-endian)::

    0       format    1 byte   0x01
    1..4    key id    4 bytes  first bytes of SHA-256 of the raw Ed25519 public key
    5       kind      1 byte   protocol.kinds.KIND_CODES (append-only)
    6..7    issued    2 bytes  days since 1970-01-01
    8..n    number    2 bytes per 3 characters of the document number (ALPHABET)
    n..n+63 signature Ed25519 over DOMAIN + bytes 0..n

The signature alone is 64 bytes (103 base32 characters): a KK's link is about 160
characters, a version-7 symbol at error correction level M.  What the token does not
carry (the holder's name) the online page shows, masked, from the register.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocol.kinds import KIND_CODES, KIND_OF_CODE

FORMAT = 1
DOMAIN = b"ADM-SEAL\x01"  # signed before the bytes: a seal is never another signed thing
# Index 0 pads the last group; a number is these 39 characters.
ALPHABET = "\x000123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-/."
BASE = len(ALPHABET)  # 40: 40**3 = 64000 < 65536, three characters in two bytes
HEADER = 8
SIGNATURE = 64
KEY_ID = 4
MAX_NUMBER = 60  # the register's column
# The longest token a well-formed seal can be (a 60-character number), in base32.
MAX_TOKEN = -(-((HEADER + 2 * (MAX_NUMBER // 3) + SIGNATURE) * 8) // 5)
EPOCH = dt.date(1970, 1, 1)
PATH = "/V/"  # the public page answers /v/ and /V/


class SealError(ValueError):
    """Not a seal: the text is malformed, or its signature does not verify."""


@dataclass(frozen=True)
class Seal:
    """What a token says, before anything about who signed it is known."""

    key_id: bytes
    kind: str
    issued: dt.date
    number: str
    signed: bytes  # DOMAIN + the header and number, exactly as signed
    signature: bytes

    def verify(self, public: Ed25519PublicKey) -> None:
        """SealError unless ``public`` signed this token."""
        try:
            public.verify(self.signature, self.signed)
        except InvalidSignature:
            raise SealError("the signature does not verify: altered, or another key") from None


def raw_key_id(public: Ed25519PublicKey) -> bytes:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:KEY_ID]


def pack_number(number: str) -> bytes:
    """Three characters of ALPHABET (after index 0) in two bytes."""
    if not 0 < len(number) <= MAX_NUMBER:
        raise SealError(f"a document number is 1 to {MAX_NUMBER} characters")
    digits = []
    for ch in number:
        at = ALPHABET.find(ch)
        if at <= 0:
            raise SealError(f"a document number is A-Z, 0-9, '-', '/' and '.': not {ch!r}")
        digits.append(at)
    digits += [0] * (-len(digits) % 3)
    out = bytearray()
    for i in range(0, len(digits), 3):
        a, b, c = digits[i : i + 3]
        out += (a * BASE * BASE + b * BASE + c).to_bytes(2, "big")
    return bytes(out)


def unpack_number(data: bytes) -> str:
    if not data or len(data) % 2:
        raise SealError("the number field is not whole")
    chars: list[int] = []
    for i in range(0, len(data), 2):
        value = int.from_bytes(data[i : i + 2], "big")
        if value >= BASE**3:
            raise SealError("the number field is out of range")
        chars += [value // (BASE * BASE), value // BASE % BASE, value % BASE]
    while chars and chars[-1] == 0:
        chars.pop()
    if not chars or 0 in chars or len(chars) <= len(data) // 2 * 3 - 3:
        raise SealError("the number field is padded wrongly")
    return "".join(ALPHABET[c] for c in chars)


def seal(private: Ed25519PrivateKey, kind: str, issued: dt.date, number: str) -> str:
    """The token (base32, upper case, no padding) of a document."""
    try:
        code = KIND_CODES[kind]
    except KeyError:
        raise SealError(f"no seal code for document kind {kind!r}") from None
    days = (issued - EPOCH).days
    if not 0 <= days < 1 << 16:
        raise SealError(f"issue date {issued} is outside what a seal can carry")
    body = (
        bytes([FORMAT])
        + raw_key_id(private.public_key())
        + bytes([code])
        + days.to_bytes(2, "big")
        + pack_number(number)
    )
    return b32(body + private.sign(DOMAIN + body))


def url(host: str, token: str) -> str:
    """The link a QR carries: upper case, so the whole of it is QR alphanumeric."""
    return f"HTTPS://{host.upper()}{PATH}{token}"


def b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=")


def unb32(text: str) -> bytes:
    if len(text) > MAX_TOKEN or len(text) % 8 in (1, 3, 6):
        raise SealError("not a seal token (length)")
    try:
        return base64.b32decode(text.upper() + "=" * (-len(text) % 8))
    except ValueError:
        raise SealError("not a seal token (characters)") from None


def token_of(text: str) -> str:
    """The token in a scanned text: a seal URL (any case, any host) or the bare token."""
    text = text.strip()
    lower = text.lower()
    if lower.startswith(("https://", "http://")):
        rest = text.split("://", 1)[1]
        _, slash, path = rest.partition("/")
        if not slash or not path.lower().startswith("v/"):
            raise SealError("the link is not a document check (/v/...)")
        text = path[2:].split("?", 1)[0].split("#", 1)[0].rstrip("/")
    return text


def read(token: str) -> Seal:
    """The fields of a token, unverified (SealError when it is not one)."""
    data = unb32(token)
    if len(data) < HEADER + 2 + SIGNATURE:
        raise SealError("not a seal token (too short)")
    if data[0] != FORMAT:
        raise SealError(f"seal format {data[0]} is not known here")
    kind = KIND_OF_CODE.get(data[5])
    if kind is None:
        raise SealError(f"document kind code {data[5]} is not known here")
    body, signature = data[:-SIGNATURE], data[-SIGNATURE:]
    issued = EPOCH + dt.timedelta(days=int.from_bytes(data[6:8], "big"))
    number = unpack_number(body[HEADER:])
    return Seal(data[1:5], kind, issued, number, DOMAIN + body, signature)


def check(token: str, keys: dict[bytes, Ed25519PublicKey]) -> tuple[Seal, bytes]:
    """The seal and the id of the key (in ``keys``) that signed it.  SealError for
    anything else, "unknown key" included: the caller tells apart a seal that is well
    formed but signed by no key it knows (``read`` succeeds) from one that is not."""
    found = read(token)
    public = keys.get(found.key_id)
    if public is None:
        raise SealError("signed with a key not known here")
    found.verify(public)
    return found, found.key_id
