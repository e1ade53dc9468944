"""The e-KTP protocol and the SAM, in-process (no PC/SC), and fuzzed parsers."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.card import crypto, ektp, tlv
from drivers.card.base import (
    SW,
    AuthenticationFailed,
    CardError,
    CardProtocolError,
    CardRemoved,
    DataNotAuthentic,
    NoCard,
    NotAnEktp,
)
from drivers.card.sam import ApduSam
from drivers.card.sim import SimReader
from drivers.card.virtual import EKTP_ATR, VirtualEktp, VirtualSam
from protocol.nik import mask_nik
from sim import keys
from sim.cards import card_holders, issue
from sim.population import DEMO_NIK

ISSUER = keys.issuer_private_key().public_key()


def sam(master: bytes = keys.SAM_MASTER_KEY, *, t0: bool = False) -> ApduSam:
    s = ApduSam(SimReader(VirtualSam(master, t0=t0)))
    s.open()
    return s


def read(
    nik: str = DEMO_NIK,
    *,
    master: bytes = keys.SAM_MASTER_KEY,
    extended: bool = True,
    t0: bool = False,
    stats: ektp.ReadStats | None = None,
    **fault: object,
) -> ektp.EktpData:
    image = issue(nik, **fault)  # type: ignore[arg-type]
    image.t0 = t0
    reader = SimReader(VirtualEktp(image))
    return ektp.read_card(
        reader.connect(), sam(master, t0=t0), ISSUER, extended=extended, stats=stats
    )


@pytest.mark.parametrize("person", card_holders(), ids=lambda p: p["name"])
def test_reads_every_demo_card(person: dict[str, str]) -> None:
    data = read(person["nik"])
    bio = data.biodata
    assert (bio.nik, bio.name) == (person["nik"], person["name"].upper())
    assert bio.birth_date == dt.date.fromisoformat(person["birth_date"])
    assert bio.sex == person["sex"]
    assert bio.kecamatan == person["addr_kecamatan"].upper()
    assert bio.rt_rw == f"{person['addr_rt']}/{person['addr_rw']}"
    assert data.photo[:3] == b"\xff\xd8\xff" and 12_000 < len(data.photo) < 25_000
    assert data.signature_image[:8] == b"\x89PNG\r\n\x1a\n"
    assert all(t[:4] == b"FMR\x00" and 300 < len(t) < 600 for t in data.templates)
    assert data.templates[0] != data.templates[1]


def test_short_and_extended_reads_agree() -> None:
    short, ext = ektp.ReadStats(), ektp.ReadStats()
    a = read(extended=False, stats=short)
    b = read(extended=True, stats=ext)
    assert (a.biodata, a.photo, a.templates) == (b.biodata, b.photo, b.templates)
    assert ext.apdus < short.apdus / 3
    assert set(ext.phases) >= {"select", "authenticate", "photo", "verify"}


@pytest.mark.parametrize("extended", [True, False], ids=["extended", "short"])
def test_a_t0_chip_and_sam_are_read_through_response_chaining(extended: bool) -> None:
    """GIVEN a chip and a SAM that answer as T=0 cards (61xx, 6Cxx) WHEN the card is read
    THEN the same data comes out, fetched with GET RESPONSE and re-sent with the exact Le."""
    direct, chained = ektp.ReadStats(), ektp.ReadStats()
    a = read(extended=extended, stats=direct)
    b = read(extended=extended, t0=True, stats=chained)
    assert (a.biodata, a.photo, a.signature_image, a.templates) == (
        b.biodata,
        b.photo,
        b.signature_image,
        b.templates,
    )
    # every chained answer costs at least one more APDU (GET RESPONSE or the re-sent command)
    assert chained.apdus > direct.apdus


def test_repr_keeps_personal_data_out() -> None:
    data = read()
    text = repr(data) + repr(data.biodata)
    assert DEMO_NIK not in text and "BUDI" not in text
    assert mask_nik(DEMO_NIK) in text


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ({"fault": "blank"}, NotAnEktp),
        ({"fault": "foreign"}, NotAnEktp),
        ({"fault": "tampered"}, DataNotAuthentic),
        ({"fault": "pulled"}, CardRemoved),
        ({"pull_after": 1}, CardRemoved),
    ],
)
def test_faulty_cards(fault: dict[str, object], error: type[CardError]) -> None:
    with pytest.raises(error):
        read(**fault)


def test_wrong_sam_keys_fail_authentication() -> None:
    with pytest.raises(AuthenticationFailed, match="wrong SAM keys"):
        read(master=keys.WRONG_MASTER_KEY)


def test_card_signed_by_another_issuer_is_refused() -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    reader = SimReader(VirtualEktp(issue(DEMO_NIK, issuer_key=other)))
    with pytest.raises(DataNotAuthentic):
        ektp.read_card(reader.connect(), sam(), ISSUER)


def test_protected_files_need_authentication() -> None:
    card = VirtualEktp(issue(DEMO_NIK))
    card.process(ektp.select_apdu(ektp.DF_EKTP, df=True))
    assert card.process(ektp.select_apdu(ektp.EF_CAPABILITY, df=False))[-2:] == b"\x90\x00"
    assert card.process(ektp.read_binary_apdu(0, 16))[-2:] == b"\x90\x00"
    card.process(ektp.select_apdu(ektp.EF_BIODATA, df=False))
    assert card.process(ektp.read_binary_apdu(0, 16)) == SW.SECURITY_STATUS.to_bytes(2, "big")


def test_a_cryptogram_cannot_be_replayed() -> None:
    """GIVEN an eavesdropped EXTERNAL AUTHENTICATE WHEN replayed on a new challenge
    THEN the chip refuses it."""
    image = issue(DEMO_NIK)
    card = VirtualEktp(image)
    card.process(ektp.select_apdu(ektp.DF_EKTP, df=True))
    rnd = card.process(b"\x00\x84\x00\x00\x08")[:-2]
    good = crypto.external_cryptogram(image.chip_key, rnd, b"\x01" * 8)
    assert card.process(b"\x00\x82\x00\x00\x18" + good)[-2:] == b"\x90\x00"
    card.process(b"\x00\x84\x00\x00\x08")  # new challenge
    assert card.process(b"\x00\x82\x00\x00\x18" + good)[-2:] == b"\x63\x00"


def test_chip_keys_are_diversified() -> None:
    a, b = issue(card_holders()[0]["nik"]), issue(card_holders()[1]["nik"])
    assert a.chip_key != b.chip_key and a.serial != b.serial


def test_no_card() -> None:
    with pytest.raises(NoCard):
        SimReader().connect()


def test_sam_info() -> None:
    assert sam().info() == {"serial": b"SAM00001".hex(), "key_version": "01"}


def test_atr_checksum_is_valid() -> None:
    tck = 0
    for b in EKTP_ATR[1:]:
        tck ^= b
    assert tck == 0


def test_mask_nik() -> None:
    assert mask_nik("3201011203800001") == "3201********0001"
    assert mask_nik("12345") == "*****"


# --- TLV ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "header missing"),
        (b"\x5f", "two-byte tag is truncated"),
        (b"\x80", "length missing"),
        (b"\x80\x83\x00\x00\x01", "unsupported TLV length"),
        (b"\x80\x82\x01", "length is truncated"),
        (b"\x80\x05abc", "claims 5 bytes"),
        (b"\x00\x00", "invalid TLV tag"),
        (b"\x5f\x81\x01\x00", "longer than two bytes"),
    ],
)
def test_bad_tlv(data: bytes, problem: str) -> None:
    with pytest.raises(CardProtocolError, match=problem):
        tlv.parse_one(data)


def test_biodata_field_missing_is_named() -> None:
    raw = tlv.encode_all(ektp.TAG_BIODATA, [(0x80, b"3201011203800001")])
    with pytest.raises(CardProtocolError, match="lacks name"):
        ektp.parse_biodata(raw)


tags = st.one_of(st.sampled_from([0x80, 0x81, 0x9E, 0x61, 0x66]), st.just(0x5F2E))


@given(st.lists(st.tuples(tags, st.binary(max_size=400)), max_size=6))
def test_tlv_round_trip(items: list[tuple[int, bytes]]) -> None:
    data = b"".join(tlv.encode(t, v) for t, v in items)
    assert [(x.tag, x.value) for x in tlv.parse_all(data)] == items


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_fuzz_parsers(data: bytes) -> None:
    """Any bytes: a value or a CardProtocolError, nothing else, for every parser."""
    for parse in (
        tlv.parse_all,
        ektp.parse_biodata,
        ektp.parse_capability,
        lambda d: ektp.parse_template(d, 2),
    ):
        with contextlib.suppress(CardProtocolError):
            parse(data)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.binary(max_size=300),
            st.sampled_from([0x9000, 0x6282, 0x6B00, 0x6300, 0x6100, 0x6110, 0x6C00, 0x6C08]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_fuzz_card_responses(responses: list[tuple[bytes, int]]) -> None:
    """A chip answering garbage ends in a CardError (never a hang, never another error)."""
    replies = iter(responses)

    class Garbage:
        def transmit(self, apdu: bytes) -> tuple[bytes, int]:
            return next(replies, (b"", 0x6F00))

        def transaction(self) -> contextlib.AbstractContextManager[None]:
            return contextlib.nullcontext()

    with contextlib.suppress(CardError):
        ektp.read_card(Garbage(), sam(), ISSUER)
