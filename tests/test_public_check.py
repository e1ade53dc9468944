"""The printed seal and the public check: the token format (fuzzed), the page over real
HTTPS against the register (valid, revoked, superseded, forged, another office's key,
garbage, over-long, rate-limited, the database gone), its headers, the count the console
shows, and ``adm-server verify`` on links, tokens and older ADM1 texts."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import shutil
import sqlite3
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from printing import qrmatrix
from protocol import seal
from protocol.kinds import KIND_CODES, KINDS
from server import officer
from server.db import Document
from server.verification import Peer, VerificationConfig, VerificationConfigError, mask_name
from sim.embedded import EmbeddedServer
from tests.console_helpers import Console, add_user, database
from tests.public_helpers import print_document

KEY = Ed25519PrivateKey.generate()
KEYS = {seal.raw_key_id(KEY.public_key()): KEY.public_key()}
NUMBER = st.text(alphabet=seal.ALPHABET[1:], min_size=1, max_size=seal.MAX_NUMBER)


# ---------------------------------------------------------------- the token


@given(
    kind=st.sampled_from(sorted(KIND_CODES)),
    days=st.integers(0, (1 << 16) - 1),
    number=NUMBER,
)
def test_a_seal_reads_back_what_was_sealed(kind: str, days: int, number: str) -> None:
    issued = seal.EPOCH + dt.timedelta(days=days)
    token = seal.seal(KEY, kind, issued, number)
    assert len(token) <= seal.MAX_TOKEN
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    found, _ = seal.check(seal.token_of(seal.url("cek.example.id", token).lower()), KEYS)
    assert (found.kind, found.issued, found.number) == (kind, issued, number)


@settings(max_examples=300)
@given(st.text(max_size=300))
def test_any_text_is_a_seal_or_a_seal_error(text: str) -> None:
    with contextlib.suppress(seal.SealError):
        seal.check(seal.token_of(text), KEYS)


@settings(max_examples=300)
@given(st.binary(min_size=1, max_size=200))
def test_any_bytes_are_a_seal_or_a_seal_error(data: bytes) -> None:
    with contextlib.suppress(seal.SealError):
        seal.read(seal.b32(data))


@given(at=st.integers(0, 10_000), bit=st.integers(0, 7))
def test_one_changed_bit_anywhere_is_refused(at: int, bit: int) -> None:
    token = seal.seal(KEY, "kartu_keluarga", dt.date(2026, 12, 6), "KK-3271-20261206-000001")
    data = bytearray(seal.unb32(token))
    data[at % len(data)] ^= 1 << bit
    with pytest.raises(seal.SealError):
        seal.check(seal.b32(bytes(data)), KEYS)


def test_numbers_outside_the_alphabet_are_refused_when_sealing() -> None:
    for bad in ("", "kk-1", "KK 1", "KK_1", "X" * 61, "KK-1é"):
        with pytest.raises(seal.SealError):
            seal.seal(KEY, "kia", dt.date(2026, 1, 1), bad)


def test_padding_in_the_middle_of_a_number_is_not_a_seal() -> None:
    # "A" padded to a group, then a second group: a pad that is not at the end.
    body = seal.pack_number("A") + seal.pack_number("B")
    with pytest.raises(seal.SealError):
        seal.unpack_number(body)


def test_every_kind_has_a_seal_code_and_codes_are_never_reused() -> None:
    assert set(KINDS) <= set(KIND_CODES)
    assert len(set(KIND_CODES.values())) == len(KIND_CODES)


def test_a_family_card_link_fits_version_7_at_level_m() -> None:
    """The longest number the register issues for a KK, with a host of 20 characters."""
    token = seal.seal(KEY, "kartu_keluarga", dt.date(2026, 12, 6), "KK-3201-20261206-123456")
    link = seal.url("cek.dukcapil.example", token)
    assert set(link) <= qrmatrix.ALPHANUMERIC
    assert qrmatrix.version(link) <= 7


def test_names_are_masked_enough_to_compare_and_too_much_to_learn() -> None:
    assert mask_name("BUDI SANTOSO") == "BU** SA*****"
    assert mask_name("SITI AMINAH BINTI ABU") == "SI** AM**** BI*** A**"
    assert "SANTOSO" not in mask_name("BUDI SANTOSO")


# ---------------------------------------------------------------- configuration


def test_the_verification_section_is_read_and_checked(tmp_path: Path) -> None:
    peer = Ed25519PrivateKey.generate().public_key()
    (tmp_path / "depok.pub").write_bytes(
        peer.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    toml = tmp_path / "server.toml"
    toml.write_text(
        '[verification]\nhost = "cek.example.id"\noffice = "Dukcapil Bogor"\nper_minute = 12\n'
        '[[verification.peer]]\noffice = "Dukcapil Depok"\nkey = "depok.pub"\n'
    )
    config = VerificationConfig.load(toml, tmp_path)
    assert (config.host, config.office, config.per_minute) == (
        "cek.example.id",
        "Dukcapil Bogor",
        12,
    )
    assert list(config.peers) == [seal.raw_key_id(peer)]
    for bad, says in [
        ('host = "https://x/"', "host"),
        ("per_minute = 0", "per_minute"),
        ("colour = 1", "colour"),
        ('[[verification.peer]]\noffice = "X"\nkey = "nope.pub"', "nope.pub"),
    ]:
        toml.write_text(f"[verification]\n{bad}\n")
        with pytest.raises(VerificationConfigError, match=says):
            VerificationConfig.load(toml, tmp_path)


# ---------------------------------------------------------------- the page over HTTPS


def public(srv: EmbeddedServer) -> httpx.Client:
    ctx = ssl.create_default_context(cafile=str(srv.home.ca_cert))
    return httpx.Client(base_url=srv.url, verify=ctx, timeout=20)


def state_of(page: httpx.Response) -> str:
    found = re.search(r'data-state="([a-z_]+)"', page.text)
    assert found is not None, page.text[:300]
    return found.group(1)


@pytest.fixture
def budget(server: EmbeddedServer) -> Iterator[VerificationConfig]:
    """The shared server's check budget, generous for the test and restored after."""
    config: VerificationConfig = server.settings.verification
    before = config.per_minute
    config.per_minute = 100_000
    yield config
    config.per_minute = before


def test_the_page_follows_the_document_through_revocation_and_reprint(
    server: EmbeddedServer, budget: VerificationConfig, tmp_path: Path
) -> None:
    first = print_document(server, "kia", tmp_path)
    assert first.link == first.payload["verification"]
    assert first.link.startswith(f"HTTPS://{server.host}:{server.port}/V/".upper())
    path = "/" + first.link.split("/", 3)[3]
    with public(server) as http:
        page = http.get(path)
        assert page.status_code == 200 and state_of(page) == "valid"
        assert first.number in page.text and "Kartu Identitas Anak" in page.text
        assert "3201" not in page.text.replace(first.number, "")  # no NIK, not even part
        assert http.get(path.lower().replace("/v/", "/v/", 1)).status_code == 200
        # Each check is counted on the document, and the console shows the count.
        with database(server) as db:
            doc = db.query(Document).filter_by(number=first.number).one()
            assert doc.checks == 2
        # Revoked by a supervisor in the console: the page says so, with the date only.
        add_user(server, "kepala", "supervisor")
        console = Console(server)
        console.login("kepala")
        shown = console.get(f"/console/documents/{first.number}").text
        assert 'id="checks">2<' in shown
        assert "{" not in shown.split("<main")[1]  # every sentence filled in
        assert shown.count("dipesan untuk dicetak") == 1  # one print job, said once
        answer = console.post(
            f"/console/documents/{first.number}/revoke", reason="kartu hilang, dilaporkan"
        )
        assert answer.status_code == 303
        page = http.get(path)
        assert state_of(page) == "revoked" and "dilaporkan" not in page.text
        # A reprint (a new approval the office marks as replacing the old one).
        second = print_document(server, "kia", tmp_path / "again")
        third = print_document(server, "kia", tmp_path / "third")
        with database(server) as db:
            officer.supersede(db, second.number, third.number)
        page = http.get("/" + second.link.split("/", 3)[3])
        assert state_of(page) == "superseded" and third.number in page.text
        console.close()


def test_forged_foreign_garbage_and_long_codes_each_get_a_clear_page(
    server: EmbeddedServer, budget: VerificationConfig, tmp_path: Path
) -> None:
    printed = print_document(server, "ktp_el", tmp_path)
    token = printed.link.rsplit("/", 1)[1]
    data = bytearray(seal.unb32(token))
    data[10] ^= 0x01  # one byte of the number changed
    forged = seal.b32(bytes(data))
    other = Ed25519PrivateKey.generate()
    foreign = seal.seal(other, "ktp_el", dt.date(2026, 12, 6), "KTP-3276-20261206-000009")
    with public(server) as http:
        assert state_of(http.get(f"/v/{forged}")) == "invalid"
        assert state_of(http.get(f"/v/{foreign}")) == "invalid"
        # The same seal once the other office's key is known here: genuine, not ours.
        budget.peers[seal.raw_key_id(other.public_key())] = Peer(
            "Dukcapil Kota Depok", other.public_key()
        )
        try:
            page = http.get(f"/v/{foreign}", headers={"Accept-Language": "en-GB,en"})
            assert state_of(page) == "foreign" and "Dukcapil Kota Depok" in page.text
            assert "Valid signature, another office" in page.text
        finally:
            budget.peers.clear()
        for path, status, state in [
            ("/v/", 400, "malformed"),
            ("/v/hello", 400, "malformed"),
            ("/v/%00%ff", 400, "malformed"),
            ("/V/" + "A" * 400, 414, "too_long"),
            ("/v/" + token + "%2F..%2F..%2Fetc%2Fpasswd", 400, "malformed"),
            ("/v/" + "7" * 150, 400, "malformed"),
        ]:
            page = http.get(path)
            assert (page.status_code, state_of(page)) == (status, state), path


def test_headers_forbid_scripts_framing_and_referrers(
    server: EmbeddedServer, budget: VerificationConfig
) -> None:
    with public(server) as http:
        page = http.get("/v/NOTHING")
        css = http.get("/verify-static/check.css")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert "set-cookie" not in page.headers
    assert "<script" not in page.text and "http://" not in page.text
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_too_many_checks_from_one_address_get_a_page_saying_when(
    server: EmbeddedServer, budget: VerificationConfig
) -> None:
    budget.per_minute = 4
    with public(server) as http:
        answers = [http.get("/v/AAAA") for _ in range(6)]
    codes = [a.status_code for a in answers]
    assert codes[:4] == [400] * 4 and codes[4:] == [429, 429], codes
    assert state_of(answers[4]) == "limited"
    assert 1 <= int(answers[4].headers["retry-after"]) <= 15


def test_a_register_that_cannot_be_read_is_a_503_page(
    server: EmbeddedServer, budget: VerificationConfig, tmp_path: Path
) -> None:
    printed = print_document(server, "kia", tmp_path)
    path = "/" + printed.link.split("/", 3)[3]
    db_file = Path(server.database_url.removeprefix("sqlite:///"))
    broken = tmp_path / "broken.db"
    shutil.copyfile(db_file, broken)
    with sqlite3.connect(broken) as db:  # a register whose documents cannot be read
        db.execute("ALTER TABLE documents RENAME TO documents_elsewhere")
    server.use_database(f"sqlite:///{broken}", prepare=False)
    try:
        with public(server) as http:
            page = http.get(path)
        assert page.status_code == 503 and state_of(page) == "unavailable"
        assert "Retry-After" in page.headers
    finally:
        server.use_database(f"sqlite:///{db_file}", prepare=False)


def test_adm_server_verify_takes_links_tokens_and_old_texts(
    server: EmbeddedServer, budget: VerificationConfig, tmp_path: Path
) -> None:
    printed = print_document(server, "kia", tmp_path)
    token = printed.link.rsplit("/", 1)[1]
    old = server.settings.issuer.qr_text({"v": "x", "k": "kia", "n": printed.number})
    base = [sys.executable, "-m", "server.cli", "--home", str(server.home.path), "verify"]
    for text in (printed.link, printed.link.lower(), token):
        run = subprocess.run([*base, text], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        assert f"kia {printed.number} issued" in run.stdout
    run = subprocess.run([*base, old], capture_output=True, text=True)
    assert run.returncode == 0 and printed.number in run.stdout, run.stderr
    online = subprocess.run([*base, token, "--online", server.url], capture_output=True, text=True)
    assert online.returncode == 0 and "status: valid" in online.stdout, online.stderr
    forged = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]
    run = subprocess.run([*base, forged], capture_output=True, text=True)
    assert run.returncode == 1 and "adm-server:" in run.stderr and "Traceback" not in run.stderr
