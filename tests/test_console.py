"""The office console over real HTTPS: logins (Argon2id, TOTP, lockout), sessions kept
apart from the kiosk API, CSRF and roles on every form, office work with its audit,
both languages on every page, the alerts each produced by its cause, and /metrics."""

from __future__ import annotations

import base64
import datetime
import io
import re
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from drivers.card.base import ReaderState
from kiosk.health import HealthMonitor
from kiosk.print_service import PrintService
from kiosk.store import KioskStore, chain_hash
from printing.card_stock import CardStock, MemoryCardLedger
from printing.sim_spooler import SimSpooler
from server import rollout
from server.alerts import AlertRules, audit_check
from server.console.i18n import LANGUAGES, TEXT
from server.db import (
    Application,
    AuditEntry,
    ConsoleSession,
    ConsoleUser,
    Kiosk,
    utcnow,
)
from sim.embedded import EmbeddedServer
from sim.population import DEMO_NIK
from sim.rig import Rig
from sim.seed import card_assertion, demo_code
from tests.conftest import kiosk_client, wait_for
from tests.console_helpers import PASSWORD, Console, add_user, database

ASSERTION = card_assertion(0.93)


@pytest.fixture
def console(server: EmbeddedServer) -> Iterator[Console]:
    c = Console(server)
    yield c
    c.close()


@pytest.fixture
def rules(server: EmbeddedServer) -> Iterator[EmbeddedServer]:
    """The shared server's alert rules and metrics token, put back after the test."""
    settings = server.settings
    before = (settings.alert_rules, settings.metrics_token_hash)
    yield server
    settings.alert_rules, settings.metrics_token_hash = before


def fleet_row(console: Console, kiosk: str) -> str:
    page = console.get("/console/").text
    start = page.index(f'id="kiosk-{kiosk}"')
    return page[start : page.index("</tr>", start)]


# ---------------------------------------------------------------- logins and sessions


def test_a_page_wants_a_login_and_a_kiosk_certificate_is_not_one(server: EmbeddedServer) -> None:
    cred = server.credentials("kiosk-test")
    with_cert = Console(server, cert=(str(cred.cert), str(cred.key)))
    try:
        for path in ("/console/", "/console/documents", "/console/kiosks/kiosk-test"):
            answer = with_cert.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/console/login?next=")
        assert with_cert.get("/console/alerts.json").status_code == 303
    finally:
        with_cert.close()


def test_the_kiosk_api_never_takes_a_console_session(
    server: EmbeddedServer, console: Console
) -> None:
    add_user(server, "siti", "supervisor")
    assert console.login("siti").status_code == 303
    assert console.get("/console/").status_code == 200
    # The browser's cookie opens nothing on the kiosk API: no certificate, no entry.
    answer = console.get("/api/v1/documents")
    assert answer.status_code == 401
    assert answer.json()["detail"]["code"] == "no_certificate"
    answer = console.http.post("/api/v1/heartbeat", json={"state": "attract"})
    assert answer.status_code == 401


def test_the_session_cookie_is_secure_httponly_strict_and_only_a_hash_is_stored(
    server: EmbeddedServer, console: Console
) -> None:
    add_user(server, "siti", "officer")
    answer = console.login("siti")
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("__Host-adm_console=")
    )
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite=strict", "path=/"} <= flags
    token = cookie.split(";")[0].split("=", 1)[1]
    raw = sqlite3.connect(server.database_url.removeprefix("sqlite:///"))
    stored = raw.execute("SELECT token_hash, csrf FROM console_sessions").fetchall()
    raw.close()
    assert len(stored) == 1 and token.encode() not in stored[0][0]
    page = console.get("/console/")
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]


def test_wrong_passwords_throttle_the_source_and_each_try_is_audited(
    server: EmbeddedServer, console: Console
) -> None:
    add_user(server, "budi", "officer")
    for _ in range(5):
        answer = console.login("budi", "salah-salah-salah")
        assert answer.status_code == 401 and "salah" in answer.text
    # This source waits: even the right password is refused, and says until when.
    answer = console.login("budi")
    assert answer.status_code == 401 and "alamat ini" in answer.text
    with database(server) as db:
        reasons = [
            e.detail.get("reason")
            for e in db.scalars(select(AuditEntry).where(AuditEntry.action.like("console_%")))
        ]
        user = db.get(ConsoleUser, "budi")
        assert user is not None and user.locked_until is None  # the account is not locked
    assert reasons.count("password") == 5 and "throttled" in reasons


def _auth(db: Any, name: str, password: str, source: str, **kw: Any) -> Any:
    from server.console import accounts

    return accounts.authenticate(db, name, password, source=source, **kw)


def test_one_outsider_cannot_lock_an_officer_out_and_a_crowd_does_not_lock_her_browser(
    server: EmbeddedServer,
) -> None:
    """Per-source throttling comes before the account lock: one address guessing is
    stopped at five tries without the account noticing; twenty failures from many
    addresses lock the account, but not a browser that signed in to it before."""
    from server.console import accounts

    add_user(server, "budi", "officer")
    pepper = server.home.pepper()
    with database(server) as db:
        for _ in range(5):
            assert _auth(db, "budi", "x" * 12, "203.0.113.9").error == "bad_credentials"
        assert _auth(db, "budi", PASSWORD, "203.0.113.9").error == "throttled"
        # The officer, from her own desk, is not held by the outsider's tries.
        assert _auth(db, "budi", PASSWORD, "10.1.2.3").user is not None
        # A guesser's own good login in between does not reset its source's count.
        add_user(server, "eko", "officer")
        assert _auth(db, "eko", PASSWORD, "203.0.113.9").error == "throttled"
        # A crowd: four addresses, five tries each, lock the account ...
        for n in range(4):
            for _ in range(5):
                _auth(db, "budi", "y" * 12, f"198.51.100.{n}")
        locked = _auth(db, "budi", PASSWORD, "10.9.9.9")
        assert locked.error == "locked" and locked.locked_until is not None
        # ... but not the browser that signed in to it before.
        device = accounts.device_token(pepper, "budi")
        again = _auth(db, "budi", PASSWORD, "10.1.2.3", device=device, pepper=pepper)
        assert again.user is not None
        other = accounts.device_token(pepper, "eko")  # another account's cookie: no
        assert _auth(db, "budi", PASSWORD, "10.1.2.4", device=other, pepper=pepper).error == (
            "locked"
        )


def test_supervisors_need_a_second_factor_and_a_code_is_accepted_once(
    server: EmbeddedServer,
) -> None:
    from server.console import accounts

    secret = add_user(server, "rina", "supervisor")  # no totp asked: given anyway
    assert secret
    totp = pyotp.TOTP(secret)
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    code = totp.now()
    with database(server) as db:
        assert _auth(db, "rina", PASSWORD, "10.0.0.1", otp=code).user is not None
        # The same code again (read over a shoulder, replayed): refused.
        assert _auth(db, "rina", PASSWORD, "10.0.0.2", otp=code).error == "second_factor"
        # An older code after a newer one: refused; the next step's: accepted once.
        step = totp.timecode(now.replace(tzinfo=datetime.UTC))
        earlier = totp.generate_otp(step - 1)
        assert _auth(db, "rina", PASSWORD, "10.0.0.3", otp=earlier).error == "second_factor"
        later = totp.generate_otp(step + 1)
        assert _auth(db, "rina", PASSWORD, "10.0.0.4", otp=later).user is not None
        # A supervisor whose secret was removed cannot sign in on the password alone.
        user = db.get(ConsoleUser, "rina")
        assert user is not None
        user.totp_secret = None
        db.commit()
        assert _auth(db, "rina", PASSWORD, "10.0.0.5").error == "totp_required"
        fresh = accounts.set_totp(db, "rina")
        assert _auth(db, "rina", PASSWORD, "10.0.0.6", otp=pyotp.TOTP(fresh).now()).user


def test_an_idle_console_session_ends_before_its_eight_hours(
    server: EmbeddedServer, console: Console
) -> None:
    add_user(server, "dewi", "technician")
    assert console.login("dewi").status_code == 303
    assert console.get("/console/").status_code == 200
    with database(server) as db:
        row = db.scalars(select(ConsoleSession)).one()
        row.active_at = utcnow() - server.settings.console_idle + datetime.timedelta(minutes=1)
        db.commit()
    assert console.get("/console/").status_code == 200  # still within the idle time
    with database(server) as db:
        row = db.scalars(select(ConsoleSession)).one()
        assert row.active_at > utcnow() - datetime.timedelta(minutes=1)  # activity recorded
        row.active_at = utcnow() - server.settings.console_idle - datetime.timedelta(seconds=1)
        db.commit()
    gone = console.get("/console/")
    assert gone.status_code == 303 and "/console/login" in gone.headers["location"]
    with database(server) as db:
        assert db.scalars(select(ConsoleSession)).all() == []
        actions = [a.action for a in db.scalars(select(AuditEntry)).all()]
    assert "console_session_idle" in actions


def test_a_new_password_or_a_disabled_account_ends_the_session(
    server: EmbeddedServer, console: Console
) -> None:
    from server.console import accounts

    add_user(server, "dewi", "technician")
    console.login("dewi")
    assert console.get("/console/").status_code == 200
    with database(server) as db:
        accounts.set_password(db, "dewi", "another-long-password")
    assert console.get("/console/").status_code == 303
    console.login("dewi", "another-long-password")
    assert console.get("/console/").status_code == 200
    with database(server) as db:
        accounts.set_disabled(db, "dewi", True)
    assert console.get("/console/").status_code == 303
    assert console.login("dewi", "another-long-password").status_code == 401


def test_logout_ends_the_session(server: EmbeddedServer, console: Console) -> None:
    add_user(server, "siti", "officer")
    console.login("siti")
    cookie = console.http.cookies.get("__Host-adm_console")
    assert console.post("/console/logout").status_code == 303
    console.http.cookies.set("__Host-adm_console", cookie or "", domain="127.0.0.1")
    assert console.get("/console/").status_code == 303


# ---------------------------------------------------------------- CSRF and roles


def test_a_form_without_the_sessions_csrf_token_or_from_elsewhere_is_refused(
    server: EmbeddedServer, console: Console
) -> None:
    add_user(server, "siti", "officer")
    console.login("siti")
    before = _count_applications(server)
    form = {"kind": "kia", "nik": DEMO_NIK, "data": ""}
    assert console.post("/console/office/register", csrf="", **form).status_code == 403
    assert console.post("/console/office/register", csrf="x" * 43, **form).status_code == 403
    other = Console(server)
    add_user(server, "rudi", "officer")
    other.login("rudi")
    # Another session's token is not this session's.
    assert console.post("/console/office/register", csrf=other.csrf, **form).status_code == 403
    other.close()
    forged = console.http.post(
        "/console/office/register",
        data={"csrf": console.csrf, **form},
        headers={"Origin": "https://evil.example"},
    )
    assert forged.status_code == 403
    assert _count_applications(server) == before
    assert console.post("/console/office/register", **form).status_code == 200
    assert _count_applications(server) == before + 1
    # The login form has its own token too.
    fresh = Console(server)
    answer = fresh.http.post(
        "/console/login", data={"csrf": "guess", "username": "siti", "password": PASSWORD}
    )
    assert answer.status_code == 403
    fresh.close()


def _count_applications(srv: EmbeddedServer) -> int:
    with database(srv) as db:
        return len(db.scalars(select(Application)).all())


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("technician", {"fleet"}),
        ("officer", {"fleet", "documents", "office"}),
        ("supervisor", {"fleet", "documents", "office", "kiosks", "updates"}),
    ],
)
def test_each_role_sees_and_does_only_its_own(
    server: EmbeddedServer, console: Console, role: str, allowed: set[str]
) -> None:
    add_user(server, "user1", role)
    console.login("user1")
    pages = {
        "fleet": "/console/",
        "documents": "/console/documents",
        "office": "/console/office",
        "updates": "/console/updates",
    }
    for what, path in pages.items():
        expected = 200 if what in allowed else 403
        assert console.get(path).status_code == expected, (role, path)
    revoke = console.post("/console/documents/no-such-document/revoke", reason="lost")
    assert revoke.status_code == (404 if "kiosks" in allowed else 403)  # supervisors only
    office = console.post("/console/kiosks/kiosk-b/office", office="Kota Bandung")
    assert office.status_code == (303 if "kiosks" in allowed else 403)
    pause = console.post("/console/updates/pause", rollout="1")
    assert pause.status_code == (400 if "updates" in allowed else 403)  # no rollout 1 here
    with database(server) as db:
        kiosk = db.get(Kiosk, "kiosk-b")
        assert kiosk is not None
        assert (kiosk.office == "Kota Bandung") == ("kiosks" in allowed)


# ---------------------------------------------------------------- office work


def test_a_held_document_waits_for_a_supervisor_who_settles_it_once(
    server: EmbeddedServer, console: Console
) -> None:
    """A kiosk that cannot tell whether a document came out holds it: not offered, shown
    on its page; only a supervisor settles it, and once."""
    client = kiosk_client(server)
    session = str(client.open_session("ektp", nik=DEMO_NIK, card=ASSERTION)["session"])
    doc = client.list_documents(session)[0]
    number = doc["number"]
    reserved = client.reserve(session, str(uuid.uuid4()), doc["id"], demo_code(number))
    client.hold(reserved.job_id, "CUPS lost the job; the printer did not answer")
    again = str(client.open_session("ektp", nik=DEMO_NIK, card=ASSERTION)["session"])
    assert number not in {d["number"] for d in client.list_documents(again)}
    add_user(server, "siti", "officer")
    console.login("siti")
    page = console.get(f"/console/documents/{number}").text
    assert 'id="held"' in page and "the printer did not answer" in page
    assert 'class="badge status-held"' in page
    listed = console.get("/console/documents").text
    assert f"{number}</a></td>" in listed and "status-held" in listed
    assert 'id="offer-again"' not in page  # an officer sees it, a supervisor decides
    resolve = f"/console/documents/{number}/resolve"
    assert console.post(resolve, outcome="not_printed").status_code == 403
    add_user(server, "kepala", "supervisor")
    console.login("kepala")
    assert 'id="offer-again"' in console.get(f"/console/documents/{number}").text
    assert console.post(resolve, outcome="maybe").status_code == 400
    assert console.post(resolve, csrf="", outcome="not_printed").status_code == 403
    done = console.post(resolve, outcome="not_printed")
    assert done.status_code == 303
    page = console.get(done.headers["location"]).text
    assert 'id="held"' not in page and "console:kepala" in page
    # Offered again to the citizen, with the same print code; a second decision is refused.
    assert number in {d["number"] for d in client.list_documents(again)}
    assert console.post(resolve, outcome="printed").status_code == 400
    with database(server) as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.actor == "console:kepala")).all()
        assert any(e.action == "hold_offered_again" for e in entry), [e.action for e in entry]


def test_office_work_in_the_console_reaches_the_kiosk_and_the_audit_log(
    server: EmbeddedServer, console: Console, tmp_path: Path
) -> None:
    add_user(server, "siti", "officer")
    console.login("siti")
    answer = console.post("/console/office/register", kind="kia", nik=DEMO_NIK, data='{"a": 1}')
    assert answer.status_code == 200
    with database(server) as db:
        application = db.scalars(
            select(Application).where(Application.status == "submitted")
        ).all()[-1]
    answer = console.post("/console/office/approve", application=str(application.id))
    assert answer.status_code == 200
    code = answer.text.split('id="secret">')[1].split("<")[0]
    assert len(code) == 8 and code.isdigit()
    # The code is shown once: the office page does not show it again.
    assert code not in console.get("/console/office").text
    client = kiosk_client(server)
    session = str(client.open_session("ektp", nik=DEMO_NIK, card=ASSERTION)["session"])
    listed = {d["number"]: d for d in client.list_documents(session)}
    number = next(n for n in listed if n.endswith(f"-{application.id:06d}"))
    reserved = client.reserve(session, str(uuid.uuid4()), listed[number]["id"], code)
    assert reserved.state == "reserved"
    client.confirm(reserved.job_id)
    history = console.get(f"/console/documents/{number}").text
    assert "console:siti" in history and "tercetak di kiosk-test" in history
    # Revoking a printed document is a supervisor's (its printed QR then says revoked).
    revoke = console.post(f"/console/documents/{number}/revoke", reason="salah cetak")
    assert revoke.status_code == 403
    add_user(server, "kepala", "supervisor")
    console.login("kepala")
    assert console.post(f"/console/documents/{number}/revoke", reason="x").status_code == 400
    revoke = console.post(f"/console/documents/{number}/revoke", reason="salah cetak")
    assert revoke.status_code == 303
    shown = console.get(f"/console/documents/{number}").text
    assert "dicabut" in shown and "salah cetak" in shown and "console:kepala" in shown
    console.login("siti")
    # What cannot be done is refused with the reason.
    answer = console.post("/console/office/supersede", old=number, new=number)
    assert answer.status_code == 400 and "Tidak dapat dilakukan" in answer.text
    # The QR token exists only in the image: decoded, it logs the citizen in at a kiosk.
    qr = console.post("/console/office/qr-token", nik=DEMO_NIK)
    uri = re.search(r'id="qr-image" src="data:image/png;base64,([^"]+)"', qr.text)
    assert uri is not None
    image = tmp_path / "qr.png"
    image.write_bytes(base64.b64decode(uri.group(1)))
    decoded = subprocess.run(
        ["zbarimg", "--raw", "-q", str(image)], capture_output=True, text=True, check=True
    ).stdout.strip()
    opened = client.open_session("qr", token=decoded)
    assert opened["session"] and decoded not in qr.text.replace(uri.group(1), "")
    with database(server) as db:
        actions = {
            e.action
            for e in db.scalars(select(AuditEntry).where(AuditEntry.actor == "console:siti"))
        }
    assert {"application_registered", "approved", "qr_token_issued", "console_login"} <= actions


def test_every_page_renders_in_both_languages_with_every_sentence_translated(
    server: EmbeddedServer, console: Console
) -> None:
    for key, (indonesian, english) in TEXT.items():
        assert indonesian.strip() and english.strip(), key
    add_user(server, "siti", "supervisor")
    console.login("siti")
    kiosk_client(server).heartbeat(
        "attract", {"adm-a4": "media_empty,toner_low"}, {"adm-a4:Toner": 5, "blank_cards": 3}
    )
    paths = ["/console/", "/console/kiosks/kiosk-test", "/console/documents", "/console/office"]
    paths.append("/console/updates")
    with database(server) as db:  # a release, a rollout and a rollback for the updates page
        rollout.publish(db, "2.0.0", "ab" * 32, 1 << 20, None, "console:siti")
        rollout.create(
            db,
            version="2.0.0",
            office="",
            canary=["kiosk-test"],
            canary_percent=5,
            percent=50,
            window=("22:00", "05:00"),
            max_failures=1,
            actor="console:siti",
        )
        db.commit()
    kiosk_client(server).heartbeat(
        "attract",
        {"adm-a4": "media_empty,toner_low"},
        {"adm-a4:Toner": 5, "blank_cards": 3},
        version="1.0.0",
        update={"target": "2.0.0", "state": "rolled_back", "why": "health gate: not READY"},
    )
    paths.append("/console/documents/AKM-3578-KM-30102026-0007")
    for lang in LANGUAGES:
        console.get(f"/console/lang/{lang}")
        for path in paths:
            page = console.get(path)
            assert page.status_code == 200, (lang, path, page.text[-400:])
            assert f'<html lang="{lang}">' in page.text
            # No sentence left with a blank to fill, no key shown instead of a sentence.
            assert not re.search(r"\{[a-z_]+\}", page.text), (lang, path)
            assert not re.search(r">\s*(state|alert|cond|status|ev)_[a-z_]+\s*<", page.text)
    english = console.get("/console/").text
    assert "Kiosks" in english and "toner low" not in english  # the fleet shows levels
    assert "Paper of adm-a4: empty" in english


# ---------------------------------------------------------------- alerts


def monitor(server: EmbeddedServer, store: KioskStore | None = None, **kw: object) -> HealthMonitor:
    """A kiosk's health monitor on simulated parts, heartbeating to the test server."""
    spooler = SimSpooler()
    stock = CardStock(MemoryCardLedger())
    printer = PrintService(kiosk_client(server), spooler, card_stock=stock, store=store)
    health = HealthMonitor(
        lambda *a, **k: None, lambda: ReaderState.EMPTY, printer, flow_state=lambda: "attract"
    )
    health.spooler, health.stock = spooler, stock  # type: ignore[attr-defined]
    return health


def alerts(console: Console, kind: str) -> list[dict]:
    feed = console.get("/console/alerts.json").json()["alerts"]
    return [a for a in feed if a["kind"] == kind]


def test_a_cut_or_rewritten_kiosk_audit_log_raises_an_alert(
    server: EmbeddedServer, console: Console, tmp_path: Path
) -> None:
    add_user(server, "siti", "supervisor")
    console.login("siti")
    store = KioskStore(tmp_path / "kiosk.db")
    for n in range(6):
        store.audit("session_started", n=n)
    health = monitor(server, store)
    health.heartbeat_once()
    health.heartbeat_once()  # anchored on the first: the chain extends it
    store.audit("session_ended")
    health.heartbeat_once()
    assert alerts(console, "audit_chain") == []
    with database(server) as db:
        kiosk = db.get(Kiosk, "kiosk-test")
        assert kiosk is not None and kiosk.audit_count == 7
    # Someone deletes the newest records of the kiosk's log, then the kiosk calls in.
    store.flush()
    raw = sqlite3.connect(tmp_path / "kiosk.db")
    raw.execute("DELETE FROM audit_log WHERE id > 4")
    raw.commit()
    raw.close()
    health.heartbeat_once()
    (alert,) = alerts(console, "audit_chain")
    assert alert["kiosk"] == "kiosk-test" and alert["values"]["what"] == "truncated"
    assert "terpotong" in fleet_row(console, "kiosk-test")
    # Cleared by a supervisor: the next heartbeat is the new baseline.
    assert console.post("/console/kiosks/kiosk-test/acknowledge").status_code == 303
    health.heartbeat_once()
    health.heartbeat_once()
    assert alerts(console, "audit_chain") == []
    # Rewritten instead: record 2 edited and the chain recomputed from there on (by
    # someone who knows the hash), one more record added, the kiosk calls in.
    store.flush()
    raw = sqlite3.connect(tmp_path / "kiosk.db")
    rows = raw.execute("SELECT id, at, kind, detail FROM audit_log ORDER BY id").fetchall()
    prev = raw.execute("SELECT hash FROM audit_log WHERE id = 1").fetchone()[0]
    for row_id, at, kind, detail in rows[1:]:
        detail = detail.replace('"n": 1', '"n": 99')
        prev_hash = chain_hash(prev, row_id, at, kind, detail)
        raw.execute(
            "UPDATE audit_log SET detail = ?, prev = ?, hash = ? WHERE id = ?",
            (detail, prev, prev_hash, row_id),
        )
        prev = prev_hash
    raw.commit()
    raw.close()
    store.audit("session_started", n=100)
    health.heartbeat_once()
    (alert,) = alerts(console, "audit_chain")
    assert alert["values"]["what"] == "rewritten"
    store.close()


def test_audit_check_accepts_only_a_chain_that_extends_the_known_one() -> None:
    a, b = "a" * 64, "b" * 64
    assert audit_check(None, 3, a, None) == ((3, a), None)
    assert audit_check((3, a), 3, a, None) == ((3, a), None)
    assert audit_check((3, a), 5, b, a) == ((5, b), None)
    assert audit_check((3, a), 5, b, None) == ((3, a), None)  # proof asked for, not assumed
    assert audit_check((3, a), 5, b, b) == ((3, a), "rewritten")
    assert audit_check((3, a), 3, b, None) == ((3, a), "rewritten")
    assert audit_check((3, a), 2, b, None) == ((3, a), "truncated")
    assert audit_check((3, a), None, None, None) == ((3, a), None)


def test_supplies_cards_and_unsettled_jobs_raise_alerts_by_the_configured_rules(
    rules: EmbeddedServer, console: Console
) -> None:
    server = rules
    add_user(server, "teknisi", "technician")
    console.login("teknisi")
    health = monitor(server)
    health.stock.load("KTP2611A000001", "KTP2611A000025")  # type: ignore[attr-defined]
    health.heartbeat_once()
    assert alerts(console, "blank_cards_low") == []
    server.settings.alert_rules = AlertRules(blank_cards_low=30, unsettled_minutes=0.001)
    (cards,) = alerts(console, "blank_cards_low")
    assert cards["values"] == {"left": 25}
    client = kiosk_client(server)
    session = str(client.open_session("ektp", nik=DEMO_NIK, card=ASSERTION)["session"])
    doc = next(d for d in client.list_documents(session) if d["kind"] == "kartu_keluarga")
    job = str(uuid.uuid4())
    client.reserve(session, job, doc["id"], demo_code(doc["number"]))
    wait_for(lambda: bool(alerts(console, "unsettled_job")), "the unsettled job", timeout=10)
    (unsettled,) = alerts(console, "unsettled_job")
    assert unsettled["values"] == {"job": job}
    client.confirm(job)
    assert alerts(console, "unsettled_job") == []


def test_a_revoked_kiosk_that_keeps_calling_raises_an_alert_and_its_calls_are_refused(
    server: EmbeddedServer, console: Console
) -> None:
    add_user(server, "siti", "supervisor")
    console.login("siti")
    client = kiosk_client(server, "kiosk-b", retries=1)
    client.heartbeat("attract", {}, {})
    assert console.post("/console/kiosks/kiosk-b/revoke").status_code == 303
    from kiosk.server_client import ServerRefused

    for _ in range(3):
        with pytest.raises(ServerRefused) as refused:
            client.heartbeat("attract", {}, {})
        assert refused.value.code == "kiosk_revoked"
    (alert,) = alerts(console, "refused_certificates")
    assert alert["kiosk"] == "kiosk-b" and alert["values"]["count"] == 3
    assert "badge-revoked" in fleet_row(console, "kiosk-b")


def test_a_new_certificate_is_revoke_and_a_request_from_the_kiosk(
    server: EmbeddedServer, console: Console
) -> None:
    """The console mints no key: re-issuing is revoking and waiting for the kiosk's own
    request, which the kiosk page lists with its fingerprint; the old re-issue action is
    gone."""
    from kiosk.provision import new_key, request_pem
    from kiosk.server_client import ServerRefused
    from protocol.identity import key_fingerprint as fingerprint

    add_user(server, "siti", "supervisor")
    console.login("siti")
    client = kiosk_client(server, "kiosk-b", retries=1)
    client.heartbeat("attract", {}, {})
    assert console.post("/console/kiosks/kiosk-b/reissue").status_code == 404
    assert console.post("/console/kiosks/kiosk-b/revoke").status_code == 303
    with pytest.raises(ServerRefused):
        client.heartbeat("attract", {}, {})
    key = new_key()
    sent = console.http.post("/api/v1/enrolments", json={"csr": request_pem(key, "kiosk-b")})
    assert sent.status_code == 202
    page = console.get("/console/kiosks/kiosk-b").text
    fp = fingerprint(key.public_key())
    spoken = " ".join(fp[i : i + 4] for i in range(0, 64, 4))
    assert 'id="cert-requests"' in page and spoken in page
    assert sent.json()["request"][:12] in page and "PRIVATE" not in page


# ---------------------------------------------------------------- metrics


def test_metrics_want_the_token_and_parse_as_prometheus_text(
    rules: EmbeddedServer, console: Console
) -> None:
    server = rules
    server.settings.metrics_token_hash = None
    assert console.get("/metrics").status_code == 404  # off until a token is made
    token = server.home.new_metrics_token()
    server.settings.metrics_token_hash = server.home.metrics_token_hash()
    assert console.get("/metrics").status_code == 401
    assert console.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    health = monitor(server)
    health.stock.load("KTP2611A000001", "KTP2611A000040")  # type: ignore[attr-defined]
    health.heartbeat_once()
    answer = console.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}
    states = {s.labels["state"]: s.value for s in families["adm_kiosks"].samples}
    assert states["serving"] >= 1
    cards = {s.labels["kiosk"]: s.value for s in families["adm_kiosk_blank_cards"].samples}
    assert cards["kiosk-test"] == 40
    latency = families["adm_http_request_duration_seconds"]
    routes = {s.labels.get("route") for s in latency.samples}
    assert "/api/v1/heartbeat" in routes
    assert not any(r and "kiosk-test" in r for r in routes)  # templates, not paths
    for name in ("adm_print_jobs", "adm_lockouts_active", "adm_db_pool_connections"):
        assert name in families
    # The alerts feed takes the same token (a monitoring system has no console login).
    feed = console.get("/console/alerts.json", headers={"Authorization": f"Bearer {token}"})
    assert feed.status_code == 200 and "alerts" in feed.json()


# ---------------------------------------------------------------- the CLI


def test_user_cli_adds_changes_disables_and_lists(
    server: EmbeddedServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from server.cli import main

    base = ["--db", server.database_url, "--home", str(server.home.path)]
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-long-enough-password\n"))
    assert main([*base, "user", "add", "ani", "--role", "officer", "--password-stdin"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main([*base, "user", "passwd", "ani", "--password-stdin"]) != 0
    assert "10 to 256" in capsys.readouterr().err
    assert main([*base, "user", "disable", "ani", "--password-stdin"]) == 0
    assert main([*base, "user", "list", "--password-stdin"]) == 0
    listing = capsys.readouterr().out
    assert "ani" in listing and "officer" in listing and "disabled" in listing


def test_paper_emptied_on_the_rig_reaches_the_fleet_page_as_an_alert(
    rig: Rig, server: EmbeddedServer, console: Console
) -> None:
    """GIVEN the card printer's tray emptied on the rig and a job waiting for it WHEN the
    kiosk's health monitor calls in THEN the console shows the paper alert; refilled, the
    next heartbeat clears it."""
    from printing.cups_spooler import CupsSpooler
    from printing.renderers import render
    from printing.spooler import Condition, JobState
    from printing.tracking import wait_final
    from sim.documents import technician_test_page

    queue = "adm-card"  # the printer the rig's fault tests disturb (adm-a4 stays clean)
    add_user(server, "teknisi", "technician")
    console.login("teknisi")
    cups = CupsSpooler(str(rig.cups_socket))
    cups.open()
    stock = CardStock(MemoryCardLedger())
    stock.load("KTP2611A000001", "KTP2611A000100")
    printer = PrintService(kiosk_client(server), cups, card_stock=stock)
    health = HealthMonitor(
        lambda *a, **k: None, lambda: ReaderState.EMPTY, printer, flow_state=lambda: "attract"
    )
    try:
        rig.set_paper(queue, 0)
        job = cups.submit(queue, render(technician_test_page()), "waits for paper")
        wait_for(
            lambda: Condition.MEDIA_EMPTY in cups.printer_status(queue).conditions,
            "the out-of-paper report",
        )
        health.heartbeat_once()
        (paper,) = alerts(console, "paper")
        assert paper["values"] == {"printer": queue, "condition": "media_empty"}
        assert "Kertas adm-card: habis" in fleet_row(console, "kiosk-test")
        cups.cancel(job)
        assert wait_final(cups, job, 30) == JobState.CANCELED
    finally:
        rig.set_paper(queue, 250)
    wait_for(lambda: cups.printer_status(queue).ready, "the refilled printer", timeout=10)
    health.heartbeat_once()
    assert alerts(console, "paper") == []
    cups.close()


def test_the_audit_pair_moves_only_with_its_proof_on_both_databases(
    any_server: EmbeddedServer,
) -> None:
    client = kiosk_client(any_server)
    a, b, c = "a" * 64, "b" * 64, "c" * 64
    assert client.heartbeat("attract", {}, {}, a, audit_count=3)["audit_count"] == 3
    # Grown, without the proof: the server keeps what it knows and asks for record 3.
    assert client.heartbeat("attract", {}, {}, b, audit_count=5)["audit_count"] == 3
    answer = client.heartbeat("attract", {}, {}, b, audit_count=5, audit_anchor=a)
    assert answer["audit_count"] == 5
    # Shrunk: an alert, and the pair stays as evidence.
    assert client.heartbeat("attract", {}, {}, c, audit_count=4)["audit_count"] == 5
    with database(any_server) as db:
        kiosk = db.get(Kiosk, "kiosk-test")
        assert kiosk is not None
        assert (kiosk.audit_count, kiosk.audit_head, kiosk.audit_alert) == (5, b, "truncated")
        assert kiosk.audit_alert_at is not None


def test_a_low_toner_or_ribbon_level_raises_an_alert(
    server: EmbeddedServer, console: Console
) -> None:
    add_user(server, "teknisi", "technician")
    console.login("teknisi")
    client = kiosk_client(server)
    client.heartbeat("attract", {}, {"adm-card:YMCKO Ribbon": 16, "adm-a4:Toner": -1})
    assert alerts(console, "supply_low") == []  # 16 % is above 15 %, -1 is unknown
    client.heartbeat("attract", {}, {"adm-card:YMCKO Ribbon": 15, "adm-a4:Toner": -1})
    (low,) = alerts(console, "supply_low")
    assert low["values"] == {"supply": "adm-card:YMCKO Ribbon", "level": 15}


# ---------------------------------------------------------------- fleet updates


def test_a_supervisor_starts_pauses_and_widens_a_rollout_each_audited(
    server: EmbeddedServer, console: Console
) -> None:
    with database(server) as db:
        rollout.publish(db, "2.1.0", "cd" * 32, 5 << 20, None, "release-host")
        db.commit()
    kiosk_client(server, "kiosk-b").heartbeat("attract", {}, {}, version="2.0.0")
    add_user(server, "siti", "supervisor")
    console.login("siti")
    page = console.get("/console/updates").text
    assert 'data-version="2.0.0"' in page and "2.1.0" in page
    # A wrong form changes nothing and says why.
    bad = console.post(
        "/console/updates/new",
        version="2.1.0",
        office="",
        canary="kiosk-nobody",
        canary_percent="5",
        percent="100",
        window_start="22:00",
        window_end="05:00",
        max_failures="2",
    )
    assert bad.status_code == 400 and 'id="error"' in bad.text
    late = console.post(
        "/console/updates/new",
        version="2.1.0",
        office="",
        canary="",
        canary_percent="5",
        percent="100",
        window_start="22:00",
        window_end="",
        max_failures="2",
    )
    assert late.status_code == 400
    made = console.post(
        "/console/updates/new",
        version="2.1.0",
        office="",
        canary="kiosk-b",
        canary_percent="5",
        percent="30",
        window_start="22:00",
        window_end="05:00",
        max_failures="2",
    )
    assert made.status_code == 303 and made.headers["location"].endswith("done=rollout_created")
    told = kiosk_client(server, "kiosk-b").heartbeat("attract", {}, {}, version="2.0.0")
    assert told["target"]["version"] == "2.1.0"
    assert (told["target"]["window_start"], told["target"]["window_end"]) == ("22:00", "05:00")
    with database(server) as db:
        rid = db.scalars(select(rollout.Rollout.id)).one()
    assert console.post("/console/updates/pause", rollout=str(rid)).status_code == 303
    assert 'data-state="paused"' in console.get("/console/updates").text
    assert console.post("/console/updates/resume", rollout=str(rid)).status_code == 303
    assert (
        console.post("/console/updates/percent", rollout=str(rid), percent="100").status_code == 303
    )
    assert (
        console.post("/console/updates/percent", rollout=str(rid), percent="140").status_code == 400
    )
    # Without the session's token, nothing.
    assert (
        console.post("/console/updates/pause", csrf="forged", rollout=str(rid)).status_code == 403
    )
    with database(server) as db:
        row = db.get(rollout.Rollout, rid)
        assert row is not None and row.state == "active" and row.percent == 100
        audit = [
            (a.actor, a.action)
            for a in db.scalars(select(AuditEntry).where(AuditEntry.subject == str(rid)))
            if a.action.startswith("rollout_")
        ]
    assert audit == [
        ("console:siti", "rollout_created"),
        ("console:siti", "rollout_pause"),
        ("console:siti", "rollout_resume"),
        ("console:siti", "rollout_percent"),
    ]
