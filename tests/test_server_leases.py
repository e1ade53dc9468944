"""Reservations are leases; lockouts count exactly; a job id and an e-KTP session are
scoped; the heartbeat history is compact.  Over HTTPS with client certificates, on
SQLite and PostgreSQL (the races on servers whose requests really overlap)."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kiosk.server_client import Locked, ServerClient, ServerRefused, WrongSecret
from server import officer
from server.app import Settings
from server.db import (
    AuditEntry,
    Document,
    Heartbeat,
    Kiosk,
    KioskSession,
    Reservation,
    make_engine,
    session_factory,
    utcnow,
)
from server.limits import Limits
from sim.embedded import EmbeddedServer
from sim.population import DEMO_NIK, FAMILIES
from sim.seed import demo_code, demo_pin
from tests.conftest import kiosk_client

CARD = {
    "chip_authenticated": True,
    "fingerprint_matched": True,
    "finger_score": 0.91,
    "signed_data_sha256": "ab" * 32,
    "sam_session": "0123456789abcdef" * 2,
}
SITI = FAMILIES[0]["members"][1]["nik"]


def job() -> str:
    return str(uuid.uuid4())


@contextmanager
def database(srv: EmbeddedServer) -> Iterator[Session]:
    engine = make_engine(srv.database_url, migrate=False)
    try:
        with session_factory(engine)() as db:
            yield db
    finally:
        engine.dispose()


def session_of(client: ServerClient, nik: str = DEMO_NIK) -> str:
    return str(client.open_session("ektp", nik=nik, card=CARD)["session"])


def ktp_of(client: ServerClient, session: str) -> dict[str, Any]:
    return next(d for d in client.list_documents(session) if d["kind"] == "ktp_el")


def new_document(srv: EmbeddedServer, nik: str = DEMO_NIK) -> tuple[int, str]:
    """A freshly approved KTP-el for ``nik``: (document id, its print code)."""
    with database(srv) as db:
        app = officer.register(db, "ktp_el", nik, {})
        done = officer.approve(db, srv.home.pepper(), app.id, srv.home.official())
        return done.document.id, done.print_code


def lapse(srv: EmbeddedServer, job_id: str) -> None:
    """The lease of ``job_id`` ends now (as if its time had passed)."""
    past = utcnow() - dt.timedelta(seconds=1)
    with database(srv) as db:
        db.execute(update(Reservation).where(Reservation.job_id == job_id).values(expires_at=past))
        db.execute(
            update(Document).where(Document.reserved_job == job_id).values(reserved_until=past)
        )
        db.commit()


def audit_count(srv: EmbeddedServer, action: str) -> int:
    with database(srv) as db:
        return int(
            db.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
            )
            or 0
        )


# ---------------------------------------------------------------- leases


def test_a_reservation_carries_its_lease_and_holds_the_document_within_it(
    server: EmbeddedServer,
) -> None:
    mine, theirs = kiosk_client(server), kiosk_client(server, "kiosk-b")
    session = session_of(mine)
    ktp = ktp_of(mine, session)
    before = dt.datetime.now(dt.UTC)
    res = mine.reserve(session, job(), ktp["id"], demo_code(ktp["number"]))
    lease = res.lease_until
    assert lease is not None and lease.tzinfo is not None
    assert before + dt.timedelta(minutes=29) < lease < before + dt.timedelta(minutes=31)
    other = session_of(theirs)
    assert ktp["id"] not in [d["id"] for d in theirs.list_documents(other)]
    with pytest.raises(ServerRefused) as err:
        theirs.reserve(other, job(), ktp["id"], demo_code(ktp["number"]))
    assert (err.value.status, err.value.code) == (409, "not_available")


def test_a_lapsed_lease_returns_the_document_and_the_late_holder_learns_it(
    any_server: EmbeddedServer,
) -> None:
    mine, theirs = kiosk_client(any_server), kiosk_client(any_server, "kiosk-b")
    session = session_of(mine)
    ktp = ktp_of(mine, session)
    first = job()
    mine.reserve(session, first, ktp["id"], demo_code(ktp["number"]))
    lapse(any_server, first)
    other = session_of(theirs)
    assert ktp["id"] in [d["id"] for d in theirs.list_documents(other)]
    second = job()
    assert theirs.reserve(other, second, ktp["id"], demo_code(ktp["number"])).state == "reserved"
    # The first holder's paper, if any, came too late: its confirm is refused as expired,
    # its release is answered with what happened, its repeat reserve is refused.
    with pytest.raises(ServerRefused) as err:
        mine.confirm(first)
    assert (err.value.status, err.value.code) == (409, "expired")
    assert mine.release(first, "printer jam")["state"] == "expired"
    assert mine.reservation(first)["state"] == "expired"
    with pytest.raises(ServerRefused) as err:
        mine.reserve(session, first, ktp["id"], demo_code(ktp["number"]))
    assert err.value.code == "expired"
    assert theirs.confirm(second)["state"] == "confirmed"


def test_a_confirm_after_the_lease_but_before_anyone_took_the_document_counts(
    any_server: EmbeddedServer,
) -> None:
    client = kiosk_client(any_server)
    session = session_of(client)
    ktp = ktp_of(client, session)
    j = job()
    client.reserve(session, j, ktp["id"], demo_code(ktp["number"]))
    lapse(any_server, j)
    assert client.confirm(j)["state"] == "confirmed"
    with database(any_server) as db:
        doc = db.get(Document, ktp["id"])
        assert doc is not None
        assert (doc.status, doc.printed_job, doc.reserved_until) == ("printed", j, None)


def test_a_late_confirm_and_a_takeover_race_and_exactly_one_wins(
    threaded_server: EmbeddedServer,
) -> None:
    """Lapsed leases, each raced by its holder's confirm and another kiosk's reserve:
    the paper is recorded (confirm wins, the reserve is refused) or the document moved
    on (reserve wins, the confirm is refused as expired), never both, never neither."""
    srv = threaded_server
    mine, theirs = kiosk_client(srv), kiosk_client(srv, "kiosk-b")
    outcomes = []
    for _ in range(8):
        doc_id, code = new_document(srv)
        s1, s2 = session_of(mine), session_of(theirs)
        first = job()
        mine.reserve(s1, first, doc_id, code)
        lapse(srv, first)

        def confirm(first: str = first) -> str:
            try:
                return str(mine.confirm(first)["state"])
            except ServerRefused as exc:
                return str(exc.code)

        def take(doc_id: int = doc_id, code: str = code, s2: str = s2) -> str:
            try:
                return theirs.reserve(s2, job(), doc_id, code).state
            except ServerRefused as exc:
                return str(exc.code)

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            c, t = pool.submit(confirm), pool.submit(take)
            outcome = (c.result(), t.result())
        assert outcome in {
            ("confirmed", "already_printed"),
            ("confirmed", "not_available"),
            ("expired", "reserved"),
        }, outcome
        with database(srv) as db:
            doc = db.get(Document, doc_id)
            assert doc is not None
            assert doc.status == ("printed" if outcome[0] == "confirmed" else "reserved")
        outcomes.append(outcome)


def test_the_officer_may_take_back_only_a_lapsed_lease_or_release_one_on_purpose(
    any_server: EmbeddedServer,
) -> None:
    client = kiosk_client(any_server)
    session = session_of(client)
    ktp = ktp_of(client, session)
    held = job()
    client.reserve(session, held, ktp["id"], demo_code(ktp["number"]))
    with database(any_server) as db:
        with pytest.raises(officer.OfficerError, match="held for a print job until"):
            officer.revoke(db, ktp["number"], reason="lost card", officer="officer:ani")
        with pytest.raises(officer.OfficerError, match="held for a print job"):
            officer.reissue_code(db, any_server.home.pepper(), ktp["number"])
    lapse(any_server, held)
    with database(any_server) as db:
        code = officer.reissue_code(db, any_server.home.pepper(), ktp["number"])
    assert client.reservation(held)["state"] == "expired"
    with pytest.raises(ServerRefused) as err:
        client.confirm(held)
    assert err.value.code == "expired"
    # A deliberate release ends a lease at once; the kiosk's late confirm is refused.
    again = job()
    client.reserve(session, again, ktp["id"], code)
    with database(any_server) as db:
        res = officer.release(db, ktp["number"], officer="officer:ani")
        assert (res.job_id, res.state) == (again, "released")
        with pytest.raises(officer.OfficerError, match="no open reservation"):
            officer.release(db, ktp["number"])
        entry = db.scalars(
            select(AuditEntry).where(AuditEntry.action == "reservation_released")
        ).one()
        assert entry.actor == "officer:ani"
    with pytest.raises(ServerRefused) as err:
        client.confirm(again)
    assert err.value.code == "released"
    with database(any_server) as db:
        officer.revoke(db, ktp["number"], reason="lost card")  # printable again, so revocable
        assert db.get(Document, ktp["id"]).status == "revoked"  # type: ignore[union-attr]


def test_revoking_a_kiosk_releases_its_open_reservations(any_server: EmbeddedServer) -> None:
    doomed = kiosk_client(any_server, "kiosk-b")
    session = session_of(doomed)
    docs = doomed.list_documents(session)
    jobs = [job() for _ in docs]
    for j, d in zip(jobs, docs, strict=True):
        doomed.reserve(session, j, d["id"], demo_code(d["number"]))
    with database(any_server) as db:
        officer.revoke_kiosk(db, "kiosk-b")
        states = {r.job_id: r.state for r in db.scalars(select(Reservation))}
        assert all(states[j] == "released" for j in jobs)
        assert all(db.get(Document, d["id"]).status == "approved" for d in docs)  # type: ignore[union-attr]
    other = kiosk_client(any_server)
    fresh = session_of(other)
    assert {d["id"] for d in other.list_documents(fresh)} >= {d["id"] for d in docs}


def test_a_lease_shorter_than_a_kiosks_slowest_print_is_refused(server: EmbeddedServer) -> None:
    with pytest.raises(ValueError, match="lease"):
        Settings(
            issuer=server.home.issuer(),
            pepper=server.home.pepper(),
            reservation_lease=dt.timedelta(minutes=5),
        )


# ---------------------------------------------------------------- exact counters


def burst(srv: EmbeddedServer, pins: list[str], nik: str = SITI) -> list[str]:
    """Every PIN in ``pins`` at once: 16 kiosks-worth of connections, opened and warmed
    before a barrier releases them together, so the guesses really overlap."""
    clients = [kiosk_client(srv) for _ in range(16)]
    for c in clients:
        assert c.health()  # the TLS connection is up before the burst
    start = threading.Barrier(len(clients))
    queue = list(enumerate(pins))
    answers = [""] * len(pins)
    lock = threading.Lock()

    def run(client: ServerClient) -> None:
        start.wait(timeout=30)
        while True:
            with lock:
                if not queue:
                    return
                i, pin = queue.pop()
            try:
                client.open_session("pin", nik=nik, pin=pin)
                answers[i] = "opened"
            except WrongSecret:
                answers[i] = "wrong"
            except Locked:
                answers[i] = "locked"

    with concurrent.futures.ThreadPoolExecutor(len(clients)) as pool:
        for done in [pool.submit(run, c) for c in clients]:
            done.result()
    for c in clients:
        c.close()
    return answers


def test_a_burst_of_wrong_pins_is_compared_exactly_up_to_the_limit(
    threaded_server: EmbeddedServer,
) -> None:
    answers = burst(threaded_server, [f"{i:06d}" for i in range(100_000, 100_150)])
    # Five answers depend on the PIN: four "wrong", the fifth "locked" (it locks); every
    # other guess is answered "locked" whatever it was.
    assert answers.count("wrong") == 4, answers
    assert answers.count("locked") == 146
    assert audit_count(threaded_server, "wrong_pin") == 5


def test_a_right_pin_inside_a_burst_resets_the_count_but_never_beyond_the_rule(
    threaded_server: EmbeddedServer,
) -> None:
    pins = [f"{i:06d}" for i in range(200_000, 200_150)]
    pins.insert(140, demo_pin(SITI))  # popped from the end: among the first guesses
    answers = burst(threaded_server, pins)
    compared = audit_count(threaded_server, "wrong_pin")
    # At most four wrong before the right one and five after it reset the count.
    assert compared <= 9, compared
    assert answers.count("opened") <= 1


def test_a_repeated_job_id_from_another_session_gets_nothing(server: EmbeddedServer) -> None:
    client = kiosk_client(server)
    budi = session_of(client)
    kk = next(d for d in client.list_documents(budi) if d["kind"] == "kartu_keluarga")
    j = job()
    client.reserve(budi, j, kk["id"], demo_code(kk["number"]))
    siti = session_of(client, SITI)  # same family: the KK is visible to her too
    for code in (demo_code(kk["number"]), "00000000"):
        with pytest.raises(ServerRefused) as err:
            client.reserve(siti, j, kk["id"], code)
        assert (err.value.status, err.value.code) == (409, "job_id_reused")
    assert client.reserve(budi, j, kk["id"], demo_code(kk["number"])).job_id == j


def test_a_printed_document_is_said_printed_and_no_guess_is_counted(
    any_server: EmbeddedServer,
) -> None:
    client = kiosk_client(any_server)
    session = session_of(client)
    ktp = ktp_of(client, session)
    j = job()
    client.reserve(session, j, ktp["id"], demo_code(ktp["number"]))
    client.confirm(j)
    for _ in range(6):
        with pytest.raises(ServerRefused) as err:
            client.reserve(session, job(), ktp["id"], demo_code(ktp["number"]))
        assert (err.value.status, err.value.code) == (409, "already_printed")
    kk = next(d for d in client.list_documents(session) if d["kind"] == "kartu_keluarga")
    with pytest.raises(WrongSecret) as wrong:
        client.reserve(session, job(), kk["id"], "00000000")
    assert wrong.value.attempts_left == 4  # the six asks above counted nothing


def test_e_ktp_sessions_are_rate_limited_per_kiosk_and_carry_the_chip_evidence(
    server: EmbeddedServer,
) -> None:
    client, other = kiosk_client(server), kiosk_client(server, "kiosk-b")
    for _ in range(30):
        session_of(client)
    with pytest.raises(ServerRefused) as err:
        session_of(client, SITI)
    assert (err.value.status, err.value.code) == (429, "rate_limited")
    session_of(other)  # another kiosk is not affected
    client.open_session("pin", nik=SITI, pin=demo_pin(SITI))  # nor another path
    with database(server) as db:
        rows = db.scalars(select(KioskSession).where(KioskSession.method == "ektp")).all()
        assert len(rows) == 31
        assert all(r.evidence and r.evidence["sam_session"] == CARD["sam_session"] for r in rows)
        opened = db.scalars(
            select(AuditEntry).where(AuditEntry.action == "session_opened").limit(1)
        ).one()
        assert opened.detail["chip"]["signed_data_sha256"] == CARD["signed_data_sha256"]
        assert db.scalars(select(AuditEntry).where(AuditEntry.action == "ektp_rate_limited")).all()
    with pytest.raises(ServerRefused) as err:
        client.open_session("ektp", nik=DEMO_NIK, card={**CARD, "sam_session": "xyz"})
    assert err.value.status == 422


def test_limits_given_to_the_embedded_server_outlive_its_restart(
    tmp_path: Path, server_home: Path
) -> None:
    """The fault campaign lifts the e-KTP limit and stops the server as a fault: the
    restarted server must not come back with the default limit of 30.  Each round on a
    fresh database, so that the count starts from zero."""
    srv = EmbeddedServer(
        f"sqlite:///{tmp_path / 'first.db'}",
        server_home,
        kiosks=("kiosk-test",),
        kiosk_cache_seconds=0.0,
        limits=replace(Limits(), ektp_sessions=3),
    )
    try:
        for database in ("first.db", "after-restart.db"):
            srv.database_url = f"sqlite:///{tmp_path / database}"
            srv.start()
            client = kiosk_client(srv)
            for _ in range(3):
                session_of(client)
            with pytest.raises(ServerRefused) as err:
                session_of(client)
            assert (err.value.status, err.value.code) == (429, "rate_limited"), database
            srv.stop()
    finally:
        srv.stop()


# ---------------------------------------------------------------- compact history


def test_the_heartbeat_history_keeps_changes_and_one_row_per_interval(
    any_server: EmbeddedServer,
) -> None:
    client = kiosk_client(any_server)
    supplies = {"paper_a4": 480}
    for head in ("a1", "a2", "a3"):  # the audit head moves; nothing else does
        client.heartbeat("idle", {"printer_a4": "ok"}, supplies, head)
    client.heartbeat("in_session", {"printer_a4": "ok"}, supplies, "a4")
    client.heartbeat("in_session", {"printer_a4": "ok"}, supplies, "a5")
    with database(any_server) as db:
        rows = db.scalars(select(Heartbeat).order_by(Heartbeat.id)).all()
        assert [r.status["state"] for r in rows] == ["idle", "in_session"]
        kiosk = db.get(Kiosk, "kiosk-test")
        assert kiosk is not None and kiosk.last_status["audit_head"] == "a5"
        # The interval passes with nothing changed: one more row.
        db.execute(
            update(Kiosk)
            .where(Kiosk.id == "kiosk-test")
            .values(history_at=utcnow() - dt.timedelta(minutes=16))
        )
        db.commit()
    client.heartbeat("in_session", {"printer_a4": "ok"}, supplies, "a6")
    client.heartbeat("in_session", {"printer_a4": "ok"}, supplies, "a7")
    with database(any_server) as db:
        assert db.scalar(select(func.count()).select_from(Heartbeat)) == 3
