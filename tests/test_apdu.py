"""Command APDUs: framing, response chaining (61xx / 6Cxx), status words, SELECT forms
and the SAM held for one authentication; in-process (the PC/SC path is in
``test_card_pcsc.py``)."""

from __future__ import annotations

import contextlib
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.card import apdu, ektp, tlv
from drivers.card.base import SW, CardConnection, CardProtocolError, CardStatusError
from drivers.card.sam import INS_CHALLENGE, ApduSam
from drivers.card.sim import SimReader
from drivers.card.virtual import VirtualEktp, VirtualSam
from sim import keys
from sim.cards import issue
from sim.population import DEMO_NIK

ISSUER = keys.issuer_private_key().public_key()


# --- framing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "encoded"),
    [
        ((0, 0xA4, 0, 0x0C), "00a4000c"),  # case 1
        ((0, 0x84, 0, 0, b"", 8), "0084000008"),  # case 2 short
        ((0, 0xB0, 0, 0, b"", 256), "00b0000000"),  # Le 256 is 00
        ((0, 0xA4, 2, 0x0C, b"\x6f\xf1"), "00a4020c026ff1"),  # case 3 short
        ((0, 0x88, 0, 0, b"\x01" * 8, 16), "0088000008" + "01" * 8 + "10"),  # case 4 short
        ((0, 0xB0, 0, 0, b"", 0x1000), "00b00000001000"),  # case 2 extended
        ((0, 0xB0, 0, 0, b"", 0x10000), "00b00000000000"),  # Le 65536 is 0000
        ((0, 0xD6, 0, 0, b"\xaa" * 300), "00d60000" + "00012c" + "aa" * 300),  # case 3E
    ],
)
def test_encode_cases(args: tuple, encoded: str) -> None:
    raw = apdu.encode(*args)
    assert raw.hex() == encoded
    cla, ins, p1, p2, *rest = args
    data = rest[0] if rest else b""
    le = rest[1] if len(rest) > 1 else None
    assert apdu.decode(raw) == apdu.Command(cla, ins, p1, p2, data, le)


@given(
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.binary(max_size=600),
    st.one_of(st.none(), st.integers(1, 0x10000)),
)
def test_encode_decode_round_trip(
    cla: int, ins: int, p1: int, p2: int, data: bytes, le: int | None
) -> None:
    assert apdu.decode(apdu.encode(cla, ins, p1, p2, data, le)) == apdu.Command(
        cla, ins, p1, p2, data, le
    )


@given(st.binary(max_size=300))
def test_decode_any_bytes_is_a_command_or_a_value_error(raw: bytes) -> None:
    """Whatever a card emulator is sent decodes to a command that encodes back to the
    same command, or is refused as malformed."""
    try:
        c = apdu.decode(raw)
    except ValueError:
        return
    assert apdu.decode(apdu.encode(c.cla, c.ins, c.p1, c.p2, c.data, c.le)) == c


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ((256, 0, 0, 0), "CLA 256"),
        ((0, 0, 0, 0, b"", 0), "Le 0"),
        ((0, 0, 0, 0, b"", 0x10001), "Le 65537"),
        ((0, 0, 0, 0, b"\0" * 0x10000), "do not fit"),
    ],
)
def test_encode_refuses_what_no_card_could_receive(args: tuple, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        apdu.encode(*args)


# --- chaining and status words --------------------------------------------------------


class Scripted:
    """A card that answers from a script and records what it was sent."""

    def __init__(self, *answers: tuple[bytes, int]) -> None:
        self.answers = list(answers)
        self.sent: list[bytes] = []

    def transmit(self, raw: bytes) -> tuple[bytes, int]:
        self.sent.append(raw)
        return self.answers.pop(0) if self.answers else (b"", 0x6F00)

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


def test_61xx_answers_are_fetched_with_get_response_and_joined() -> None:
    card = Scripted((b"", 0x6100), (b"a" * 256, 0x6105), (b"b" * 5, 0x9000))
    answer = apdu.send_apdu(card, 0, 0x88, 0, 0, b"\x01" * 8, 16, what="INTERNAL")
    assert answer == apdu.Response(b"a" * 256 + b"b" * 5, 0x9000)
    assert card.sent[1:] == [bytes.fromhex("00c0000000"), bytes.fromhex("00c0000005")]


def test_6cxx_resends_the_command_with_the_exact_le() -> None:
    card = Scripted((b"", 0x6C12), (b"x" * 0x12, 0x9000))
    answer = apdu.send_apdu(card, 0, 0xB0, 0, 0, le=0xE0, what="READ BINARY")
    assert answer.data == b"x" * 0x12
    assert card.sent == [bytes.fromhex("00b00000e0"), bytes.fromhex("00b0000012")]


def test_6cxx_then_61xx_is_followed_too() -> None:
    card = Scripted((b"", 0x6C08), (b"", 0x6108), (b"12345678", 0x9000))
    assert apdu.send_apdu(card, 0, 0xFA, 0, 0, le=256, what="INFO").data == b"12345678"


def test_a_card_asking_twice_for_another_le_is_a_protocol_error() -> None:
    card = Scripted((b"", 0x6C10), (b"", 0x6C20))
    with pytest.raises(CardProtocolError, match="asked twice"):
        apdu.send_apdu(card, 0, 0xB0, 0, 0, le=4, what="READ BINARY")


def test_endless_chaining_is_cut_off() -> None:
    card = Scripted(*[(b"z" * 256, 0x6100)] * (apdu.MAX_GET_RESPONSE + 5))
    with pytest.raises(CardProtocolError, match="keeps answering 61xx"):
        apdu.send_apdu(card, 0, 0xB0, 0, 0, le=256, what="READ BINARY")
    assert len(card.sent) <= apdu.MAX_GET_RESPONSE + 1


def test_status_words_become_errors_that_say_what_they_mean() -> None:
    with pytest.raises(CardStatusError) as caught:
        apdu.send_apdu(Scripted((b"", 0x6A82)), 0, 0xA4, 2, 0x0C, b"\x6f\xf9", what="SELECT EF")
    assert caught.value.sw == 0x6A82
    assert str(caught.value) == "SELECT EF failed: file or application not found (6A82)"
    answer = apdu.send_apdu(
        Scripted((b"abc", 0x6282)), 0, 0xB0, 0, 0, le=8, what="R", accept=(SW.OK, 0x6282)
    )
    assert answer == apdu.Response(b"abc", 0x6282)
    assert apdu.meaning(0x63C2) == "verification failed, 2 tries left"


# --- the virtual chip: SELECT forms and T=0 answers -----------------------------------


def _selected(p1: int, p2: int, fid: int, card: VirtualEktp) -> bytes:
    le = None if p2 == 0x0C else 0x100
    return card.process(apdu.encode(0x00, 0xA4, p1, p2, fid.to_bytes(2, "big"), le))


def test_select_by_file_identifier_with_p1_00_and_its_control_information() -> None:
    """Cards answer SELECT P1=00 (any file by identifier) as well as 01/02; with P2=00
    the answer carries the file's control information (identifier and size)."""
    image = issue(DEMO_NIK)
    card = VirtualEktp(image)
    assert _selected(0x00, 0x0C, ektp.EF_CAPABILITY, card)[-2:] == b"\x6a\x82"  # no DF yet
    assert _selected(0x00, 0x0C, ektp.DF_EKTP, card) == b"\x90\x00"
    reply = _selected(0x00, 0x00, ektp.EF_CAPABILITY, card)
    assert reply[-2:] == b"\x90\x00"
    fci = tlv.fields(tlv.parse_single(reply[:-2], 0x6F))  # P2=00: the FCI template
    assert fci[0x83] == ektp.EF_CAPABILITY.to_bytes(2, "big")
    assert int.from_bytes(fci[0x80], "big") == len(image.files[ektp.EF_CAPABILITY])
    assert fci[0x82] == b"\x01"  # a transparent EF
    capability = card.process(ektp.read_binary_apdu(0, 0xE0))
    assert capability[:-2] == image.files[ektp.EF_CAPABILITY]


def _sent(card: VirtualEktp, hexapdu: str) -> tuple[bytes, str]:
    reply = card.process(bytes.fromhex(hexapdu.replace(" ", "")))
    return reply[:-2], reply[-2:].hex().upper()


@pytest.mark.parametrize(
    ("apdus", "sw"),
    [
        (["00 A4 00 0C 02 3F00"], "9000"),  # the MF by its identifier
        (["00 A4 00 0C"], "9000"),  # the MF: P1=00, no data
        (["00 A4 00 04 02 3F00"], "9000"),  # with its FCP
        (["00 A4 04 0C 09 F0 41 44 4D 2D 45 4B 54 50"], "9000"),  # the DF by its name
        (["00 A4 04 0C 04 F0 41 44 4D"], "9000"),  # by a leading part of the name
        (["00 A4 04 0C 09 F0 41 44 4D 2D 45 4B 54 51"], "6A82"),  # another name
        (["00 A4 04 0E 09 F0 41 44 4D 2D 45 4B 54 50"], "6A82"),  # "next": there is none
        (["00 A4 04 0C"], "6A87"),  # by name with no name
        (["00 A4 05 0C 02 7F0A"], "6A86"),  # P1 checked before the length ...
        (["00 A4 05 0C"], "6A86"),  # ... whatever the length
        (["00 A4 00 08 02 3F00"], "6A86"),  # FMD is not kept
        (["00 A4 01 0C 01 7F"], "6A87"),  # a DF's identifier has two bytes
        (["00 A4 02 0C 02 6FF0"], "6A82"),  # no EF outside the DF
        (["00 A4 01 0C 02 7F0A", "00 A4 02 0C 02 6FF0", "00 A4 03 0C"], "9000"),  # parent
        (["00 B0 00 00 10"], "6986"),  # READ BINARY with no current EF
        (["80 A4 00 0C 02 3F00"], "6E00"),  # proprietary class: not this chip's
        (["01 A4 00 0C 02 3F00"], "6881"),  # logical channel 1
        (["0C A4 00 0C 02 3F00"], "6882"),  # secure messaging
        (["10 A4 00 0C 02 3F00"], "6884"),  # command chaining
        (["FF A4 00 0C 02 3F00"], "6E00"),  # invalid class
        (["00 A6 00 0C 02 3F00"], "6D00"),  # the instruction before P1-P2
    ],
)
def test_the_virtual_chip_answers_select_as_iso_7816_4_orders_it(apdus: list[str], sw: str) -> None:
    card = VirtualEktp(issue(DEMO_NIK))
    for command in apdus[:-1]:
        assert _sent(card, command)[1] == "9000", command
    assert _sent(card, apdus[-1])[1] == sw


def test_select_answers_fcp_or_fci_as_p2_asks() -> None:
    card = VirtualEktp(issue(DEMO_NIK))
    fcp, sw = _sent(card, "00 A4 04 04 09 F0 41 44 4D 2D 45 4B 54 50 00")
    assert sw == "9000"
    fields = tlv.fields(tlv.parse_single(fcp, 0x62))
    assert fields[0x82] == b"\x38" and fields[0x83] == b"\x7f\x0a"
    assert fields[0x84] == ektp.DF_EKTP_NAME and fields[0x8A] == b"\x05"
    fci, _ = _sent(card, "00 A4 00 00 02 3F00 00")
    assert tlv.fields(tlv.parse_single(fci, 0x6F))[0x83] == b"\x3f\x00"
    assert _sent(card, "00 A4 00 00 02 3F00") == (b"", "9000")  # no Le: no room (Ne=0)
    assert _sent(card, "00 A4 00 0C 02 3F00") == (b"", "9000")


def test_get_response_keeps_the_class_of_a_proprietary_command() -> None:
    """A T=0 SAM's answer to its class-80 command is fetched with a class-80 GET RESPONSE;
    the class-00 fetch the kiosk once sent is refused, and the kiosk now sends 80."""
    sam = VirtualSam(keys.SAM_MASTER_KEY, t0=True)
    first = sam.process(apdu.encode(0x80, 0xF0, 0, 0, bytes(16), 24))
    assert first[-2:] == b"\x61\x18"
    assert sam.process(apdu.encode(0x00, 0xC0, 0, 0, le=24))[-2:] == b"\x6e\x00"
    assert sam.process(apdu.encode(0x80, 0xC0, 0, 0, le=24))[-2:] == b"\x90\x00"
    assert sam.process(apdu.encode(0x00, 0xF2, 0, 0, le=8))[-2:] == b"\x6e\x00"
    assert apdu.get_response_class(0x80) == 0x80
    assert apdu.get_response_class(0x01) == 0x01  # its logical channel
    assert apdu.get_response_class(0x10) == 0x00  # not the chaining bit
    reader = Recording(SimReader(VirtualSam(keys.SAM_MASTER_KEY, t0=True)).connect())
    out = apdu.send_apdu(reader, 0x80, 0xF0, 0, 0, bytes(16), 24, what="SAM BEGIN")
    assert len(out.data) == 24 and (apdu.INS_GET_RESPONSE, 0x9000) in reader.seen


class Recording:
    """Wraps a connection and records every command's INS and the status word it got."""

    def __init__(self, conn: CardConnection) -> None:
        self.conn = conn
        self.seen: list[tuple[int, int]] = []

    def transmit(self, raw: bytes) -> tuple[bytes, int]:
        data, sw = self.conn.transmit(raw)
        self.seen.append((raw[1], sw))
        return data, sw

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        return self.conn.transaction()


@pytest.mark.parametrize("extended", [True, False], ids=["extended", "short"])
def test_a_t0_chip_is_read_through_61xx_and_6cxx(extended: bool) -> None:
    image = issue(DEMO_NIK)
    image.t0 = True
    conn = Recording(SimReader(VirtualEktp(image)).connect())
    sam = ApduSam(SimReader(VirtualSam(keys.SAM_MASTER_KEY, t0=True)))
    sam.open()
    data = ektp.read_card(conn, sam, ISSUER, extended=extended)
    assert data.biodata.nik == DEMO_NIK
    sws = {sw >> 8 for _, sw in conn.seen}
    assert 0x61 in sws and 0x6C in sws  # both kinds of chaining happened ...
    assert any(ins == apdu.INS_GET_RESPONSE for ins, _ in conn.seen)  # ... and were followed


# --- the SAM held for one authentication ----------------------------------------------


class Interloper:
    """A second user of the same SAM slot that sends SAM CHALLENGE in the middle of an
    authentication, from its own thread and its own connection."""

    def __init__(self, reader: SimReader) -> None:
        self.conn = reader.connect()
        self.done = threading.Event()
        self.order: list[str] = []

    def run(self) -> None:
        self.conn.transmit(apdu.encode(0x80, INS_CHALLENGE, 0, 0, le=8))
        self.order.append("interloper")
        self.done.set()


class StepWatchingSam:
    """The kiosk's SAM, with the interloper let loose right after CHALLENGE."""

    def __init__(self, inner: ApduSam, interloper: Interloper) -> None:
        self.inner = inner
        self.interloper = interloper
        self.ran_inside = False

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        return self.inner.transaction()

    def external_cryptogram(self, serial: bytes, card_challenge: bytes) -> bytes:
        return self.inner.external_cryptogram(serial, card_challenge)

    def challenge(self) -> bytes:
        rnd = self.inner.challenge()
        threading.Thread(target=self.interloper.run, daemon=True).start()
        # The interloper must NOT get through while the SAM is held: wait for it, bounded.
        self.ran_inside = self.interloper.done.wait(0.5)
        return rnd

    def verify(self, response: bytes) -> bool:
        ok = self.inner.verify(response)
        self.interloper.order.append("verify")
        return ok


def test_the_sam_is_held_from_begin_to_verify() -> None:
    """GIVEN another user of the SAM sending CHALLENGE between our steps WHEN the chip is
    authenticated THEN that command waits until our VERIFY is done (it would otherwise
    replace the SAM's challenge and fail a genuine card)."""
    slot = SimReader(VirtualSam(keys.SAM_MASTER_KEY))
    interloper = Interloper(slot)
    sam = StepWatchingSam(ApduSam(slot), interloper)
    sam.open()
    card = SimReader(VirtualEktp(issue(DEMO_NIK))).connect()
    data = ektp.read_card(card, sam, ISSUER)
    assert data.biodata.nik == DEMO_NIK
    assert not sam.ran_inside
    assert interloper.done.wait(5)
    assert interloper.order == ["verify", "interloper"]
