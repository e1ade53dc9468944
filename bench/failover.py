"""Benchmark: the replicated database losing its primary under load, and a restore.

pg_auto_failover's monitor and two nodes (sim.pgha, synchronous standby, WAL archived by
pgBackRest), two ``adm-server serve`` nodes behind HAProxy on the multi-host URL, and
``--lanes`` kiosks printing (open a session, reserve, confirm; sim.fleetload) while:

1. the primary's postmaster is killed (SIGKILL);
2. the new primary's host is frozen (SIGSTOP on its keeper and postgres), then thawed
   once the other node is promoted, and rejoins as a standby.

For each: seconds from the fault to the promotion (the monitor's view), the window in
which kiosks saw refusals (first to last 503 or unreachable call), how many calls were
refused, server faults (any 5xx but 503: must be 0), acknowledged prints missing or
doubled on the new primary (must be 0), the transactions' p50/p99 and the rejoin time.

``--restore-documents N``: a register of N documents, a full backup, a moment, one more
row; the time ``adm-server db restore --to`` takes to bring a copy to that moment and
have it take queries (restore plus recovery), and that the row after it is absent.

    python bench/failover.py [--lanes 8] [--documents 160] [--restore-documents 1000000]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from machine import header  # bench/ is the script's own folder
from sqlalchemy import func, select

from kiosk.server_client import ServerClient, Tls
from server import officer
from server.db import Document, Reservation, make_engine, session_factory
from server.pki import ServerHome
from sim.cluster import ServerCluster
from sim.embedded import ensure_kiosk
from sim.fleetload import run_lanes
from sim.pgha import HaCluster
from sim.population import FAMILIES, ISSUING_OFFICIAL
from sim.seed import seed_demo

NIKS = [m["nik"] for f in FAMILIES for m in f["members"]]


def approved(servers: ServerCluster, count: int) -> list[tuple[str, int, str]]:
    engine = make_engine(servers.database_url, migrate=False)
    made = []
    with session_factory(engine)() as db:
        for i in range(count):
            app = officer.register(db, "ktp_el", NIKS[i % len(NIKS)], {})
            done = officer.approve(db, servers.home.pepper(), app.id, servers.home.official())
            made.append((NIKS[i % len(NIKS)], done.document.id, done.print_code))
    engine.dispose()
    return made


def kiosks(servers: ServerCluster, lanes: int, tag: str) -> list[ServerClient]:
    made = []
    for k in range(lanes):
        cred = ensure_kiosk(servers.home, servers.database_url, f"bench-{tag}-{k}")
        made.append(
            ServerClient(
                servers.url,
                tls=Tls(ca=servers.home.ca_cert, cert=cred.cert, key=cred.key),
                issuer_key=servers.home.issuer_pub,
                retries=0,
                build={"mode": "production", "simulated": []},
            )
        )
    return made


def missing_or_doubled(servers: ServerCluster, confirmed: list[str], ids: list[int]) -> int:
    engine = make_engine(servers.database_url, migrate=False)
    with session_factory(engine)() as db:
        printed = db.scalars(select(Document.printed_job).where(Document.id.in_(ids))).all()
        per_doc = db.execute(
            select(func.count())
            .select_from(Reservation)
            .where(Reservation.document_id.in_(ids), Reservation.state == "confirmed")
        ).scalar()
    engine.dispose()
    lost = len(set(confirmed) - {p for p in printed if p})
    return lost + abs((per_doc or 0) - len(confirmed))


def fault_run(
    name: str, db: HaCluster, servers: ServerCluster, fault: Any, args: argparse.Namespace
) -> None:
    docs = approved(servers, args.documents)
    fired: list[float] = []
    promoted: list[float] = []
    lock = threading.Lock()
    before = db.primary()
    assert before is not None

    def watch() -> None:
        while not fired:
            time.sleep(0.05)
        db.wait_until(
            lambda: (p := db.primary()) is not None and p.name != before.name, "a promotion", 120
        )
        promoted.append(time.monotonic())

    def on_done(count: int) -> None:
        if count >= args.documents // 4 and lock.acquire(blocking=False):
            fired.append(time.monotonic())
            fault(before)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    result = run_lanes(
        kiosks(servers, args.lanes, name), docs, deadline=300, pace=args.pace, on_done=on_done
    )
    watcher.join(timeout=130)
    wrong = missing_or_doubled(servers, result.confirmed, [d for _, d, _ in docs])
    lat = sorted(result.latencies)
    elapsed = result.finished - result.started
    print(
        f"{name:8s}: promotion {promoted[0] - fired[0]:.1f} s after the fault; kiosks saw "
        f"refusals for {result.outage_window:.1f} s ({len(result.outages)} calls refused), "
        f"the longest print {result.longest_wait:.1f} s; "
        f"server faults {len(result.faults)}; acknowledged prints missing or doubled {wrong}; "
        f"{len(result.confirmed)} prints in {elapsed:.1f} s "
        f"({len(result.confirmed) / elapsed:.1f}/s), "
        f"transaction p50 {statistics.median(lat) * 1000:.0f} ms p99 "
        f"{lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1000:.0f} ms",
        flush=True,
    )
    return None


def restore_run(db: HaCluster, count: int) -> None:
    import psycopg

    node = db.primary()
    assert node is not None
    conninfo = f"host=127.0.0.1 port={node.port} user=adm dbname=adm"
    t = time.monotonic()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO documents (kind, number, owner_nik, status, approved_at, official, data,"
            " verify_code, checks) SELECT 'akta_kelahiran', 'BULK-' || g, %s, 'printed', now(),"
            ' \'{"name": "Drs. H. Rahmat Hidayat, M.Si", "nip": "196805121994031005"}\','
            ' \'{"registration_number": "3271-LT-02112026-0042", "name": "Warga"}\','
            " 'bulk' || g, 0 FROM generate_series(1, %s) AS g",
            (NIKS[0], count),
        )
        size = conn.execute("SELECT pg_size_pretty(pg_database_size('adm'))").fetchone()[0]  # type: ignore[index]
    print(f"restore: {count} documents inserted in {time.monotonic() - t:.0f} s; database {size}")
    t = time.monotonic()
    db.backrest("backup", "--type=full")
    print(f"restore: full backup in {time.monotonic() - t:.0f} s", flush=True)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_sleep(1.5)")  # the backup's end is kept to the second
        moment = conn.execute("SELECT clock_timestamp()").fetchone()[0]  # type: ignore[index]
        conn.execute("CREATE TABLE after_moment (x int)")
        conn.execute("SELECT pg_switch_wal()")
    db.wait_until(lambda: archived(conninfo), "the last segment archived", 900)
    target = db.dir / "restored"
    t = time.monotonic()
    db.restore_to(moment.isoformat(sep=" "), target)
    restored = time.monotonic() - t
    found = db.query_restored(
        target,
        "SELECT count(*) FROM documents WHERE number LIKE 'BULK-%%' UNION ALL "
        "SELECT count(*) FROM pg_tables WHERE tablename = 'after_moment'",
    )
    total = time.monotonic() - t
    print(
        f"restore: pgbackrest restore {restored:.0f} s, to queries answered {total:.0f} s; "
        f"documents {found[0]}, later table present {bool(found[1])}",
        flush=True,
    )


def archived(conninfo: str) -> bool:
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute(
            "SELECT last_archived_wal >= pg_walfile_name(pg_current_wal_lsn() - 1) "
            "FROM pg_stat_archiver"
        ).fetchone()
    return bool(row and row[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lanes", type=int, default=8)
    parser.add_argument("--documents", type=int, default=160)
    parser.add_argument("--pace", type=float, default=0.1, help="seconds between a lane's prints")
    parser.add_argument("--restore-documents", type=int, default=0)
    args = parser.parse_args()
    print(header())
    db = HaCluster(base_port=16710, archive=True)
    tmp = Path(tempfile.mkdtemp(prefix="adm-bench-failover-"))
    servers = None
    try:
        t = time.monotonic()
        db.start()
        print(f"cluster up in {time.monotonic() - t:.1f} s: {db.states()}", flush=True)
        home = ServerHome(tmp / "home")
        home.init()
        home.set_official(**ISSUING_OFFICIAL)
        url = db.url()
        engine = make_engine(url)
        with session_factory(engine)() as session:
            seed_demo(session, home.pepper())
        engine.dispose()
        servers = ServerCluster(home, url, nodes=2, workers=1)
        servers.start()
        fault_run("SIGKILL", db, servers, db.kill_postmaster, args)
        first = db.primary()
        t = time.monotonic()
        db.wait_until(
            lambda: len({s for s in db.states().values()} & {"secondary"}) == 1, "rejoin", 180
        )
        print(f"SIGKILL : the old primary rejoined as standby {time.monotonic() - t:.1f} s later")

        frozen: list[Any] = []

        def freeze(node: Any) -> None:
            frozen.append(node)
            db.freeze(node)

        fault_run("frozen", db, servers, freeze, args)
        t = time.monotonic()
        db.thaw(frozen[0])
        db.wait_until(lambda: db.states().get(frozen[0].name) == "secondary", "rejoin", 180)
        print(f"frozen  : thawed, rejoined as standby in {time.monotonic() - t:.1f} s")
        del first
        if args.restore_documents:
            servers.stop()
            servers = None
            restore_run(db, args.restore_documents)
    finally:
        if servers is not None:
            servers.stop()
        db.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
