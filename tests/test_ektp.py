"""The e-KTP protocol against the virtual card, without PC/SC, and fuzzed parsers."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.card import ektp
from drivers.card.base import (
    SW,
    CardProtocolError,
    CardRemoved,
    CardStatusError,
    Identity,
    NoCard,
    mask_nik,
)
from drivers.card.sim import SimReader
from drivers.card.virtual import ATR, VirtualEktp

BUDI = Identity("3201011203800001", "Budi Santoso")


def test_reads_identity_from_virtual_card() -> None:
    reader = SimReader()
    reader.insert(BUDI)
    assert ektp.read_identity(reader.connect()) == BUDI


def test_long_name_is_read_in_several_chunks() -> None:
    """GIVEN a name longer than one READ BINARY chunk THEN it still reads whole."""
    long = Identity("3201011203800001", "Raden " + "Ayu Sekar " * 24)
    card = VirtualEktp(long)
    calls: list[bytes] = []

    class Conn:
        def transmit(self, apdu: bytes) -> tuple[bytes, int]:
            calls.append(apdu)
            reply = card.process(apdu)
            return reply[:-2], int.from_bytes(reply[-2:], "big")

    assert ektp.read_identity(Conn()) == Identity(long.nik, long.name.strip())
    assert sum(1 for c in calls if c[1] == 0xB0) >= 3


def test_no_card() -> None:
    with pytest.raises(NoCard):
        SimReader().connect()


def test_card_removed_mid_read() -> None:
    reader = SimReader()
    reader.insert(BUDI)
    conn = reader.connect()
    reader.remove()
    with pytest.raises(CardRemoved):
        ektp.read_identity(conn)


def test_foreign_card_without_the_application() -> None:
    class Foreign:
        def transmit(self, apdu: bytes) -> tuple[bytes, int]:
            return b"", SW.FILE_NOT_FOUND

    with pytest.raises(CardStatusError) as err:
        ektp.read_identity(Foreign())
    assert err.value.sw == 0x6A82


def test_atr_checksum_is_valid() -> None:
    tck = 0
    for b in ATR[1:]:
        tck ^= b
    assert tck == 0


def test_mask_nik() -> None:
    assert mask_nik("3201011203800001") == "3201********0001"
    assert mask_nik("12345") == "*****"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"\x01\x10" + b"3201011203800001", "lacks field 02"),
        (b"\x01\x03123\x02\x04Budi", "not 16 digits"),
        (b"\x01\x10" + b"3201011203800001" + b"\x02\x05Bu", "past the end"),
        (b"\x01", "truncated"),
        (b"\x01\x10" + b"3201011203800001" + b"\x02\x02\xff\xfe", "UTF-8"),
        (b"\x02\x01A\x02\x01B", "twice"),
    ],
)
def test_bad_biodata_is_a_protocol_error(body: bytes, problem: str) -> None:
    with pytest.raises(CardProtocolError, match=problem):
        ektp.parse_biodata(body)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_fuzz_biodata_parser(body: bytes) -> None:
    """Any bytes: an Identity or a CardProtocolError, nothing else."""
    try:
        identity = ektp.parse_biodata(body)
    except CardProtocolError:
        return
    assert len(identity.nik) == 16


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.binary(max_size=300), st.sampled_from([0x9000, 0x6282, 0x6B00])),
        min_size=1,
        max_size=40,
    )
)
def test_fuzz_card_responses(responses: list[tuple[bytes, int]]) -> None:
    """A card answering garbage ends in a card error, never a hang or another exception."""
    replies = iter(responses)

    class Garbage:
        def transmit(self, apdu: bytes) -> tuple[bytes, int]:
            return next(replies, (b"", 0x6F00))

    with contextlib.suppress(CardProtocolError, CardStatusError):
        ektp.read_identity(Garbage())
