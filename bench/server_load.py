"""Load on the central server: 100 simulated kiosks doing complete print transactions.

Each kiosk has its own client certificate (mTLS, as in production) and one keep-alive
connection, and runs transactions: open a session by NIK + PIN → list documents →
reserve one with its print code (signed payload back) → confirm.  Every citizen and
document is used once.  The server runs as ``adm-server serve --workers N`` in its own
processes; the load comes from one asyncio process on the same 2-core machine, so both
share the CPU.

Two measurements per server:

- back to back: every kiosk starts its next transaction as soon as one ends.  This is
  the server's capacity; latencies are then only queueing (100 kiosks in flight).
- paced (``--rates``): every kiosk starts a transaction every 100/rate seconds, from a
  random phase, whatever the server does (an open-loop load, as independent citizens
  are).  Latency counts from the scheduled start, so a server that falls behind shows
  its queue instead of slowing the load down.

    python bench/server_load.py [--db sqlite|postgresql|both] [--workers 1,2,4]
                                [--kiosks 100] [--seconds 20] [--rates 250,300]
                                [--db-threads N] [--nodes 1,2]

``--nodes 2``: that many server processes (each with ``--workers``) on the one database
behind HAProxy in TCP mode (``sim.cluster``), as a scaled-out deployment runs.

Prints transactions per second and request / transaction latency percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvloop
from machine import header  # bench/ is the script's own folder
from sqlalchemy import insert

from server.db import Citizen, Document, Kiosk, make_engine, utcnow
from server.pki import ServerHome
from server.security import keyed_hash
from sim.embedded import mint_kiosk
from sim.population import ISSUING_OFFICIAL

PIN = "246810"
CODE = "13572468"


@dataclass
class Stats:
    requests: dict[str, list[float]] = field(default_factory=dict)
    transactions: list[float] = field(default_factory=list)
    started: list[float] = field(default_factory=list)  # each transaction's start (perf_counter)
    errors: dict[str, int] = field(default_factory=dict)
    scheduled: int = 0
    finished_at: float = 0.0  # perf_counter of the last completed transaction

    def add(self, name: str, seconds: float) -> None:
        self.requests.setdefault(name, []).append(seconds)


def populate(home: ServerHome, url: str, kiosks: int, per_kiosk: int) -> list[list[str]]:
    """Kiosks with certificates, citizens with PINs, one approved document each."""
    engine = make_engine(url)
    pepper = home.pepper()
    pin_hash, code_hash = keyed_hash(pepper, "pin", PIN), keyed_hash(pepper, "code", CODE)
    niks: list[list[str]] = []
    citizens, documents, kiosk_rows = [], [], []
    for k in range(kiosks):
        kiosk_id = f"bench-{k:03d}"
        issued = mint_kiosk(home, kiosk_id)
        kiosk_rows.append({"id": kiosk_id, "cert_serial": issued.serial, "status": "active"})
        mine = []
        for i in range(per_kiosk):
            nik = f"9{k:03d}{i:07d}00001"
            mine.append(nik)
            citizens.append(
                {
                    "nik": nik,
                    "name": f"Warga {k}-{i}",
                    "position": 0,
                    "details": {},
                    "pin_hash": pin_hash,
                }
            )
            documents.append(
                {
                    "kind": "akta_kelahiran",
                    "number": f"AKL-BENCH-{k:03d}-{i:06d}",
                    "owner_nik": nik,
                    "status": "approved",
                    "approved_at": utcnow(),
                    "official": ISSUING_OFFICIAL,
                    "data": {"registration_number": f"B-{k}-{i}", "name": f"Warga {k}-{i}"},
                    "verify_code": f"b{k:03d}{i:07d}",
                    "code_hash": code_hash,
                }
            )
        niks.append(mine)
    with engine.begin() as conn:
        conn.execute(insert(Kiosk), kiosk_rows)
        for start in range(0, len(citizens), 5000):
            conn.execute(insert(Citizen), citizens[start : start + 5000])
            conn.execute(insert(Document), documents[start : start + 5000])
    if engine.dialect.name == "postgresql":
        # Vacuumed with planner statistics, as a live database is (else autovacuum does it
        # during the first measurement, on the same two cores).  Not for
        # the still empty ones (sessions, reservations, lockouts): "0 rows" would make
        # sequential scans look best, and those tables grow by one row per transaction.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE citizens, documents, kiosks")
    engine.dispose()
    return niks


class Connection:
    """One kiosk's keep-alive HTTPS connection: a minimal HTTP/1.1 client.

    The load runs on the same two cores as the server, so the client is kept lean (a
    general client library cost a quarter of the machine): requests are formatted by
    hand and responses read by their Content-Length, which the server always sends.
    """

    def __init__(self, host: str, port: int, ctx: ssl.SSLContext) -> None:
        self.host, self.port, self.ctx = host, port, ctx
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: dict | None = None, token: str | None = None
    ) -> tuple[int, Any]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port, ssl=self.ctx
            )
        assert self.reader is not None
        raw = json.dumps(body).encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        if body is not None:
            head += "Content-Type: application/json\r\n"
        head += f"Content-Length: {len(raw)}\r\n\r\n"
        self.writer.write(head.encode() + raw)
        response = await self.reader.readuntil(b"\r\n\r\n")
        status = int(response[9:12])
        length = None
        for line in response.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise RuntimeError(f"{method} {path}: response without Content-Length")
        data = await self.reader.readexactly(length)
        return status, json.loads(data) if data else None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()


async def kiosk(
    conn: Connection,
    niks: list[str],
    stop_at: float,
    stats: Stats,
    interval: float | None,
) -> None:
    """Transactions for ``niks`` until ``stop_at``: back to back (``interval`` None, the
    server's capacity), or one every ``interval`` seconds (a paced, open-loop load whose
    latencies count from the scheduled start, so a slow server cannot hide its queue)."""

    async def call(name: str, method: str, path: str, **kw: Any) -> Any:
        t = time.perf_counter()
        status, body = await conn.request(method, path, **kw)
        if status >= 400:
            raise RuntimeError(f"{name} {status} {body}")
        stats.add(name, time.perf_counter() - t)
        return body

    started = time.perf_counter()
    next_start = started + (random.random() * interval if interval else 0.0)
    for nik in niks:
        if interval:
            if next_start >= stop_at:
                return
            delay = next_start - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        elif time.perf_counter() >= stop_at:
            return
        t0 = next_start if interval else time.perf_counter()
        next_start += interval or 0.0
        stats.scheduled += 1
        try:
            s = await call(
                "login", "POST", "/api/v1/sessions", body={"method": "pin", "nik": nik, "pin": PIN}
            )
            token = s["session"]
            docs = (await call("list", "GET", "/api/v1/documents", token=token))["documents"]
            job_id = str(uuid.uuid4())
            await call(
                "reserve",
                "POST",
                "/api/v1/reservations",
                token=token,
                body={"job_id": job_id, "document_id": docs[0]["id"], "print_code": CODE},
            )
            await call("confirm", "POST", f"/api/v1/reservations/{job_id}/confirm", body={})
        except Exception as exc:  # counted, not fatal: the run reports them
            key = str(exc)[:80]
            stats.errors[key] = stats.errors.get(key, 0) + 1
            continue
        stats.finished_at = time.perf_counter()
        stats.transactions.append(stats.finished_at - t0)
        stats.started.append(t0)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def load(
    port: int, home: ServerHome, niks: list[list[str]], seconds: float, rate: float | None
) -> tuple[Stats, float]:
    conns = []
    for k in range(len(niks)):
        ctx = ssl.create_default_context(cafile=str(home.ca_cert))
        ctx.load_cert_chain(
            home.path / "kiosks" / f"bench-{k:03d}.pem", home.path / "kiosks" / f"bench-{k:03d}.key"
        )
        conns.append(Connection("127.0.0.1", port, ctx))
    try:
        # Warm-up: one transaction per kiosk (TLS handshakes, worker imports), not counted.
        warm = Stats()
        await asyncio.gather(
            *(
                kiosk(conns[k], niks[k][:1], time.perf_counter() + 60, warm, None)
                for k in range(len(niks))
            )
        )
        if warm.errors:
            raise RuntimeError(f"warm-up failed: {warm.errors}")
        interval = len(niks) / rate if rate else None
        stats = Stats()
        started = time.perf_counter()
        stop_at = started + seconds
        await asyncio.gather(
            *(kiosk(conns[k], niks[k][1:], stop_at, stats, interval) for k in range(len(niks)))
        )
        stats.started = [t - started for t in stats.started]
        return stats, stats.finished_at - started
    finally:
        for conn in conns:
            await conn.close()


def report(db: str, workers: int, mode: str, stats: Stats, elapsed: float) -> None:
    """``elapsed``: from the start to the last completed transaction (a paced run's
    throughput therefore includes the time its last transactions took to finish)."""
    n = len(stats.transactions)
    for err, count in stats.errors.items():
        print(f"    error x{count}: {err}")
    if not n:
        raise SystemExit("no transaction completed")
    every = [v for values in stats.requests.values() for v in values]
    print(
        f"{db:10s} workers={workers} {mode:>14s}: {n / elapsed:6.1f} tx/s "
        f"({n} of {stats.scheduled} tx in {elapsed:.2f} s, {len(every) / elapsed:.0f} req/s); "
        f"request p50 {pct(every, 0.5):.1f} ms p99 {pct(every, 0.99):.1f} ms; "
        f"transaction p50 {pct(stats.transactions, 0.5):.1f} ms "
        f"p99 {pct(stats.transactions, 0.99):.1f} ms; "
        f"errors {sum(stats.errors.values())}",
        flush=True,
    )
    for name, values in stats.requests.items():
        median, p99 = statistics.median(values) * 1000, pct(values, 0.99)
        print(f"    {name:8s} p50 {median:6.1f} ms  p99 {p99:6.1f} ms", flush=True)
    # When the slow transactions started: a burst in one second (a checkpoint, the
    # start-up) reads differently from a tail spread over the whole run.
    slow: dict[int, int] = {}
    for t, v in zip(stats.started, stats.transactions, strict=True):
        if v > 0.1:
            slow[int(t)] = slow.get(int(t), 0) + 1
    if slow and mode != "back to back":  # there every transaction waits in the queue
        spread = ", ".join(f"{sec}s: {count}" for sec, count in sorted(slow.items()))
        print(f"    transactions over 100 ms by second of the run: {spread}", flush=True)


def run(
    db: str,
    workers: int,
    kiosks: int,
    seconds: float,
    rates: list[float],
    pg: object | None,
    extra: tuple[str, ...] = (),
    nodes: int = 1,
) -> None:
    """One server with ``workers`` (or ``nodes`` of them behind HAProxy): its capacity
    (back to back), then a paced load."""
    tmp = Path(tempfile.mkdtemp(prefix="adm-bench-server-"))
    home = ServerHome(tmp / "home")
    home.init()
    if db == "sqlite":
        url = f"sqlite:///{tmp / 'server.db'}"
    else:
        url = pg.create_database(f"bench_{nodes}_{workers}")  # type: ignore[attr-defined]
    # Citizens per kiosk for each run: up to 1000 tx/s back to back, then each rate.
    rooms = [int(seconds * rate / kiosks) + 2 for rate in (1000.0, *rates)]
    niks = populate(home, url, kiosks, sum(rooms))
    label = f"{db}{f' x{nodes} nodes' if nodes > 1 else ''}"
    if nodes > 1:
        from sim.cluster import ServerCluster

        cluster = ServerCluster(home, url, nodes=nodes, workers=workers, extra=extra)
        try:
            cluster.start()
            _measure(label, workers, cluster.port, home, niks, rooms, seconds, rates)
        finally:
            cluster.stop()
            shutil.rmtree(tmp, ignore_errors=True)
        return
    port = 18443 + workers
    cmd = [
        sys.executable,
        "-m",
        "server.cli",
        "--home",
        str(home.path),
        "--db",
        url,
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        *extra,
    ]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_ready(server, port, home)
        _measure(label, workers, port, home, niks, rooms, seconds, rates)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(tmp, ignore_errors=True)  # the run's CA, keys and database


def _measure(
    label: str,
    workers: int,
    port: int,
    home: ServerHome,
    niks: list[list[str]],
    rooms: list[int],
    seconds: float,
    rates: list[float],
) -> None:
    used = 0
    for rate, room in zip((None, *rates), rooms, strict=True):
        part = [n[used : used + room] for n in niks]
        used += room
        stats, elapsed = uvloop.run(load(port, home, part, seconds, rate))
        report(label, workers, f"paced {rate:g}/s" if rate else "back to back", stats, elapsed)


def wait_ready(server: subprocess.Popen, port: int, home: ServerHome) -> None:
    ctx = ssl.create_default_context(cafile=str(home.ca_cert))
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(
                f"https://127.0.0.1:{port}/api/v1/health", verify=ctx, timeout=2
            ).is_success:
                return
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server did not start: {server.stderr.read().decode()[-500:]}")  # type: ignore[union-attr]
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--db",
        choices=("sqlite", "postgresql", "both", "replicated", "pair"),
        default="both",
        help="replicated: pg_auto_failover's synchronous pair (sim.pgha); "
        "pair: the single PostgreSQL and the replicated pair in one run",
    )
    parser.add_argument("--workers", default="2")
    parser.add_argument("--kiosks", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rates", default="250,300", help="paced loads, tx/s")
    parser.add_argument("--db-threads", type=int, default=None, help="passed to serve")
    parser.add_argument("--nodes", default="1", help="server processes behind HAProxy")
    args = parser.parse_args()
    print(header())
    dbs = {"both": ("sqlite", "postgresql"), "pair": ("postgresql", "replicated")}.get(
        args.db, (args.db,)
    )
    pg = None
    ha = None
    if "postgresql" in dbs:
        from sim.postgres import PgCluster

        pg = PgCluster(port=16650, durable=True)
        pg.start()
    if "replicated" in dbs:
        from sim.pgha import HaCluster

        ha = HaCluster(base_port=16700)
        ha.start()
    try:
        for db in dbs:
            for nodes, workers in (
                (int(n), int(w)) for n in args.nodes.split(",") for w in args.workers.split(",")
            ):
                run(
                    db,
                    workers,
                    args.kiosks,
                    args.seconds,
                    [float(r) for r in args.rates.split(",")],
                    ha if db == "replicated" else pg,
                    () if args.db_threads is None else ("--db-threads", str(args.db_threads)),
                    nodes,
                )
    finally:
        if pg is not None:
            pg.stop()
        if ha is not None:
            ha.stop()


if __name__ == "__main__":
    main()
