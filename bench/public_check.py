"""Benchmark: the public check of printed documents (``/v/<token>``) under a paced load,
and what the seal costs on paper (QR version and module size per kind).

The server runs as ``adm-server serve --workers 2`` over a register of 5 000 printed
documents; one asyncio process on the same 2-core machine opens ``--clients`` phones
(each its own loopback source address, 127.0.0.2 and up, so the per-address budget is
exercised as in the field, and set to 120 a minute for the run) and requests a random
document's page at ``--rate`` per second in all, open loop: each request's latency counts
from its scheduled start, so a server that falls behind shows its queue.  Every check
writes (the document's counter), so this is a read and a write per request.

    python bench/public_check.py [--db sqlite|postgresql|both] [--rate 200] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import random
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import uvloop
from machine import header  # bench/ is the script's own folder
from server_load import pct, wait_ready
from sqlalchemy import insert

from printing import qrmatrix
from printing.renderers import render
from server.db import Citizen, Document, make_engine
from server.pki import ServerHome
from sim.documents import SAMPLE_HOST, all_samples
from sim.population import ISSUING_OFFICIAL

KINDS = ("kartu_keluarga", "akta_kelahiran", "akta_kematian", "surat_pindah", "ktp_el", "kia")
HOST = "cek.adm.example.id"


def paper() -> None:
    """QR version and module size per kind, as printed (the sample documents)."""
    print(f"QR of the seal link (host {SAMPLE_HOST}, level M, quiet zone 2 modules):")
    for kind, payload in all_samples().items():
        link = payload.get("verification")
        if not link:
            continue
        version = qrmatrix.version(link)
        modules = 17 + 4 * version
        size_mm = 30.0  # every kind's code: layout.qr_block, the KK and the cards' backs
        print(
            f"  {kind:22s} {len(link):3d} chars  version {version}  {modules} modules  "
            f"{size_mm / (modules + 4):.2f} mm/module at {size_mm:.0f} mm",
            flush=True,
        )
    # Render time per kind, as bench/render.py does, to see what the larger code costs.
    for kind, payload in all_samples().items():
        render(payload)
        times = []
        for _ in range(50):
            t = time.perf_counter()
            render(payload)
            times.append(time.perf_counter() - t)
        times.sort()
        print(
            f"  render {kind:22s} median {times[25] * 1000:5.1f} ms  p90 {times[45] * 1000:5.1f} ms"
        )


def populate(home: ServerHome, url: str, count: int) -> list[str]:
    """``count`` printed documents with their seal tokens."""
    issuer = home.issuer()
    engine = make_engine(url)
    issued = dt.datetime(2026, 12, 1, 9, 0)
    citizens, documents, tokens = [], [], []
    for i in range(count):
        nik = f"9{i:015d}"
        kind = KINDS[i % len(KINDS)]
        number = f"BENCH-{i:07d}"
        citizens.append({"nik": nik, "name": f"Warga Uji {i}", "position": 0, "details": {}})
        documents.append(
            {
                "kind": kind,
                "number": number,
                "owner_nik": nik,
                "status": "printed",
                "approved_at": issued,
                "official": ISSUING_OFFICIAL,
                "data": {},
                "verify_code": f"bench{i:011d}",
                "printed_at": issued,
            }
        )
        tokens.append(issuer.seal(kind, issued.date(), number))
    with engine.begin() as conn:
        for start in range(0, count, 5000):
            conn.execute(insert(Citizen), citizens[start : start + 5000])
            conn.execute(insert(Document), documents[start : start + 5000])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE citizens, documents")
    engine.dispose()
    return tokens


class Phone:
    """One client's keep-alive HTTPS connection from its own source address."""

    def __init__(self, address: str, port: int, ctx: ssl.SSLContext) -> None:
        self.address, self.port, self.ctx = address, port, ctx
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(
                "127.0.0.1",
                self.port,
                ssl=self.ctx,
                local_addr=(self.address, 0),
                server_hostname="127.0.0.1",
            )
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(head[9:12])

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()


async def load(
    port: int, home: ServerHome, tokens: list[str], clients: int, rate: float, seconds: float
) -> tuple[list[float], dict[int, int], float]:
    ctx = ssl.create_default_context(cafile=str(home.ca_cert))
    phones = [Phone(f"127.0.{2 + i // 250}.{2 + i % 250}", port, ctx) for i in range(clients)]
    rng = random.Random(2026)
    for phone in phones:  # warm-up: handshakes and the workers' first pages, not counted
        await phone.get(f"/v/{rng.choice(tokens)}")
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    interval = clients / rate

    async def run(phone: Phone, start: float, stop: float) -> None:
        at = start + rng.random() * interval
        while at < stop:
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            status = await phone.get(f"/v/{rng.choice(tokens)}")
            latencies.append(time.perf_counter() - at)
            statuses[status] = statuses.get(status, 0) + 1
            at += interval

    start = time.perf_counter()
    await asyncio.gather(*(run(p, start, start + seconds) for p in phones))
    elapsed = time.perf_counter() - start
    for phone in phones:
        await phone.close()
    return latencies, statuses, elapsed


def measure(db: str, pg: object | None, args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="adm-bench-public-"))
    home = ServerHome(tmp / "home")
    home.init()
    home.config_file.write_text(f'[verification]\nhost = "{HOST}"\nper_minute = 120\n')
    url = (
        f"sqlite:///{tmp / 'server.db'}" if db == "sqlite" else pg.create_database("bench_public")  # type: ignore[attr-defined]
    )
    port = 18500
    migrate = subprocess.run(
        [sys.executable, "-m", "server.cli", "--home", str(home.path), "--db", url, "migrate"],
        capture_output=True,
        text=True,
    )
    if migrate.returncode:
        raise SystemExit(migrate.stderr)
    tokens = populate(home, url, args.documents)
    server = subprocess.Popen(
        [
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
            str(args.workers),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_ready(server, port, home)
        latencies, statuses, elapsed = uvloop.run(
            load(port, home, tokens, args.clients, args.rate, args.seconds)
        )
        n = len(latencies)
        print(
            f"{db:10s} workers={args.workers} paced {args.rate:g}/s from {args.clients} "
            f"addresses: {n / elapsed:6.1f} req/s; p50 {pct(latencies, 0.5):.1f} ms "
            f"p90 {pct(latencies, 0.9):.1f} ms p99 {pct(latencies, 0.99):.1f} ms "
            f"max {max(latencies) * 1000:.1f} ms; statuses {dict(sorted(statuses.items()))}",
            flush=True,
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--documents", type=int, default=5000)
    args = parser.parse_args()
    print(header())
    paper()
    dbs = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    pg = None
    if "postgresql" in dbs:
        from sim.postgres import PgCluster

        pg = PgCluster(port=16672, durable=True)  # 16660-1: the rig's vpcd
        pg.start()
    try:
        for db in dbs:
            measure(db, pg, args)
    finally:
        if pg is not None:
            pg.stop()


if __name__ == "__main__":
    main()
