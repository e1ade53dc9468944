"""Load on the central server: 100 simulated kiosks doing complete print transactions.

Each kiosk has its own client certificate (mTLS, as in production) and runs transactions
back to back: open a session by NIK + PIN → list documents → reserve one with its print
code (signed payload back) → confirm.  Every citizen and document is used once.  The
server runs as ``adm-server serve --workers N`` in its own processes; the load comes from
one asyncio process (aiohttp) on the same 2-core machine, so both share the CPU.

    python bench/server_load.py [--db sqlite|postgresql|both] [--workers 1,2,4]
                                [--kiosks 100] [--seconds 20]

Prints transactions per second and request / transaction latency percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from machine import header  # bench/ is the script's own folder
from sqlalchemy import insert

from server.db import Citizen, Document, Kiosk, make_engine, utcnow
from server.pki import ServerHome
from server.security import keyed_hash
from sim.population import ISSUING_OFFICIAL

PIN = "246810"
CODE = "13572468"


@dataclass
class Stats:
    requests: dict[str, list[float]] = field(default_factory=dict)
    transactions: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

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
        issued = home.issue_kiosk(kiosk_id)
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
    engine.dispose()
    return niks


async def kiosk(
    base: str, ctx: ssl.SSLContext, niks: list[str], stop_at: float, stats: Stats
) -> None:
    connector = aiohttp.TCPConnector(ssl=ctx, limit=1)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as http:

        async def call(name: str, method: str, path: str, **kw: object) -> dict:
            t = time.perf_counter()
            async with http.request(method, path, **kw) as resp:  # type: ignore[arg-type]
                body = await resp.json()
                if resp.status >= 400:
                    raise RuntimeError(f"{name} {resp.status} {body}")
            stats.add(name, time.perf_counter() - t)
            return body  # type: ignore[no-any-return]

        for nik in niks:
            if time.perf_counter() >= stop_at:
                return
            t0 = time.perf_counter()
            try:
                s = await call(
                    "login",
                    "POST",
                    "/api/v1/sessions",
                    json={"method": "pin", "nik": nik, "pin": PIN},
                )
                auth = {"Authorization": f"Bearer {s['session']}"}
                docs = (await call("list", "GET", "/api/v1/documents", headers=auth))["documents"]
                job = os.urandom(16).hex()
                job_id = f"{job[:8]}-{job[8:12]}-4{job[13:16]}-8{job[17:20]}-{job[20:32]}"
                await call(
                    "reserve",
                    "POST",
                    "/api/v1/reservations",
                    headers=auth,
                    json={"job_id": job_id, "document_id": docs[0]["id"], "print_code": CODE},
                )
                await call("confirm", "POST", f"/api/v1/reservations/{job_id}/confirm")
            except Exception as exc:  # counted, not fatal: the run reports them
                key = str(exc)[:80]
                stats.errors[key] = stats.errors.get(key, 0) + 1
                continue
            stats.transactions.append(time.perf_counter() - t0)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def load(
    base: str, home: ServerHome, niks: list[list[str]], seconds: float
) -> tuple[Stats, float]:
    stats = Stats()
    contexts = []
    for k in range(len(niks)):
        ctx = ssl.create_default_context(cafile=str(home.ca_cert))
        ctx.load_cert_chain(
            home.path / "kiosks" / f"bench-{k:03d}.pem", home.path / "kiosks" / f"bench-{k:03d}.key"
        )
        contexts.append(ctx)
    # Warm-up: one transaction per kiosk (TLS handshakes, worker imports), not counted.
    warm = Stats()
    await asyncio.gather(
        *(
            kiosk(base, contexts[k], niks[k][:1], time.perf_counter() + 60, warm)
            for k in range(len(niks))
        )
    )
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(
        *(kiosk(base, contexts[k], niks[k][1:], stop_at, stats) for k in range(len(niks)))
    )
    return stats, time.perf_counter() - started


def run(db: str, workers: int, kiosks: int, seconds: float, pg: object | None) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="adm-bench-server-"))
    home = ServerHome(tmp / "home")
    home.init()
    if db == "sqlite":
        url = f"sqlite:///{tmp / 'server.db'}"
    else:
        url = pg.create_database(f"bench_{workers}")  # type: ignore[attr-defined]
    per_kiosk = int(seconds * 600 / kiosks) + 10  # room for 600 tx/s
    niks = populate(home, url, kiosks, per_kiosk)
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
    ]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"https://127.0.0.1:{port}"
        ctx = ssl.create_default_context(cafile=str(home.ca_cert))
        deadline = time.monotonic() + 60
        while True:
            try:
                import httpx

                if httpx.get(f"{base}/api/v1/health", verify=ctx, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {server.stderr.read().decode()[-500:]}")  # type: ignore[union-attr]
            time.sleep(0.2)
        stats, elapsed = asyncio.run(load(base, home, niks, seconds))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    n = len(stats.transactions)
    for err, count in stats.errors.items():
        print(f"    error x{count}: {err}")
    if not n:
        raise SystemExit("no transaction completed")
    every = [v for values in stats.requests.values() for v in values]
    print(
        f"{db:10s} workers={workers} kiosks={kiosks}: {n / elapsed:6.1f} tx/s "
        f"({n} tx in {elapsed:.1f} s, {len(every) / elapsed:.0f} req/s); "
        f"request p50 {pct(every, 0.5):.1f} ms p99 {pct(every, 0.99):.1f} ms; "
        f"transaction p50 {pct(stats.transactions, 0.5):.1f} ms "
        f"p99 {pct(stats.transactions, 0.99):.1f} ms; "
        f"errors {sum(stats.errors.values())}"
    )
    for name, values in stats.requests.items():
        median, p99 = statistics.median(values) * 1000, pct(values, 0.99)
        print(f"    {name:8s} p50 {median:6.1f} ms  p99 {p99:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--workers", default="2")
    parser.add_argument("--kiosks", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    print(header())
    dbs = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    pg = None
    if "postgresql" in dbs:
        from sim.postgres import PgCluster

        pg = PgCluster(port=16650, durable=True)
        pg.start()
    try:
        for db in dbs:
            for workers in (int(w) for w in args.workers.split(",")):
                run(db, workers, args.kiosks, args.seconds, pg)
    finally:
        if pg is not None:
            pg.stop()


if __name__ == "__main__":
    main()
