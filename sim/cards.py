"""Issue virtual e-KTP chips for the demo citizens: biodata, a generated photo, a signature
image, two minutiae templates, all signed with the (test) issuer key.

Faults for the simulator are set here too: a blank or foreign card, tampered biodata (a
byte changed after signing), a card pulled off the reader after N reads, a slow card.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image, ImageDraw

from drivers.card import crypto, tlv
from drivers.card.ektp import (
    BIODATA_TAGS,
    EF_BIODATA,
    EF_CAPABILITY,
    EF_DIGITAL_SIGNATURE,
    EF_FINGER_LEFT,
    EF_FINGER_RIGHT,
    EF_PHOTO,
    EF_SIGNATURE_IMAGE,
    FINGER_LEFT_INDEX,
    FINGER_RIGHT_INDEX,
    TAG_BIODATA,
    TAG_CAPABILITY,
    TAG_DIGITAL_SIGNATURE,
    TAG_PHOTO,
    TAG_SIGNATURE_IMAGE,
    TAG_TEMPLATE,
    signed_digest_input,
)
from drivers.card.virtual import CardImage
from sim import keys
from sim.population import FAMILIES, Member

FAULTS = ("blank", "foreign", "tampered", "pulled", "slow")
ADULT_ON = dt.date(2026, 11, 28)


def card_holders() -> list[Member]:
    """Demo citizens old enough (17) to hold an e-KTP, with their family's address."""
    out = []
    for fam in FAMILIES:
        for m in fam["members"]:
            born = dt.date.fromisoformat(m["birth_date"])
            age = (
                ADULT_ON.year
                - born.year
                - ((ADULT_ON.month, ADULT_ON.day) < (born.month, born.day))
            )
            if age >= 17:
                out.append({**m, **{f"addr_{k}": v for k, v in fam["address"].items()}})
    return out


def holder(nik: str) -> Member:
    for person in card_holders():
        if person["nik"] == nik:
            return person
    raise KeyError(f"no demo e-KTP holder with NIK {nik}")


def _rng(nik: str, what: str) -> random.Random:
    return random.Random(hashlib.sha256(f"{nik}/{what}".encode()).digest())


def photo(nik: str, sex: str) -> bytes:
    """A generated passport-style portrait (JPEG, ~15-20 KB), the same for the same NIK."""
    rng = _rng(nik, "photo")
    w, h = 300, 400
    img = Image.new("RGB", (w, h), (200, 30, 40) if rng.random() < 0.5 else (40, 80, 190))
    d = ImageDraw.Draw(img)
    skin = rng.choice([(224, 172, 105), (198, 134, 66), (241, 194, 125), (141, 85, 36)])
    cloth = rng.choice([(30, 30, 30), (240, 240, 240), (60, 60, 110)])
    hair = (20, 15, 10)
    scarf = sex == "PEREMPUAN" and rng.random() < 0.6
    scarf_colour = rng.choice([(90, 20, 60), (20, 60, 90), (230, 230, 220)])
    d.ellipse((30, 300, 270, 520), fill=cloth)  # shoulders
    if scarf:
        d.ellipse((65, 70, 235, 330), fill=scarf_colour)  # headscarf around the face
    d.rectangle((125, 240, 175, 310), fill=skin)  # neck
    d.ellipse((85, 90, 215, 260), fill=skin)  # face
    d.pieslice((85, 80, 215, 200), 180, 360, fill=scarf_colour if scarf else hair)
    for x in (120, 165):
        d.ellipse((x, 160, x + 16, 172), fill=(40, 30, 20))  # eyes
    d.arc((125, 195, 175, 225), 20, 160, fill=(120, 50, 40), width=3)  # mouth
    noise = Image.frombytes("L", (w, h), rng.randbytes(w * h)).convert("RGB")
    img = Image.blend(img, noise, 0.025)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def signature_image(nik: str) -> bytes:
    """A generated handwritten-looking signature (grey PNG, ~1-2 KB)."""
    rng = _rng(nik, "signature")
    img = Image.new("L", (240, 90), 255)
    d = ImageDraw.Draw(img)
    pts = [(15 + i * 14, 45 + rng.randint(-28, 28)) for i in range(16)]
    d.line(pts, fill=0, width=3, joint="curve")
    d.line([(20, 70), (220, 62)], fill=0, width=2)
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def minutiae_template(nik: str, finger: int) -> bytes:
    """An ISO/IEC 19794-2-shaped finger minutiae record (~0.4 KB), the same per NIK+finger."""
    rng = _rng(nik, f"finger{finger}")
    count = 64
    minutiae = b"".join(
        bytes(
            [
                (rng.randint(1, 2) << 6) | rng.randint(0, 1),
                rng.randint(0, 255),
                rng.randint(0, 1),
                rng.randint(0, 255),
                rng.randint(0, 255),
                rng.randint(40, 100),
            ]
        )
        for _ in range(count)
    )
    body = bytes([finger, 0, 85, count]) + minutiae + b"\x00\x00"
    total = 24 + len(body)
    header = (
        b"FMR\x00"
        + b" 20\x00"
        + total.to_bytes(4, "big")
        + b"\x00\x00"
        + (500).to_bytes(2, "big") * 2
        + (500).to_bytes(2, "big") * 2
        + b"\x01\x00"
    )
    return header[:24].ljust(24, b"\x00") + body


def biodata_file(p: Member) -> bytes:
    values = {
        "nik": p["nik"],
        "name": p["name"].upper(),
        "birth_place": p["birth_place"].upper(),
        "birth_date": p["birth_date"].replace("-", ""),
        "sex": p["sex"],
        "blood_type": _rng(p["nik"], "blood").choice(["A", "B", "AB", "O", "-"]),
        "street": p["addr_street"].upper(),
        "rt_rw": f"{p['addr_rt']}/{p['addr_rw']}",
        "kelurahan": p["addr_kelurahan"].upper(),
        "kecamatan": p["addr_kecamatan"].upper(),
        "kabupaten": p["addr_kabupaten"].upper(),
        "province": p["addr_province"].upper(),
        "religion": p["religion"],
        "marital_status": p["marital_status"],
        "occupation": p["occupation"],
        "citizenship": p["citizenship"],
        "expiry": "SEUMUR HIDUP",
    }
    return tlv.encode_all(TAG_BIODATA, [(BIODATA_TAGS[k], v.encode()) for k, v in values.items()])


def issue(
    nik: str,
    *,
    fault: str = "",
    pull_after: int = 0,
    delay_ms: int = 0,
    master_key: bytes = keys.SAM_MASTER_KEY,
    issuer_key: ec.EllipticCurvePrivateKey | None = None,
) -> CardImage:
    """The chip of demo citizen ``nik`` as issued, with the requested fault."""
    if fault and fault not in FAULTS:
        raise ValueError(f"unknown card fault {fault!r} (known: {', '.join(FAULTS)})")
    p = holder(nik)
    serial = hashlib.sha256(f"serial/{nik}".encode()).digest()[:8]
    max_response = 0x1000
    files = {
        EF_CAPABILITY: tlv.encode_all(
            TAG_CAPABILITY,
            [
                (0x80, serial),
                (0x81, b"\x01"),
                (0x82, max_response.to_bytes(2, "big")),
                (0x83, b"\x01"),
            ],
        ),
        EF_BIODATA: biodata_file(p),
        EF_PHOTO: tlv.encode(TAG_PHOTO, photo(nik, p["sex"])),
        EF_SIGNATURE_IMAGE: tlv.encode(TAG_SIGNATURE_IMAGE, signature_image(nik)),
        EF_FINGER_RIGHT: tlv.encode_all(
            TAG_TEMPLATE,
            [
                (0x81, bytes([FINGER_RIGHT_INDEX])),
                (TAG_PHOTO, minutiae_template(nik, FINGER_RIGHT_INDEX)),
            ],
        ),
        EF_FINGER_LEFT: tlv.encode_all(
            TAG_TEMPLATE,
            [
                (0x81, bytes([FINGER_LEFT_INDEX])),
                (TAG_PHOTO, minutiae_template(nik, FINGER_LEFT_INDEX)),
            ],
        ),
    }
    key = issuer_key or keys.issuer_private_key()
    der = key.sign(signed_digest_input(files), ec.ECDSA(hashes.SHA256()))
    files[EF_DIGITAL_SIGNATURE] = tlv.encode(TAG_DIGITAL_SIGNATURE, der)
    if fault == "tampered":
        # Change one letter of the name after signing: what a forger's edit looks like.
        bio = bytearray(files[EF_BIODATA])
        name = p["name"].upper().encode()
        at = bytes(bio).index(name)
        bio[at] = ord("X") if bio[at] != ord("X") else ord("Y")
        files[EF_BIODATA] = bytes(bio)
    if fault == "pulled" and not pull_after:
        pull_after = 6  # mid-way through the photo
    if fault == "slow" and not delay_ms:
        delay_ms = 40
    return CardImage(
        serial=serial,
        chip_key=crypto.diversify(master_key, serial),
        files=files,
        max_response=max_response,
        fault=fault if fault in ("blank", "foreign") else "",
        pull_after=pull_after,
        delay_ms=delay_ms,
        label={"nik": nik, "name": p["name"], "fault": fault},
    )
