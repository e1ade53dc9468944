"""The central server over real HTTPS with client certificates, on SQLite and PostgreSQL."""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import json
import re
import shutil
import ssl
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from kiosk.server_client import (
    ForgedDocument,
    Locked,
    ServerClient,
    ServerRefused,
    ServerUnavailable,
    Tls,
    WrongSecret,
)
from protocol import seal
from protocol.signing import SignatureError, load_public_key, verify_qr
from server import officer
from server.db import QrToken, make_engine, session_factory
from server.pki import ServerHome
from server.security import keyed_hash
from sim.embedded import EmbeddedServer, mint_kiosk
from sim.population import DEMO_NIK, FAMILIES
from sim.seed import DEMO_QR_TOKEN, card_assertion, demo_code, demo_pin
from tests.conftest import _start_server, kiosk_client

ASSERTION = card_assertion(0.93)
SITI = FAMILIES[0]["members"][1]["nik"]
HENDRA = FAMILIES[1]["members"][0]["nik"]
UNKNOWN_NIK = "3201019999990009"


def ektp_session(client: ServerClient, nik: str = DEMO_NIK) -> str:
    return str(client.open_session("ektp", nik=nik, card=ASSERTION)["session"])


def docs_by_kind(client: ServerClient, session: str) -> dict[str, dict]:
    return {d["kind"]: d for d in client.list_documents(session)}


def job() -> str:
    return str(uuid.uuid4())


def test_ektp_session_lists_own_documents_and_the_family_kk(any_server: EmbeddedServer) -> None:
    client = kiosk_client(any_server)
    opened = client.open_session("ektp", nik=DEMO_NIK, card=ASSERTION)
    assert opened["name"] == "Budi Santoso"
    kinds = sorted(docs_by_kind(client, opened["session"]))
    assert kinds == ["akta_kelahiran", "kartu_keluarga", "kia", "ktp_el"]
    # The wife sees the family card, not her husband's KTP-el.
    assert sorted(docs_by_kind(client, ektp_session(client, SITI))) == ["kartu_keluarga"]


def test_unknown_nik_gets_an_empty_session_not_a_refusal(any_server: EmbeddedServer) -> None:
    client = kiosk_client(any_server)
    opened = client.open_session("ektp", nik=UNKNOWN_NIK, card=ASSERTION)
    assert opened["name"] is None
    assert client.list_documents(opened["session"]) == []


def test_pin_login_and_lockout_that_does_not_reveal_the_nik(any_server: EmbeddedServer) -> None:
    client = kiosk_client(any_server)
    assert client.open_session("pin", nik=SITI, pin=demo_pin(SITI))["name"] == "Siti Aminah"
    answers = {}
    for nik in (HENDRA, UNKNOWN_NIK):
        lefts = []
        for _ in range(4):
            with pytest.raises(WrongSecret) as err:
                client.open_session("pin", nik=nik, pin="000000")
            lefts.append(err.value.attempts_left)
            answers.setdefault(nik, err.value.detail["message"])
        assert lefts == [4, 3, 2, 1]
        with pytest.raises(Locked) as locked:
            client.open_session("pin", nik=nik, pin="000000")
        assert locked.value.locked_until
    assert answers[HENDRA] == answers[UNKNOWN_NIK]
    # Locked means locked, even for the right PIN.
    with pytest.raises(Locked):
        client.open_session("pin", nik=HENDRA, pin=demo_pin(HENDRA))


def test_kiosk_is_locked_after_many_guesses_across_citizens(server: EmbeddedServer) -> None:
    client = kiosk_client(server)
    for i in range(19):
        with pytest.raises(WrongSecret):
            client.open_session("pin", nik=f"32010199999900{i:02d}", pin="000000")
    with pytest.raises(Locked):
        client.open_session("pin", nik="3201019999990099", pin="000000")
    # Another kiosk is not affected.
    other = kiosk_client(server, "kiosk-b")
    assert other.open_session("pin", nik=SITI, pin=demo_pin(SITI))["session"]


def test_qr_token_is_single_use_and_expires(any_server: EmbeddedServer) -> None:
    client = kiosk_client(any_server)
    assert client.open_session("qr", token=DEMO_QR_TOKEN)["name"] == "Budi Santoso"
    with pytest.raises(WrongSecret):
        client.open_session("qr", token=DEMO_QR_TOKEN)
    engine = make_engine(any_server.database_url)
    pepper = any_server.home.pepper()
    with session_factory(engine)() as db:
        token = officer.qr_token(db, pepper, DEMO_NIK)
        db.execute(
            update(QrToken)
            .where(QrToken.token_hash == keyed_hash(pepper, "qr", token))
            .values(expires_at=dt.datetime(2020, 1, 1))
        )
        db.commit()
    engine.dispose()
    with pytest.raises(WrongSecret):
        client.open_session("qr", token=token)


def test_reserve_returns_a_verified_signed_payload(any_server: EmbeddedServer) -> None:
    client = kiosk_client(any_server)
    session = ektp_session(client)
    kk = docs_by_kind(client, session)["kartu_keluarga"]
    j = job()
    res = client.reserve(session, j, kk["id"], demo_code(kk["number"]))
    assert res.state == "reserved"
    assert res.payload["job_id"] == j and res.payload["kiosk_id"] == "kiosk-test"
    assert [m["nik"] for m in res.payload["family"]["members"]] == [
        m["nik"] for m in FAMILIES[0]["members"]
    ]
    issuer = load_public_key(any_server.home.issuer_pub.read_bytes())
    token = seal.token_of(res.payload["verification"])
    found, _ = seal.check(token, {seal.raw_key_id(issuer): issuer})
    assert (found.kind, found.number) == ("kartu_keluarga", kk["number"])
    # The reserved document is no longer offered; never printed yet, so its seal is not
    # of a printed document.
    assert "kartu_keluarga" not in docs_by_kind(client, session)
    assert check_state(any_server, token) == "unrecorded"
    client.confirm(j)
    assert check_state(any_server, token) == "valid"


def test_wrong_print_code_counts_down_then_locks(any_server: EmbeddedServer) -> None:
    client = kiosk_client(any_server)
    session = ektp_session(client)
    ktp = docs_by_kind(client, session)["ktp_el"]
    lefts = []
    for _ in range(4):
        with pytest.raises(WrongSecret) as err:
            client.reserve(session, job(), ktp["id"], "00000000")
        lefts.append(err.value.attempts_left)
    assert lefts == [4, 3, 2, 1]
    with pytest.raises(Locked):
        client.reserve(session, job(), ktp["id"], "00000000")
    with pytest.raises(Locked):
        client.reserve(session, job(), ktp["id"], demo_code(ktp["number"]))


def test_reserve_is_idempotent_on_the_job_id(any_server: EmbeddedServer) -> None:
    client = kiosk_client(any_server)
    session = ektp_session(client)
    docs = docs_by_kind(client, session)
    kk, ktp = docs["kartu_keluarga"], docs["ktp_el"]
    j = job()
    first = client.reserve(session, j, kk["id"], demo_code(kk["number"]))
    again = client.reserve(session, j, kk["id"], demo_code(kk["number"]))
    assert again == first
    with pytest.raises(ServerRefused) as err:
        client.reserve(session, j, ktp["id"], demo_code(ktp["number"]))
    assert (err.value.status, err.value.code) == (409, "job_id_reused")


def test_parallel_reservations_of_one_document_exactly_one_wins(
    any_server: EmbeddedServer,
) -> None:
    _race_for_one_document(any_server)


def test_database_work_in_threads_keeps_one_winner_and_settles(
    threaded_server: EmbeddedServer,
) -> None:
    """With the handlers' database work in a thread pool, requests of one worker overlap
    on separate connections: still exactly one reservation wins, and it settles."""
    winner = _race_for_one_document(threaded_server)
    client = kiosk_client(threaded_server, "kiosk-test")
    other = kiosk_client(threaded_server, "kiosk-b")
    owner, stranger = (client, other) if _owns(client, winner) else (other, client)
    with pytest.raises(ServerRefused):
        stranger.confirm(winner)
    assert owner.confirm(winner)["state"] == "confirmed"


def _owns(client: ServerClient, job_id: str) -> bool:
    try:
        client.reservation(job_id)
    except ServerRefused:
        return False
    return True


def _race_for_one_document(srv: EmbeddedServer) -> str:
    clients = [kiosk_client(srv, k) for k in ("kiosk-test", "kiosk-b")]
    sessions = [ektp_session(c) for c in clients]
    kk = docs_by_kind(clients[0], sessions[0])["kartu_keluarga"]
    code = demo_code(kk["number"])

    def attempt(i: int) -> str:
        c, s = clients[i % 2], sessions[i % 2]
        try:
            return c.reserve(s, job(), kk["id"], code).job_id
        except ServerRefused as exc:
            assert exc.status == 409, exc
            return ""

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        winners = [j for j in pool.map(attempt, range(32)) if j]
    assert len(winners) == 1
    return winners[0]


def test_confirm_is_idempotent_and_a_printed_document_is_never_offered_again(
    any_server: EmbeddedServer,
) -> None:
    client = kiosk_client(any_server)
    session = ektp_session(client)
    kk = docs_by_kind(client, session)["kartu_keluarga"]
    j = job()
    client.reserve(session, j, kk["id"], demo_code(kk["number"]))
    assert client.confirm(j)["state"] == "confirmed"
    assert client.confirm(j)["state"] == "confirmed"
    assert client.reservation(j)["state"] == "confirmed"
    assert "kartu_keluarga" not in docs_by_kind(client, ektp_session(client))
    with pytest.raises(ServerRefused) as err:
        client.reserve(session, job(), kk["id"], demo_code(kk["number"]))
    assert err.value.status in (403, 409)  # the code is spent with the print
    with pytest.raises(ServerRefused) as err:
        client.release(j)
    assert err.value.code == "confirmed"


def test_release_returns_the_entitlement(any_server: EmbeddedServer) -> None:
    client = kiosk_client(any_server)
    session = ektp_session(client)
    kk = docs_by_kind(client, session)["kartu_keluarga"]
    j = job()
    client.reserve(session, j, kk["id"], demo_code(kk["number"]))
    assert client.release(j, "printer jam")["state"] == "released"
    assert client.release(j)["state"] == "released"
    assert "kartu_keluarga" in docs_by_kind(client, session)
    with pytest.raises(ServerRefused) as err:
        client.confirm(j)
    assert err.value.code == "released"
    j2 = job()
    assert client.reserve(session, j2, kk["id"], demo_code(kk["number"])).state == "reserved"


def test_a_release_reason_with_a_nul_or_a_control_code_is_refused_not_a_500(
    any_server: EmbeddedServer,
) -> None:
    """Found by the long Schemathesis run on PostgreSQL: a NUL in the reason reached
    the database, which refuses NUL in text, and the answer was a 500."""
    client = kiosk_client(any_server)
    session = ektp_session(client)
    kk = docs_by_kind(client, session)["kartu_keluarga"]
    j = job()
    client.reserve(session, j, kk["id"], demo_code(kk["number"]))
    for reason in ("jam\x00", "line one\nline two", "\x1b[31m"):
        with pytest.raises(ServerRefused) as err:
            client.release(j, reason)
        assert err.value.status == 422, (reason, err.value)
    assert client.release(j, "kertas macet")["state"] == "released"


def test_another_kiosk_cannot_settle_my_job(any_server: EmbeddedServer) -> None:
    mine, theirs = kiosk_client(any_server), kiosk_client(any_server, "kiosk-b")
    session = ektp_session(mine)
    kk = docs_by_kind(mine, session)["kartu_keluarga"]
    j = job()
    mine.reserve(session, j, kk["id"], demo_code(kk["number"]))
    for call in (theirs.confirm, theirs.release, theirs.reservation):
        with pytest.raises(ServerRefused) as err:
            call(j)
        assert err.value.status == 404
    # Nor use my citizen session.
    with pytest.raises(ServerRefused) as err:
        theirs.list_documents(session)
    assert err.value.status == 401
    # Their attempts changed nothing: the job is still mine to settle.
    assert mine.reservation(j)["state"] == "reserved"
    assert mine.confirm(j)["state"] == "confirmed"


def test_api_requires_a_registered_unrevoked_certificate(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    ctx = ssl.create_default_context(cafile=str(server.home.ca_cert))
    anonymous = httpx.post(f"{server.url}/api/v1/sessions", json={}, verify=ctx)
    assert anonymous.status_code == 401
    assert httpx.get(f"{server.url}/api/v1/health", verify=ctx).status_code == 200
    # A certificate from another CA does not get through the handshake.
    stranger = ServerHome(tmp_path / "other")
    stranger.init()
    cert = mint_kiosk(stranger, "kiosk-test")
    foreign = ServerClient(
        server.url,
        tls=Tls(server.home.ca_cert, cert.cert, cert.key),
        issuer_key=server.home.issuer_pub,
        retries=0,
    )
    with pytest.raises((ServerUnavailable, ServerRefused)):
        foreign.open_session("ektp", nik=DEMO_NIK, card=ASSERTION)
    # Re-issuing retires the old certificate; revoking refuses the kiosk.
    old = kiosk_client(server, "kiosk-b")
    engine = make_engine(server.database_url)
    with session_factory(engine)() as db:
        issued = mint_kiosk(server.home, "kiosk-b", tmp_path / "new")
        officer.register_kiosk(db, "kiosk-b", issued.serial)
        with pytest.raises(ServerRefused) as err:
            old.open_session("ektp", nik=DEMO_NIK, card=ASSERTION)
        assert err.value.code == "unknown_kiosk"
        officer.revoke_kiosk(db, "kiosk-test")
    engine.dispose()
    with pytest.raises(ServerRefused) as err:
        kiosk_client(server).open_session("ektp", nik=DEMO_NIK, card=ASSERTION)
    assert err.value.code in ("kiosk_revoked", "unknown_kiosk")


def test_kiosk_refuses_a_payload_signed_by_another_key(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    other = ServerHome(tmp_path / "other")
    other.init()
    cred = server.credentials("kiosk-test")
    client = ServerClient(
        server.url, tls=Tls(server.home.ca_cert, cred.cert, cred.key), issuer_key=other.issuer_pub
    )
    session = ektp_session(client)
    kk = docs_by_kind(client, session)["kartu_keluarga"]
    with pytest.raises(ForgedDocument):
        client.reserve(session, job(), kk["id"], demo_code(kk["number"]))


def test_tampered_payload_is_detected(server: EmbeddedServer) -> None:
    client = kiosk_client(server)
    session = ektp_session(client)
    kk = docs_by_kind(client, session)["kartu_keluarga"]
    j = job()
    raw = httpx.post(
        f"{server.url}/api/v1/reservations",
        json={"job_id": j, "document_id": kk["id"], "print_code": demo_code(kk["number"])},
        headers={"Authorization": f"Bearer {session}"},
        verify=Tls(server.home.ca_cert, *_cred(server)).context(),
    ).json()
    client.verify(raw["payload"], raw["signature"])
    raw["payload"]["family"]["members"][0]["name"] = "Orang Lain"
    with pytest.raises(ForgedDocument):
        client.verify(raw["payload"], raw["signature"])


def check_state(server: EmbeddedServer, token: str) -> str:
    """The verdict the public check page gives for ``token``."""
    page = httpx.get(f"{server.url}/v/{token}", verify=False).text
    found = re.search(r'data-state="([a-z_]+)"', page)
    assert found is not None, page[:300]
    return found.group(1)


def _cred(server: EmbeddedServer) -> tuple[Path, Path]:
    c = server.credentials("kiosk-test")
    return c.cert, c.key


def _printed_kk(server: EmbeddedServer) -> tuple[dict[str, Any], str]:
    """Budi's KK reserved, printed and confirmed: the document and its printed QR."""
    client = kiosk_client(server)
    session = ektp_session(client)
    kk = docs_by_kind(client, session)["kartu_keluarga"]
    j = job()
    qr = client.reserve(session, j, kk["id"], demo_code(kk["number"])).payload["verification"]
    client.confirm(j)
    return kk, str(qr)


def test_verify_offline_and_supersede(server: EmbeddedServer) -> None:
    kk, qr = _printed_kk(server)
    cli = [sys.executable, "-m", "server.cli", "--home", str(server.home.path)]
    ok = subprocess.run(
        [*cli, "verify", qr, "--online", server.url], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    assert "signature: valid" in ok.stdout and "status: valid" in ok.stdout
    token = seal.token_of(qr)
    forged = token[:-20] + ("A" if token[-20] != "A" else "B") + token[-19:]  # the signature
    bad = subprocess.run([*cli, "verify", forged], capture_output=True, text=True)
    assert bad.returncode == 1 and "does not verify" in bad.stderr
    # An officer supersedes the printed KK with a new one: the QR now says so.
    engine = make_engine(server.database_url)
    pepper = server.home.pepper()
    with session_factory(engine)() as db:
        app = officer.register(db, "kartu_keluarga", DEMO_NIK)
        new = officer.approve(db, pepper, app.id, {"name": "x", "nip": "1", "title": "t"})
        officer.supersede(db, kk["number"], new.document.number)
    engine.dispose()
    assert check_state(server, seal.token_of(qr)) == "superseded"
    now = subprocess.run(
        [*cli, "verify", qr, "--online", server.url], capture_output=True, text=True
    )
    assert now.returncode == 1 and "status: superseded" in now.stdout, now.stderr


def test_verify_online_believes_only_a_server_of_the_deployment_ca(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    """GIVEN a printed QR WHEN `verify --online` asks an impostor (a server with another
    CA) or a closed port, or is given text that is not even Unicode THEN it says so in one
    line and exits 1: no status is believed, no traceback."""
    _kk, qr = _printed_kk(server)
    cli = [sys.executable, "-m", "server.cli", "--home", str(server.home.path), "verify"]
    ServerHome(tmp_path / "other").init()  # another CA, another server certificate
    impostor = _start_server(f"sqlite:///{tmp_path / 'other.db'}", tmp_path / "other", tmp_path)
    try:
        fooled = subprocess.run(
            [*cli, qr, "--online", impostor.url], capture_output=True, text=True, timeout=60
        )
    finally:
        impostor.stop()
    closed = subprocess.run(
        [*cli, qr, "--online", "https://127.0.0.1:9"], capture_output=True, text=True, timeout=60
    )
    noise = subprocess.run(
        [*[c.encode() for c in cli], b"ADM1.\xff\xfe." + b"\x80" * 8],
        capture_output=True,
        timeout=60,
    )
    for res, says in ((fooled, "online check"), (closed, "online check")):
        assert res.returncode == 1, res.stderr
        assert "status:" not in res.stdout and says in res.stderr
        assert "Traceback" not in res.stderr
    assert noise.returncode == 1 and b"Traceback" not in noise.stderr


def test_verify_online_refuses_an_address_that_is_not_https(server: EmbeddedServer) -> None:
    """GIVEN a fake status server on plain http that answers "active" to anything WHEN
    `verify --online http://...` is asked THEN it refuses in one line, exits 2, and the
    fake server is never asked."""
    import http.server
    import threading

    asked: list[str] = []

    class Fake(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = b'{"status": "active"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    fake = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Fake)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    _kk, qr = _printed_kk(server)
    cli = [sys.executable, "-m", "server.cli", "--home", str(server.home.path), "verify", qr]
    try:
        assert httpx.get(f"http://127.0.0.1:{fake.server_port}/verify/x").json() == {
            "status": "active"
        }  # the fake would have said so
        asked.clear()
        for address in (
            f"http://127.0.0.1:{fake.server_port}",
            f"HTTP://127.0.0.1:{fake.server_port}",
            f"127.0.0.1:{fake.server_port}",
            "https://",
            f"ftp://127.0.0.1:{fake.server_port}",
        ):
            res = subprocess.run(
                [*cli, "--online", address], capture_output=True, text=True, timeout=60
            )
            assert res.returncode == 2, (address, res.stdout, res.stderr)
            assert res.stdout == "" and len(res.stderr.strip().splitlines()) == 1
            assert "not an https:// address" in res.stderr
    finally:
        fake.shutdown()
    assert asked == []


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.builds(lambda t: "ADM1." + t, st.text(max_size=200)))
def test_verify_qr_of_any_text_is_fields_or_a_signature_error(text: str) -> None:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    with contextlib.suppress(SignatureError):
        assert isinstance(verify_qr(key, text), dict)


def test_officer_cli_registers_approves_and_lists(server: EmbeddedServer, tmp_path: Path) -> None:
    cli = [
        sys.executable,
        "-m",
        "server.cli",
        "--home",
        str(server.home.path),
        "--db",
        server.database_url,
    ]
    data = tmp_path / "akta.json"
    data.write_text(json.dumps({"registration_number": "3271-LT-01", "name": "Bayi"}))
    reg = subprocess.run(
        [
            *cli,
            "officer",
            "--as",
            "rina.w",
            "register",
            "akta_kelahiran",
            SITI,
            "--data",
            str(data),
        ],
        capture_output=True,
        text=True,
    )
    assert reg.returncode == 0, reg.stderr
    app_id = int(reg.stdout.split()[1])
    ok = subprocess.run([*cli, "officer", "approve", str(app_id)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    number, code = ok.stdout.split()[1], ok.stdout.split("print code ")[1].split()[0]
    client = kiosk_client(server)
    session = ektp_session(client, SITI)
    akta = docs_by_kind(client, session)["akta_kelahiran"]
    assert akta["number"] == number
    assert client.reserve(session, job(), akta["id"], code).payload["data"]["name"] == "Bayi"
    from server.db import Outbox

    def stored() -> list[tuple[str, bytes | None]]:
        engine = make_engine(server.database_url)
        try:
            with session_factory(engine)() as db:
                return [(m.text, m.sealed) for m in db.query(Outbox).order_by(Outbox.id)]
        finally:
            engine.dispose()

    # Waiting for the sender: the code is in the outbox only sealed to the sender's key.
    waiting = stored()
    assert all(code not in text for text, _ in waiting)
    assert any(sealed and code.encode() not in sealed for _, sealed in waiting)
    outbox = subprocess.run([*cli, "officer", "outbox"], capture_output=True, text=True).stdout
    assert code in outbox and SITI not in outbox  # handed over, masked NIK in the listing
    assert all(code not in text and sealed is None for text, sealed in stored())
    again = subprocess.run([*cli, "officer", "outbox"], capture_output=True, text=True).stdout
    assert code not in again and "sent" in again  # nothing left to give away
    bad = subprocess.run(
        [*cli, "officer", "register", "paspor", SITI], capture_output=True, text=True
    )
    assert bad.returncode == 1 and "unknown document kind" in bad.stderr
    # Every office action is audited with the person who did it, not just "officer".
    from server.db import AuditEntry

    engine = make_engine(server.database_url)
    with session_factory(engine)() as db:
        actors = {
            e.action: e.actor
            for e in db.query(AuditEntry).filter(AuditEntry.actor.like("officer%"))
        }
    engine.dispose()
    assert actors["application_registered"] == "officer:rina.w"
    assert actors["approved"].startswith("officer:") and actors["approved"] != "officer:"


@pytest.mark.parametrize(
    ("setup", "args", "code", "says"),
    [
        ("empty", ["officer", "kiosks"], 2, "has no keys: run 'adm-server pki init' first"),
        ("empty", ["migrate"], 2, "has no keys"),
        ("keys", ["--db", "nosuchdb://x", "officer", "kiosks"], 2, "database nosuchdb://x"),
        ("keys", ["officer", "revoke", "KK-NO-SUCH", "--reason", "lost"], 1, "KK-NO-SUCH"),
        ("keys", ["verify", "ADM1.nonsense"], 1, ""),
    ],
)
def test_server_cli_exit_codes_follow_the_convention(
    server_home: Path, tmp_path: Path, setup: str, args: list[str], code: int, says: str
) -> None:
    """0 done, 1 the operation failed, 2 it could not run: one line on stderr, no
    traceback, as with adm-kiosk and adm-sim."""
    home = tmp_path / "home"
    if setup == "keys":
        shutil.copytree(server_home, home)
    else:
        home.mkdir()
    db = ["--db", f"sqlite:///{tmp_path / 's.db'}"] if "--db" not in args else []
    res = subprocess.run(
        [sys.executable, "-m", "server.cli", "--home", str(home), *db, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == code, res.stderr
    assert "Traceback" not in res.stderr and res.stderr.startswith("adm-server: ")
    assert says in res.stderr


def test_heartbeat_is_recorded(server: EmbeddedServer) -> None:
    client = kiosk_client(server)
    client.heartbeat(
        "attract", {"card": "ok", "a4": "media-empty"}, {"a4_paper": 0, "cards": 42}, "ab" * 32
    )
    engine = make_engine(server.database_url)
    with session_factory(engine)() as db:
        k = {k.id: k for k in officer.kiosks(db)}["kiosk-test"]
        assert k.last_seen is not None
        assert k.last_status["supplies"] == {"a4_paper": 0, "cards": 42}
        assert k.last_status["audit_head"] == "ab" * 32
    engine.dispose()


def test_heartbeat_history_is_kept_for_its_retention_only(any_server: EmbeddedServer) -> None:
    """GIVEN a kiosk's heartbeats older than the retention (30 days) WHEN it sends the next
    one THEN its old history is gone and its recent kept; another kiosk's is untouched
    until that kiosk calls in (storage stays bounded without a cron job)."""
    from sqlalchemy import select

    from server.db import Heartbeat, utcnow

    engine = make_engine(any_server.database_url)
    any_server.credentials("kiosk-b")
    now = utcnow()
    with session_factory(engine)() as db:
        for kiosk, days in (
            ("kiosk-test", 40),
            ("kiosk-test", 31),
            ("kiosk-test", 2),
            ("kiosk-b", 40),
        ):
            db.add(Heartbeat(kiosk_id=kiosk, at=now - dt.timedelta(days=days), status={}))
        db.commit()
    kiosk_client(any_server).heartbeat("attract", {}, {})
    with session_factory(engine)() as db:
        ages = sorted(
            (h.kiosk_id, round((now - h.at) / dt.timedelta(days=1)))
            for h in db.scalars(select(Heartbeat))
        )
    engine.dispose()
    assert ages == [("kiosk-b", 40), ("kiosk-test", 0), ("kiosk-test", 2)]


def test_idempotent_calls_are_retried_through_a_503(server: EmbeddedServer) -> None:
    """A proxy in front of the server answers 503 twice; confirm still goes through once."""
    seen: list[str] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if len(seen) <= 2:
            return httpx.Response(503, json={"detail": "maintenance"})
        return httpx.Response(200, json={"job_id": "j", "document_id": 1, "state": "confirmed"})

    sleeps: list[float] = []
    client = ServerClient("https://adm.invalid", sleep=sleeps.append)
    client._client = httpx.Client(
        base_url="https://adm.invalid", transport=httpx.MockTransport(flaky)
    )
    assert client.confirm("j")["state"] == "confirmed"
    assert len(seen) == 3 and sleeps == [0.25, 0.5]
    # Opening a session is never retried: a PIN guess must not count twice.
    seen.clear()
    with pytest.raises(ServerRefused) as err:
        client.open_session("pin", nik=SITI, pin="123456")
    assert err.value.status == 503 and len(seen) == 1


def test_server_down_is_a_clear_error() -> None:
    client = ServerClient("https://127.0.0.1:9", retries=1, sleep=lambda _s: None)
    with pytest.raises(ServerUnavailable, match="unreachable"):
        client.list_documents("x" * 20)


def test_migrations_match_the_models_on_both_databases(any_server: EmbeddedServer) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from server.db import Base
    from server.migrate import current

    engine = make_engine(any_server.database_url)
    assert current(engine) == "0008"
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_a_database_restart_costs_a_read_nothing(
    pg_cluster: Any, tmp_path: Path, server_home: Path
) -> None:
    """GIVEN a server whose pooled PostgreSQL connections were cut by a database restart
    WHEN kiosks call THEN a call that broke before any commit is run again on a fresh
    connection (a read: answered as if nothing happened), never a 500, and the data is
    intact.  (What cannot be retried is a 503: tests/test_failover.py.)"""
    url = pg_cluster.create_database(f"restart_{uuid.uuid4().hex[:8]}")
    srv = _start_server(url, server_home, tmp_path)
    try:
        client = kiosk_client(srv)
        session = ektp_session(client)
        assert "kartu_keluarga" in docs_by_kind(client, session)
        cred = srv.credentials("kiosk-test")
        ctx = ssl.create_default_context(cafile=str(srv.home.ca_cert))
        ctx.load_cert_chain(cred.cert, cred.key)
        pg_cluster.restart()
        statuses = []
        with httpx.Client(base_url=srv.url, verify=ctx, timeout=10) as http:
            for _ in range(5):
                r = http.get("/api/v1/documents", headers={"Authorization": f"Bearer {session}"})
                statuses.append(r.status_code)
                if r.status_code == 200:
                    break
                assert r.json()["detail"]["code"] == "database_unavailable"
        # The pooled connection died with the restart; the read was retried on a new one.
        assert statuses == [200], statuses
        assert "kartu_keluarga" in docs_by_kind(client, session)
    finally:
        srv.stop()


def test_the_server_serves_without_the_ca_key_and_issues_only_where_it_is(
    server_home: Path, tmp_path: Path
) -> None:
    """GIVEN a serving host holding everything but the CA's private key (issuing kiosk
    certificates is an offline step) WHEN the server starts THEN it serves kiosks, `pki
    init` leaves the CA alone, and issuing a certificate there is refused in one line."""
    full = tmp_path / "full"
    shutil.copytree(server_home, full)
    srv = EmbeddedServer(f"sqlite:///{tmp_path / 'a.db'}", full, kiosks=("kiosk-test",))
    srv.prepare(f"sqlite:///{tmp_path / 'a.db'}")  # kiosk credentials issued at the CA
    serving = tmp_path / "serving"
    shutil.copytree(full, serving)
    (serving / "ca.key").unlink()
    ca_before = (serving / "ca.pem").read_bytes()
    srv = EmbeddedServer(f"sqlite:///{tmp_path / 'a.db'}", serving, kiosks=("kiosk-test",))
    srv.start()
    try:
        client = kiosk_client(srv)
        assert ektp_session(client)  # mTLS and the kiosk's registration work
        client.close()
        # A new kiosk's request arrives at the serving host (nothing is signed there).
        from kiosk.provision import new_key, request_pem
        from protocol.identity import key_fingerprint as fingerprint

        key = new_key()
        answer = httpx.post(
            f"{srv.url}/api/v1/enrolments",
            json={"csr": request_pem(key, "kiosk-new")},
            verify=ssl.create_default_context(cafile=str(serving / "ca.pem")),
        )
        assert answer.status_code == 202 and answer.json()["status"] == "pending"
        request = answer.json()["request"]
    finally:
        srv.stop()
    assert not (serving / "ca.key").exists() and (serving / "ca.pem").read_bytes() == ca_before
    cli = [sys.executable, "-m", "server.cli", "--home", str(serving)]
    db = ["--db", f"sqlite:///{tmp_path / 'a.db'}"]
    sign = [*cli, *db, "pki", "sign-kiosk", request, "--fingerprint"]
    issue = subprocess.run(
        [*sign, fingerprint(key.public_key()), "--as", "t"], capture_output=True, text=True
    )
    assert issue.returncode == 1 and "not on this host" in issue.stderr
    assert "Traceback" not in issue.stderr
    # Where the CA key is kept, the same request is signed.
    at_ca = [sys.executable, "-m", "server.cli", "--home", str(full), *db, "pki", "sign-kiosk"]
    done = subprocess.run(
        [*at_ca, request, "--fingerprint", fingerprint(key.public_key()), "--as", "t"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "certificate" in done.stdout, done.stderr
