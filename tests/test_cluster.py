"""Two server nodes on one PostgreSQL behind HAProxy (TCP pass-through, so mTLS ends at
the nodes): one winner in a race spread over both nodes, and a node killed under load
loses and doubles nothing, its kiosks' idempotent calls retried on the other node."""

from __future__ import annotations

import concurrent.futures
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from kiosk.server_client import ServerClient, ServerRefused, ServerUnavailable, Tls
from server import officer
from server.db import AuditEntry, Document, Reservation, make_engine, session_factory
from server.pki import ServerHome
from sim.cluster import ServerCluster
from sim.embedded import ensure_kiosk
from sim.population import FAMILIES, ISSUING_OFFICIAL
from sim.seed import card_assertion, seed_demo
from tests.conftest import TEST_KIOSKS

NIKS = [m["nik"] for f in FAMILIES for m in f["members"]]
CARD = card_assertion(0.9)


@pytest.fixture
def cluster(pg_cluster: Any, server_home: Path, tmp_path: Path) -> Iterator[ServerCluster]:
    home = ServerHome(tmp_path / "home")
    shutil.copytree(server_home, home.path)
    if not home.official_file.is_file():
        home.set_official(**ISSUING_OFFICIAL)
    url = pg_cluster.create_database(f"cluster_{uuid.uuid4().hex[:8]}")
    engine = make_engine(url)
    with session_factory(engine)() as db:
        seed_demo(db, home.pepper())
    engine.dispose()
    for kiosk in TEST_KIOSKS:
        ensure_kiosk(home, url, kiosk)
    nodes = ServerCluster(home, url, nodes=2, workers=1)
    nodes.start()
    yield nodes
    nodes.stop()


def client(c: ServerCluster, kiosk: str = "kiosk-test") -> ServerClient:
    cred = ensure_kiosk(c.home, c.database_url, kiosk)
    tls = Tls(ca=c.home.ca_cert, cert=cred.cert, key=cred.key)
    # Retries as a kiosk makes them, with room for HAProxy to take a dead node out.
    # The nodes are real ``adm-server serve`` processes, which believe e-KTP sessions only
    # from a kiosk reporting real parts: this client stands for one of the fleet.
    return ServerClient(
        c.url,
        tls=tls,
        issuer_key=c.home.issuer_pub,
        retries=5,
        backoff=0.2,
        build={"mode": "production", "simulated": []},
    )


def open_session(kiosk: ServerClient, nik: str) -> str:
    """Opening a session is not retried by the client (it is not idempotent: a PIN try
    counts, a QR token is spent); a citizen whose attempt met the dying node taps again."""
    for _ in range(3):
        try:
            return str(kiosk.open_session("ektp", nik=nik, card=CARD)["session"])
        except ServerUnavailable:
            continue
    raise AssertionError("no session after three taps")


def new_documents(c: ServerCluster, count: int) -> list[tuple[str, int, str]]:
    """``count`` freshly approved KTP-el: (owner NIK, document id, print code)."""
    engine = make_engine(c.database_url, migrate=False)
    made = []
    with session_factory(engine)() as db:
        for i in range(count):
            nik = NIKS[i % len(NIKS)]
            app = officer.register(db, "ktp_el", nik, {})
            done = officer.approve(db, c.home.pepper(), app.id, c.home.official())
            made.append((nik, done.document.id, done.print_code))
    engine.dispose()
    return made


def test_a_race_for_one_document_across_two_nodes_has_one_winner(
    cluster: ServerCluster,
) -> None:
    ((nik, doc_id, code),) = new_documents(cluster, 1)
    before = cluster.sessions_per_node()
    # Sixteen kiosks' connections, dealt to the nodes in turn; the race runs on them.
    kiosks = [client(cluster, k) for k in ("kiosk-test", "kiosk-b") for _ in range(8)]
    sessions = [k.open_session("ektp", nik=nik, card=CARD)["session"] for k in kiosks]
    start = threading.Barrier(len(kiosks))

    def attempt(i: int) -> str:
        start.wait(timeout=30)
        try:
            return kiosks[i].reserve(sessions[i], str(uuid.uuid4()), doc_id, code).job_id
        except ServerRefused as exc:
            assert exc.status == 409, exc
            return ""

    with concurrent.futures.ThreadPoolExecutor(len(kiosks)) as pool:
        winners = [j for j in pool.map(attempt, range(len(kiosks))) if j]
    assert len(winners) == 1
    spread = {node: n - before.get(node, 0) for node, n in cluster.sessions_per_node().items()}
    assert len(spread) == 2 and min(spread.values()) > 0, spread  # both nodes took part


def test_a_node_killed_under_load_loses_and_doubles_nothing(cluster: ServerCluster) -> None:
    docs = new_documents(cluster, 48)
    lanes = 6
    done: list[str] = []
    killed = threading.Event()
    lock = threading.Lock()

    kiosks = [client(cluster, TEST_KIOSKS[k % 2]) for k in range(lanes)]

    def lane(k: int) -> None:
        kiosk = kiosks[k]
        for nik, doc_id, code in docs[k::lanes]:
            session = open_session(kiosk, nik)
            job = str(uuid.uuid4())
            assert kiosk.reserve(session, job, doc_id, code).state == "reserved"
            assert kiosk.confirm(job)["state"] == "confirmed"
            with lock:
                done.append(job)
                if len(done) == len(docs) // 3:
                    cluster.kill(0)  # in the middle of other lanes' calls
                    killed.set()

    with concurrent.futures.ThreadPoolExecutor(lanes) as pool:
        for f in [pool.submit(lane, k) for k in range(lanes)]:
            f.result()
    assert killed.is_set() and cluster.nodes[0].process.poll() is not None
    assert len(done) == len(docs)
    engine = make_engine(cluster.database_url, migrate=False)
    with session_factory(engine)() as db:
        ids = [d for _, d, _ in docs]
        printed = db.scalars(select(Document).where(Document.id.in_(ids))).all()
        assert {d.status for d in printed} == {"printed"}
        assert sorted(d.printed_job for d in printed) == sorted(done)  # type: ignore[type-var]
        per_doc = db.execute(
            select(Reservation.document_id, func.count())
            .where(Reservation.document_id.in_(ids))
            .group_by(Reservation.document_id)
        ).all()
        assert all(n == 1 for _, n in per_doc) and len(per_doc) == len(docs)
        audited = db.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "printed")
        )
        assert audited == len(docs)
    engine.dispose()
