"""The e-KTP card protocol, written against :class:`CardConnection` only.

Read sequence (the file map and encodings are documented in ``docs/ektp-card.md``):

1. SELECT DF ``7F0A`` (the e-KTP application), read EF ``6FF0`` (capability: chip
   serial, maximum response size, key version) which is readable without authentication.
2. Mutual authentication through the SAM: GET CHALLENGE → SAM BEGIN → EXTERNAL
   AUTHENTICATE; SAM CHALLENGE → INTERNAL AUTHENTICATE → SAM VERIFY.
3. Read EF ``6FF1`` biodata, ``6FF2`` photo, ``6FF3`` signature image, ``6FF4``/``6FF5``
   index-finger templates, ``6FF6`` the issuer's ECDSA P-256 signature over all of them;
   verify the signature with the pinned issuer key before anything is trusted.

Files are read in chunks with READ BINARY, extended-length when the reader and the chip
allow.  Every length is checked; anything unexpected is a :class:`CardProtocolError`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from drivers.card import apdu, tlv
from drivers.card.base import (
    SW,
    AuthenticationFailed,
    CardConnection,
    CardProtocolError,
    CardStatusError,
    DataNotAuthentic,
    Identity,
    NotAnEktp,
)
from drivers.card.sam import SecureAccessModule
from protocol.nik import mask_nik

log = logging.getLogger("drivers.card")

DF_EKTP = 0x7F0A
# The application's DF name (ISO/IEC 7816-4 tag 84).  The real chip's name is not
# published; this one is the simulator's own, in the proprietary (F) range of ISO/IEC
# 7816-5 so it can collide with no registered application.  The kiosk selects by file
# identifier and never depends on it.
DF_EKTP_NAME = bytes.fromhex("F0") + b"ADM-EKTP"
EF_CAPABILITY = 0x6FF0
EF_BIODATA = 0x6FF1
EF_PHOTO = 0x6FF2
EF_SIGNATURE_IMAGE = 0x6FF3
EF_FINGER_RIGHT = 0x6FF4
EF_FINGER_LEFT = 0x6FF5
EF_DIGITAL_SIGNATURE = 0x6FF6
SIGNED_FILES = (
    EF_CAPABILITY,
    EF_BIODATA,
    EF_PHOTO,
    EF_SIGNATURE_IMAGE,
    EF_FINGER_RIGHT,
    EF_FINGER_LEFT,
)

SHORT_CHUNK = 0xE0  # fits every short-APDU reader
MAX_FILE = 0x8000  # no e-KTP file is larger; a bigger claim is a damaged or hostile chip

# Outer tags of each file
TAG_CAPABILITY = 0x66
TAG_BIODATA = 0x61
TAG_PHOTO = 0x5F2E
TAG_SIGNATURE_IMAGE = 0x5F43
TAG_TEMPLATE = 0x7F2E
TAG_DIGITAL_SIGNATURE = 0x9E

# Biodata fields (context-specific primitive tags inside 61)
BIODATA_TAGS: dict[str, int] = {
    "nik": 0x80,
    "name": 0x81,
    "birth_place": 0x82,
    "birth_date": 0x83,
    "sex": 0x84,
    "blood_type": 0x85,
    "street": 0x86,
    "rt_rw": 0x87,
    "kelurahan": 0x88,
    "kecamatan": 0x89,
    "kabupaten": 0x8A,
    "province": 0x8B,
    "religion": 0x8C,
    "marital_status": 0x8D,
    "occupation": 0x8E,
    "citizenship": 0x8F,
    "expiry": 0x90,
}
FINGER_RIGHT_INDEX = 0x02  # ISO/IEC 19794-2 finger positions
FINGER_LEFT_INDEX = 0x07


@dataclass(frozen=True)
class Capability:
    serial: bytes
    version: int
    max_response: int
    key_version: int


@dataclass(frozen=True)
class Biodata:
    nik: str
    name: str
    birth_place: str
    birth_date: dt.date
    sex: str
    blood_type: str
    street: str
    rt_rw: str
    kelurahan: str
    kecamatan: str
    kabupaten: str
    province: str
    religion: str
    marital_status: str
    occupation: str
    citizenship: str
    expiry: str  # "SEUMUR HIDUP" (lifetime) or an ISO date

    def __repr__(self) -> str:  # personal data stays out of logs and tracebacks
        return f"Biodata(nik={mask_nik(self.nik)}, ...)"


@dataclass(frozen=True)
class ChipEvidence:
    """What shows that this read was of a real chip, without personal data: the digest of
    the signed files and their signature as read, and a digest of the SAM's
    authentication challenges.  The kiosk sends it with an e-KTP session (server audit)."""

    signed_data_sha256: str
    sam_session: str


@dataclass(frozen=True, repr=False)
class EktpData:
    """Everything read from a chip.  Kept in memory only, for one session."""

    capability: Capability
    biodata: Biodata
    photo: bytes
    signature_image: bytes
    templates: tuple[bytes, bytes]  # right index, left index
    evidence: ChipEvidence

    @property
    def identity(self) -> Identity:
        return Identity(nik=self.biodata.nik, name=self.biodata.name)

    def __repr__(self) -> str:
        return f"EktpData(nik={mask_nik(self.biodata.nik)}, photo={len(self.photo)} B)"


@dataclass
class ReadStats:
    """What a read cost: APDUs, bytes received, and seconds per phase."""

    apdus: int = 0
    bytes_in: int = 0
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.phases.values())


class _Counting:
    """Wraps a connection to count APDUs and received bytes."""

    def __init__(self, conn: CardConnection, stats: ReadStats) -> None:
        self._conn = conn
        self._stats = stats

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        data, sw = self._conn.transmit(apdu)
        self._stats.apdus += 1
        self._stats.bytes_in += len(data) + 2
        return data, sw

    def transaction(self) -> AbstractContextManager[None]:
        return self._conn.transaction()


def select_apdu(file_id: int, *, df: bool) -> bytes:
    """SELECT by file identifier (P1=01 for a DF, 02 for an EF under the current DF)."""
    return apdu.encode(0x00, 0xA4, 0x01 if df else 0x02, 0x0C, file_id.to_bytes(2, "big"))


def read_binary_apdu(offset: int, length: int) -> bytes:
    """READ BINARY; lengths over 256 use the extended-length form."""
    if not 0 <= offset <= 0x7FFF or not 1 <= length <= 0xFFFF:
        raise ValueError("offset or length out of range for READ BINARY")
    return apdu.encode(0x00, 0xB0, offset >> 8, offset & 0xFF, le=length)


def select(conn: CardConnection, file_id: int, *, df: bool) -> None:
    """SELECT a DF (the application) or an EF in it, without asking for its FCI."""
    kind = "DF" if df else "EF"
    apdu.send_apdu(
        conn,
        0x00,
        0xA4,
        0x01 if df else 0x02,
        0x0C,
        file_id.to_bytes(2, "big"),
        what=f"SELECT {kind} {file_id:04X}",
    )


def read_binary(conn: CardConnection, file_id: int, offset: int, length: int) -> bytes:
    """READ BINARY ``length`` bytes at ``offset`` of the current EF (fewer at its end)."""
    if not 0 <= offset <= 0x7FFF or not 1 <= length <= 0xFFFF:
        raise ValueError("offset or length out of range for READ BINARY")
    answer = apdu.send_apdu(
        conn,
        0x00,
        0xB0,
        offset >> 8,
        offset & 0xFF,
        le=length,
        what=f"READ BINARY {file_id:04X}",
        accept=(SW.OK, SW.END_OF_FILE),
    )
    if len(answer.data) > length:
        raise CardProtocolError(
            f"EF {file_id:04X}: {len(answer.data)} bytes returned, asked {length}"
        )
    return answer.data


def read_file(conn: CardConnection, file_id: int, chunk: int = SHORT_CHUNK) -> bytes:
    """Select ``file_id`` in the current DF and read its one TLV object whole."""
    select(conn, file_id, df=False)
    data = read_binary(conn, file_id, 0, chunk)
    _, length, header = tlv.read_header(data)
    total = header + length
    if total > MAX_FILE:
        raise CardProtocolError(f"EF {file_id:04X} claims {total} bytes, more than a chip holds")
    buf = bytearray(data[:total])
    while len(buf) < total:
        want = min(chunk, total - len(buf))
        part = read_binary(conn, file_id, len(buf), want)
        if not part:
            raise CardProtocolError(f"EF {file_id:04X}: empty chunk at offset {len(buf)}")
        buf += part
    return bytes(buf)


def parse_capability(raw: bytes) -> Capability:
    f = tlv.fields(tlv.parse_single(raw, TAG_CAPABILITY))
    try:
        serial, version, max_resp, key_version = f[0x80], f[0x81], f[0x82], f[0x83]
    except KeyError as exc:
        raise CardProtocolError(f"capability lacks tag {exc.args[0]:X}") from None
    if len(serial) != 8 or len(version) != 1 or len(max_resp) != 2 or len(key_version) != 1:
        raise CardProtocolError("capability field of the wrong size")
    return Capability(serial, version[0], int.from_bytes(max_resp, "big"), key_version[0])


def _text(f: dict[int, bytes], key: str) -> str:
    try:
        return f[BIODATA_TAGS[key]].decode("utf-8").strip()
    except KeyError:
        raise CardProtocolError(f"biodata lacks {key}") from None
    except UnicodeDecodeError:
        raise CardProtocolError(f"biodata {key} is not valid UTF-8") from None


def parse_biodata(raw: bytes) -> Biodata:
    """Decode EF 6FF1 strictly."""
    f = tlv.fields(tlv.parse_single(raw, TAG_BIODATA))
    values = {key: _text(f, key) for key in BIODATA_TAGS}
    nik = values["nik"]
    if len(nik) != 16 or not nik.isascii() or not nik.isdigit():
        raise CardProtocolError("NIK on the card is not 16 digits")
    if not values["name"]:
        raise CardProtocolError("name on the card is empty")
    if values["sex"] not in ("LAKI-LAKI", "PEREMPUAN"):
        raise CardProtocolError("sex on the card is not LAKI-LAKI or PEREMPUAN")
    try:
        birth = dt.datetime.strptime(values.pop("birth_date"), "%Y%m%d").date()
    except ValueError:
        raise CardProtocolError("birth date on the card is not YYYYMMDD") from None
    return Biodata(birth_date=birth, **values)


def parse_template(raw: bytes, finger: int) -> bytes:
    f = tlv.fields(tlv.parse_single(raw, TAG_TEMPLATE))
    if f.get(0x81) != bytes([finger]):
        raise CardProtocolError(f"template is not for finger position {finger}")
    template = f.get(TAG_PHOTO)
    if not template:
        raise CardProtocolError("template file holds no template")
    return template


def signed_digest_input(files: dict[int, bytes]) -> bytes:
    """The bytes the issuer signs: every signed file, whole, in file-map order."""
    return b"".join(files[fid] for fid in SIGNED_FILES)


def verify_signature(
    files: dict[int, bytes], signature_file: bytes, issuer_key: ec.EllipticCurvePublicKey
) -> None:
    der = tlv.parse_single(signature_file, TAG_DIGITAL_SIGNATURE).value
    try:
        issuer_key.verify(der, signed_digest_input(files), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise DataNotAuthentic("the chip's data does not match its digital signature") from None


def authenticate(conn: CardConnection, sam: SecureAccessModule, serial: bytes) -> str:
    """Mutual authentication of chip and SAM (raises :class:`AuthenticationFailed`);
    returns the session's identifier (a digest of both challenges, hex).

    The SAM is held in one transaction from BEGIN to VERIFY: its state for this chip
    must not be replaced by another user of the SAM between the steps.
    """
    rnd_ic = apdu.send_apdu(conn, 0x00, 0x84, 0x00, 0x00, le=8, what="GET CHALLENGE").data
    if len(rnd_ic) != 8:
        raise CardProtocolError(f"chip challenge of {len(rnd_ic)} bytes, expected 8")
    with sam.transaction():
        cryptogram = sam.external_cryptogram(serial, rnd_ic)
        external = apdu.send_apdu(
            conn,
            0x00,
            0x82,
            0x00,
            0x00,
            cryptogram,
            what="EXTERNAL AUTHENTICATE",
            accept=(SW.OK, SW.VERIFICATION_FAILED, SW.SECURITY_STATUS),
        )
        if external.sw != SW.OK:
            raise AuthenticationFailed("the chip refused the SAM (wrong SAM keys or foreign chip)")
        rnd_s = sam.challenge()
        response = apdu.send_apdu(
            conn, 0x00, 0x88, 0x00, 0x00, rnd_s, le=16, what="INTERNAL AUTHENTICATE"
        ).data
        if not sam.verify(response):
            raise AuthenticationFailed("the chip failed the SAM's check (cloned or damaged chip)")
    return hashlib.sha256(b"adm-sam-session" + serial + rnd_ic + rnd_s).hexdigest()[:32]


def select_application(conn: CardConnection) -> None:
    try:
        select(conn, DF_EKTP, df=True)
    except CardStatusError as exc:
        if exc.sw in (SW.FILE_NOT_FOUND, SW.INS_NOT_SUPPORTED, SW.CLA_NOT_SUPPORTED, SW.WRONG_P1P2):
            raise NotAnEktp(
                f"not an e-KTP: the card has no e-KTP application (status {exc.sw:04X})"
            ) from None
        raise


def read_card(
    conn: CardConnection,
    sam: SecureAccessModule,
    issuer_key: ec.EllipticCurvePublicKey,
    *,
    extended: bool = True,
    clock: Callable[[], float] = time.perf_counter,
    stats: ReadStats | None = None,
) -> EktpData:
    """Read and verify the whole chip.  ``extended``: the reader takes extended APDUs."""
    stats = stats if stats is not None else ReadStats()
    counted = _Counting(conn, stats)
    with counted.transaction():  # no other connection selects files in between
        return _read_held(counted, sam, issuer_key, extended, stats, clock)


def _read_held(
    counted: CardConnection,
    sam: SecureAccessModule,
    issuer_key: ec.EllipticCurvePublicKey,
    extended: bool,
    stats: ReadStats,
    clock: Callable[[], float],
) -> EktpData:
    t = clock()

    def phase(name: str) -> None:
        nonlocal t
        now = clock()
        stats.phases[name] = stats.phases.get(name, 0.0) + (now - t)
        t = now

    select_application(counted)
    files = {EF_CAPABILITY: read_file(counted, EF_CAPABILITY)}
    cap = parse_capability(files[EF_CAPABILITY])
    chunk = min(cap.max_response, 0xFFFF) if extended else SHORT_CHUNK
    chunk = max(1, min(chunk, MAX_FILE))
    phase("select")
    sam_session = authenticate(counted, sam, cap.serial)
    phase("authenticate")
    for fid, name in (
        (EF_BIODATA, "biodata"),
        (EF_PHOTO, "photo"),
        (EF_SIGNATURE_IMAGE, "signature_image"),
        (EF_FINGER_RIGHT, "templates"),
        (EF_FINGER_LEFT, "templates"),
    ):
        files[fid] = read_file(counted, fid, chunk)
        phase(name)
    signature = read_file(counted, EF_DIGITAL_SIGNATURE, chunk)
    verify_signature(files, signature, issuer_key)
    signed_hash = hashlib.sha256(signed_digest_input(files) + signature).hexdigest()
    phase("verify")
    data = EktpData(
        capability=cap,
        biodata=parse_biodata(files[EF_BIODATA]),
        photo=tlv.parse_single(files[EF_PHOTO], TAG_PHOTO).value,
        signature_image=tlv.parse_single(files[EF_SIGNATURE_IMAGE], TAG_SIGNATURE_IMAGE).value,
        templates=(
            parse_template(files[EF_FINGER_RIGHT], FINGER_RIGHT_INDEX),
            parse_template(files[EF_FINGER_LEFT], FINGER_LEFT_INDEX),
        ),
        evidence=ChipEvidence(signed_hash, sam_session),
    )
    phase("parse")
    log.info(
        "e-KTP read: NIK %s, %d APDUs, %.0f ms",
        mask_nik(data.biodata.nik),
        stats.apdus,
        stats.total * 1000,
    )
    return data
