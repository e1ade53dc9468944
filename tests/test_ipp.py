"""The printer-side IPP client's codec (printing/ipp.py): what it sends decodes to what
was meant, and anything a printer (or a stranger on its port) answers either decodes or
is an IppError, never another exception.  The client against a real ippeveprinter is in
tests/test_lost_jobs.py."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from printing import ipp


def _answer(*groups: tuple[int, list[tuple[int, str, bytes]]], status: int = 0) -> bytes:
    out = bytearray(struct.pack(">BBHI", 2, 0, status, 1))
    for tag, attrs in groups:
        out.append(tag)
        for value_tag, name, raw in attrs:
            out += struct.pack(">BH", value_tag, len(name)) + name.encode()
            out += struct.pack(">H", len(raw)) + raw
    out.append(ipp.END)
    return bytes(out)


def test_a_request_decodes_to_what_was_meant() -> None:
    data = ipp.encode(
        ipp.GET_JOBS,
        7,
        [
            (ipp.CHARSET, "attributes-charset", "utf-8"),
            (ipp.KEYWORD, "requested-attributes", ["job-id", "job-name"]),
            (ipp.BOOLEAN, "my-jobs", False),
            (ipp.INTEGER, "limit", 5),
        ],
    )
    decoded = ipp.decode(data)  # a request has the same shape (operation in place of status)
    assert (decoded.status, decoded.request_id) == (ipp.GET_JOBS, 7)
    assert decoded.first(ipp.OPERATION) == {
        "attributes-charset": ["utf-8"],
        "requested-attributes": ["job-id", "job-name"],
        "my-jobs": [False],
        "limit": [5],
    }


def test_a_job_list_with_a_collection_and_out_of_band_values() -> None:
    data = _answer(
        (ipp.OPERATION, [(ipp.CHARSET, "attributes-charset", b"utf-8")]),
        (
            ipp.JOB,
            [
                (ipp.INTEGER, "job-id", struct.pack(">i", 3)),
                (ipp.NAME, "job-name", b"kk [job-1]"),
                (ipp.ENUM, "job-state", struct.pack(">i", 9)),
                (0x13, "time-at-completed", b""),
                (ipp.BEG_COLLECTION, "media-col", b""),
                (ipp.MEMBER, "", b"media-size-name"),
                (ipp.KEYWORD, "", b"iso_a4_210x297mm"),
                (ipp.END_COLLECTION, "", b""),
            ],
        ),
    )
    (job,) = ipp.decode(data).all(ipp.JOB)
    assert job["job-id"] == [3] and job["job-state"] == [9] and job["job-name"] == ["kk [job-1]"]
    assert job["time-at-completed"] == [None]
    assert job["media-col"] == [{"media-size-name": ["iso_a4_210x297mm"]}]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x02\x00\x00\x00",  # cut in the header
        _answer((ipp.JOB, [(ipp.INTEGER, "job-id", b"\x00\x01")])),  # a 2-byte integer
        b"\x02\x00\x00\x00\x00\x00\x00\x01\x21\x00\x01x\x00\x04\x00\x00\x00\x01\x03",  # no group
        b"\x02\x00\x00\x00\x00\x00\x00\x01\x02\x21\x00\x00\x00\x04\x00\x00\x00\x01\x03",  # no name
        b"\x02\x00\x00\x00\x00\x00\x00\x01\x02",  # no end tag
    ],
)
def test_malformed_answers_are_refused_clearly(data: bytes) -> None:
    with pytest.raises(ipp.IppError):
        ipp.decode(data)


def test_collections_nested_without_end_are_refused() -> None:
    nested = [(ipp.BEG_COLLECTION, "c", b"")] + [
        (ipp.MEMBER, "", b"m"),
        (ipp.BEG_COLLECTION, "", b""),
    ] * 20
    with pytest.raises(ipp.IppError):
        ipp.decode(_answer((ipp.JOB, nested)))


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_decode_or_raise_ipp_error(data: bytes) -> None:
    with contextlib.suppress(ipp.IppError):
        ipp.decode(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40), st.integers(min_value=0, max_value=200))
def test_a_good_answer_with_bytes_spliced_in_decodes_or_raises_ipp_error(
    junk: bytes, at: int
) -> None:
    good = _answer(
        (ipp.JOB, [(ipp.INTEGER, "job-id", struct.pack(">i", 1)), (ipp.NAME, "job-name", b"x")])
    )
    at = min(at, len(good))
    with contextlib.suppress(ipp.IppError):
        ipp.decode(good[:at] + junk + good[at:])


def test_only_plain_ipp_addresses_are_asked() -> None:
    for uri in ("usb://Zebra/ZC300", "socket://10.0.0.5:9100", "ipps://p/ipp/print", "ipp://"):
        with pytest.raises(ipp.IppError, match="not a plain IPP printer address"):
            ipp.Printer(uri)


def test_a_printer_that_is_not_there_is_an_ipp_error() -> None:
    with pytest.raises(ipp.IppError, match="does not answer"):
        ipp.Printer("ipp://127.0.0.1:9/ipp/print", timeout=1).jobs()
