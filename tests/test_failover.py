"""The central database survives its host: pg_auto_failover's two nodes and monitor
(sim.pgha), two server nodes behind HAProxy on the multi-host URL, six kiosks printing.

First the primary's postmaster is killed (SIGKILL), then the new primary's whole host is
frozen (SIGSTOP on keeper and postgres: nothing closed cleanly) and thawed after the
promotion.  Each time: the outage a kiosk sees is short, no answer is a server fault,
every acknowledged reservation and print is on the new primary exactly once, the audit
has every print; the thawed old primary refuses a write and rejoins as a standby by
itself.  A base backup and the WAL archive restore to a moment between two transactions.

Collected only with ADM_FAILOVER=1 (``make failover-test``): about two minutes.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select

from kiosk.server_client import ServerClient, Tls
from server import officer
from server.db import AuditEntry, Document, Reservation, make_engine, session_factory
from server.dbops import last_backup
from server.pki import ServerHome
from sim.cluster import ServerCluster
from sim.embedded import ensure_kiosk
from sim.fleetload import LoadResult, run_lanes
from sim.pgha import HaCluster, Node
from sim.population import FAMILIES, ISSUING_OFFICIAL
from sim.seed import seed_demo
from tests.conftest import TEST_KIOSKS

pytestmark = pytest.mark.timeout(600)

NIKS = [m["nik"] for f in FAMILIES for m in f["members"]]
OUTAGE_GOAL = 15.0  # seconds a kiosk may see the database gone


@pytest.fixture(scope="module")
def db_cluster() -> Iterator[HaCluster]:
    cluster = HaCluster(base_port=16690, archive=True)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def servers(
    db_cluster: HaCluster, server_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerCluster]:
    home = ServerHome(tmp_path_factory.mktemp("failover") / "home")
    shutil.copytree(server_home, home.path)
    if not home.official_file.is_file():
        home.set_official(**ISSUING_OFFICIAL)
    url = db_cluster.url()
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


def clients(c: ServerCluster, lanes: int) -> list[ServerClient]:
    """A kiosk of its own for each lane (a kiosk opens at most 30 e-KTP sessions in a
    while: the server's abuse limit), new ones for every load."""
    made = []
    for _ in range(lanes):
        cred = ensure_kiosk(c.home, c.database_url, f"kiosk-fo-{uuid.uuid4().hex[:6]}")
        made.append(
            ServerClient(
                c.url,
                tls=Tls(ca=c.home.ca_cert, cert=cred.cert, key=cred.key),
                issuer_key=c.home.issuer_pub,
                retries=0,  # every outage is seen here (fleetload retries as a kiosk does)
                build={"mode": "production", "simulated": []},
            )
        )
    return made


def approved(c: ServerCluster, count: int) -> list[tuple[str, int, str]]:
    engine = make_engine(c.database_url, migrate=False)
    made = []
    with session_factory(engine)() as db:
        for i in range(count):
            app = officer.register(db, "ktp_el", NIKS[i % len(NIKS)], {})
            done = officer.approve(db, c.home.pepper(), app.id, c.home.official())
            made.append((NIKS[i % len(NIKS)], done.document.id, done.print_code))
    engine.dispose()
    return made


def load_with_fault(
    servers: ServerCluster, fault: Any, documents: int = 42, lanes: int = 6
) -> tuple[LoadResult, list[tuple[str, int, str]], float]:
    """Print ``documents`` through ``lanes`` kiosks; ``fault()`` once a third is printed.
    Returns the load's result, the documents and the moment of the fault."""
    docs = approved(servers, documents)
    when: list[float] = []
    fired = threading.Lock()

    def on_done(count: int) -> None:
        if count >= documents // 3 and fired.acquire(blocking=False):
            when.append(time.monotonic())
            fault()

    result = run_lanes(clients(servers, lanes), docs, deadline=240, pace=0.15, on_done=on_done)
    assert when, "the fault never fired"
    return result, docs, when[0]


def check_nothing_lost(servers: ServerCluster, result: LoadResult, docs: list[Any]) -> None:
    assert result.faults == []  # no 500 (nor any 5xx but 503) at any moment
    assert sorted(result.confirmed) == sorted(result.reserved) and len(result.confirmed) == len(
        docs
    )
    engine = make_engine(servers.database_url, migrate=False)
    try:
        with session_factory(engine)() as db:
            ids = [d for _, d, _ in docs]
            printed = db.scalars(select(Document).where(Document.id.in_(ids))).all()
            assert {d.status for d in printed} == {"printed"}
            # Every acknowledged print is there, each document printed by exactly its job.
            assert sorted(d.printed_job or "" for d in printed) == sorted(result.confirmed)
            per_doc = db.execute(
                select(Reservation.document_id, func.count())
                .where(Reservation.document_id.in_(ids), Reservation.state == "confirmed")
                .group_by(Reservation.document_id)
            ).all()
            assert len(per_doc) == len(docs) and all(n == 1 for _, n in per_doc)
            subjects = [str(i) for i in ids]  # a print's audit row names the document id
            audit = db.scalars(
                select(AuditEntry)
                .where(AuditEntry.subject.in_(subjects), AuditEntry.action == "printed")
                .order_by(AuditEntry.id)
            ).all()
            assert sorted(a.subject for a in audit) == sorted(subjects)  # each print, once
            assert sorted(a.detail["job"] for a in audit) == sorted(result.confirmed)
    finally:
        engine.dispose()


def primary(db_cluster: HaCluster) -> Node:
    node = db_cluster.primary()
    assert node is not None, db_cluster.states()
    return node


def test_a_killed_postmaster_then_a_frozen_host_lose_nothing_and_fence_the_old_primary(
    db_cluster: HaCluster, servers: ServerCluster
) -> None:
    # 1. SIGKILL of the primary's postmaster under load.
    first = primary(db_cluster)
    result, docs, _ = load_with_fault(servers, lambda: db_cluster.kill_postmaster(first))
    check_nothing_lost(servers, result, docs)
    assert result.outage_window < OUTAGE_GOAL, result.outage_window
    assert result.longest_wait < OUTAGE_GOAL, result.longest_wait
    second = primary(db_cluster)
    assert second.name != first.name
    # The old primary comes back as the standby without anyone doing anything.
    db_cluster.wait_until(
        lambda: db_cluster.states() == {second.name: "primary", first.name: "secondary"},
        "the killed node to rejoin as secondary",
        120,
    )

    # 2. The new primary's host freezes (nothing closed), under load: failover back.
    result, docs, _ = load_with_fault(servers, lambda: db_cluster.freeze(second))
    check_nothing_lost(servers, result, docs)
    assert result.outage_window < OUTAGE_GOAL, result.outage_window
    assert result.longest_wait < OUTAGE_GOAL, result.longest_wait  # hung, not refused
    assert primary(db_cluster).name == first.name

    # 3. Never two primaries: the thawed old primary takes no write.
    db_cluster.thaw(second)
    marker = f"fenced-{uuid.uuid4().hex[:8]}"
    outcome: list[str] = []

    def write_to_old_primary() -> None:
        try:
            with psycopg.connect(
                f"host=127.0.0.1 port={second.port} user=adm dbname=adm connect_timeout=3",
                autocommit=True,
            ) as conn:
                conn.execute(
                    "INSERT INTO audit (at, actor, action, subject, detail) "
                    "VALUES (now(), 'test', 'fencing', %s, '{}')",
                    (marker,),
                )
            outcome.append("accepted")
        except psycopg.Error as exc:
            outcome.append(f"refused: {str(exc).splitlines()[0]}")

    writer = threading.Thread(target=write_to_old_primary, daemon=True)
    writer.start()
    writer.join(timeout=60)
    assert outcome and outcome[0].startswith("refused"), outcome or "the write still waits"
    db_cluster.wait_until(
        lambda: db_cluster.states() == {first.name: "primary", second.name: "secondary"},
        "the frozen node to rejoin as secondary",
        120,
    )
    with psycopg.connect(
        f"host=127.0.0.1 port={first.port} user=adm dbname=adm", autocommit=True
    ) as conn:
        assert conn.execute(
            "SELECT count(*) FROM audit WHERE subject = %s", (marker,)
        ).fetchone() == (0,)


def test_adm_server_db_status_names_the_primary_and_the_standby(
    db_cluster: HaCluster, servers: ServerCluster
) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "--home",
            str(servers.home.path),
            "--db",
            db_cluster.url(),
            "db",
            "status",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    node = primary(db_cluster)
    assert f"primary     127.0.0.1:{node.port}" in run.stdout, run.stdout
    assert "standby" in run.stdout and ("quorum" in run.stdout or "sync" in run.stdout)


def test_a_restore_to_a_moment_finds_the_first_transaction_and_not_the_second(
    db_cluster: HaCluster, tmp_path: Path
) -> None:
    db_cluster.backrest("backup", "--type=full")
    stop = last_backup(db_cluster.backup_config())
    assert stop is not None
    url = f"host=127.0.0.1 port={primary(db_cluster).port} user=adm dbname=adm"
    # pgBackRest keeps a backup's end to the second: a target must be a second past it.
    db_cluster.wait_until(lambda: db_clock(url) > stop + dt.timedelta(seconds=1.5), "a second")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS pitr_probe (name text, at timestamptz)")
        conn.execute("INSERT INTO pitr_probe VALUES ('first', clock_timestamp())")
        between = conn.execute("SELECT clock_timestamp()").fetchone()[0]  # type: ignore[index]
        conn.execute("SELECT pg_sleep(0.2)")
        conn.execute("INSERT INTO pitr_probe VALUES ('second', clock_timestamp())")
        conn.execute("SELECT pg_switch_wal()")  # the segment with both goes to the archive
    db_cluster.wait_until(lambda: archived_past(url), "the WAL archived", 60)
    target = db_cluster.dir / "restored"  # postgres's own: pytest's folders are root's
    started = time.monotonic()
    db_cluster.restore_to(between.isoformat(sep=" "), target)
    names = db_cluster.query_restored(target, "SELECT name FROM pitr_probe ORDER BY at")
    assert names == ["first"], names
    assert time.monotonic() - started < 120


def db_clock(url: str) -> dt.datetime:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT clock_timestamp() AT TIME ZONE 'UTC'").fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def archived_past(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT last_archived_wal >= pg_walfile_name(pg_current_wal_lsn() - 1) "
            "FROM pg_stat_archiver"
        ).fetchone()
    return bool(row and row[0])


def test_a_failing_archive_and_an_old_backup_become_alerts_and_metrics(
    db_cluster: HaCluster,
) -> None:
    from prometheus_client.core import Metric

    from server.dbops import BackupConfig, alerts, health
    from server.metrics import database_series

    db_cluster.backrest("backup", "--type=full")
    node = primary(db_cluster)
    owner = f"host=127.0.0.1 port={node.port} user=postgres dbname=adm"
    strict = BackupConfig(
        db_cluster.backup_config().stanza,
        db_cluster.backup_config().config,
        db_cluster.backup_config().user,
        max_age_hours=1e-6,  # a backup older than 4 ms is "old" here
    )
    with psycopg.connect(owner, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET archive_command = 'false'")
        conn.execute("SELECT pg_reload_conf()")
        conn.execute("CREATE TABLE IF NOT EXISTS archive_probe (at timestamptz)")
        conn.execute("INSERT INTO archive_probe VALUES (now())")  # a segment to archive
        conn.execute("SELECT pg_switch_wal()")
    try:
        db_cluster.wait_until(
            lambda: health(db_cluster.url(), strict).archive_failing(), "a failed archiving", 60
        )
        found = health(db_cluster.url(), strict)
        keys = [k for k, _ in alerts(found, strict, dbops_now())]
        assert "db_archive_failing" in keys and "db_backup_old" in keys, keys
        series: dict[str, Metric] = {m.name: m for m in database_series(found, dbops_now())}
        assert series["adm_database_archive_failing"].samples[0].value == 1
        assert series["adm_database_backup_age_seconds"].samples[0].value > 0
        assert series["adm_database_standbys"].samples[0].value == 1
        info = series["adm_database_info"].samples[0].labels
        assert info == {"dialect": "postgresql", "primary": f"127.0.0.1:{node.port}"}
    finally:
        with psycopg.connect(owner, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM RESET archive_command")
            conn.execute("SELECT pg_reload_conf()")
    db_cluster.wait_until(
        lambda: not health(db_cluster.url(), strict).archive_failing(), "archiving again", 120
    )


def dbops_now() -> dt.datetime:
    from server.dbops import now

    return now()
