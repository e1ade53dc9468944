"""A fleet through two rollouts: a good release with a 5 % canary to every kiosk, then a
broken one that must stop with its canary and leave no kiosk on it.

    python bench/fleet_rollout.py [--kiosks 500] [--interval 5] [--db URL]

The server runs in a process of its own (SQLite unless ``--db``), the kiosks
(sim.fleet) on one event loop beside it, each with its own certificate and connection.
Heartbeats come every ``interval`` seconds: 500 kiosks at 5 s are 100 heartbeats a
second, twelve times what the same fleet sends at the kiosk's 60 s.  Times are given in
seconds and in heartbeat intervals (what they are in the field, where the interval is
60 s and the install takes what the booted guest measures).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from machine import header  # bench/ is the script's own folder

from server import rollout
from server.db import Rollout, make_engine, session_factory
from server.pki import ServerHome
from sim.fleet import FROM_VERSION, Fleet, Times, prepare, publish, start_rollout, summary
from sim.server_process import ServerProcess

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def state_of(database: str, rid: int) -> str:
    engine = make_engine(database)
    try:
        with session_factory(engine)() as db:
            row = db.get(Rollout, rid)
            return row.state if row is not None else "?"
    finally:
        engine.dispose()


def canaries_of(rid: int, ids: list[str], percent: int) -> set[str]:
    """The rollout's canary as the server chooses it (server.rollout): the kiosks placed
    under the percentage, and the first by place."""
    chosen = {k for k in ids if rollout.bucket(rid, k) < percent}
    return chosen | {min(ids, key=lambda k: (rollout.bucket(rid, k), k))} if percent else chosen


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kiosks", type=int, default=500)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--canary", type=int, default=5, help="canary percent")
    parser.add_argument("--db", help="the server's database URL (default SQLite)")
    args = parser.parse_args()
    print(header())
    work = Path(tempfile.mkdtemp(prefix="adm-fleet-bench-"))
    database = args.db or f"sqlite:///{work / 'server.db'}"
    server = ServerProcess(database, work / "home", "bench-console")
    server.start()
    assert server.pid is not None
    home = ServerHome(work / "home")
    made = time.monotonic()
    ids = prepare(home, database, args.kiosks)
    print(f"{len(ids)} kiosks with certificates in {time.monotonic() - made:.1f} s")
    publish(home, database, "2.0.0")
    publish(home, database, "2.0.1")
    times = Times(interval=args.interval)
    fleet = Fleet(server.url, home, ids, times, broken=("2.0.1",))
    result: dict[str, dict[str, object]] = {}
    try:
        # Warm: every kiosk connected and heard once before the rollout begins.
        asyncio.run(fleet.run(lambda f: all(k.beats for k in f.kiosks.values()), 120))

        # 1. the good release
        rid = start_rollout(database, "2.0.0", canary_percent=args.canary, max_failures=3)
        canary_ids = canaries_of(rid, ids, args.canary)
        canaries = len(canary_ids)
        cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
        fleet.load.latencies.clear()
        asyncio.run(fleet.run(lambda f: f.versions() == {"2.0.0": len(ids)}, 1800))
        took, cpu = time.monotonic() - t0, cpu_seconds(server.pid) - cpu0
        beats = fleet.load.latencies.get("heartbeat", [])
        done = sorted(k.done["2.0.0"] - t0 for k in fleet.kiosks.values())
        canary_done = max(
            (k.done["2.0.0"] - t0 for k in fleet.kiosks.values() if k.id in canary_ids),
            default=0.0,  # a canary of nobody (a small fleet): the rest go at once
        )
        result["good"] = {
            "canaries": canaries,
            "canary_done_s": round(canary_done, 1),
            "fleet_done_s": round(took, 1),
            "fleet_done_intervals": round(took / args.interval, 1),
            "half_done_s": round(done[len(done) // 2], 1),
            "server_cpu_percent_of_one_core": round(100 * cpu / took, 1),
            "heartbeats_per_s": round(len(beats) / took, 1),
            "heartbeat_ms_p50": round(1000 * statistics.median(beats), 1),
            "heartbeat_ms_p99": round(1000 * pct(beats, 0.99), 1),
            "bundle_ms_p50": round(1000 * statistics.median(fleet.load.latencies["bundle"]), 1),
            "errors": dict(fleet.load.errors),
            "reconnects": fleet.load.reconnects,
        }
        print(json.dumps(result["good"]))

        # 2. the broken release: stopped with its canary
        rid = start_rollout(database, "2.0.1", canary_percent=args.canary, max_failures=3)
        canary_ids = canaries_of(rid, ids, args.canary)
        t0 = time.monotonic()

        def stopped(f: Fleet) -> bool:
            tried = [k for k in f.kiosks.values() if "2.0.1" in k.told]
            return (
                bool(tried)
                and all(k.state in ("rolled_back", "failed") for k in tried)
                and state_of(database, rid) == "paused"
            )

        asyncio.run(fleet.run(stopped, 600))
        paused_after = time.monotonic() - t0
        # Three more heartbeats from every kiosk: nobody new is told.
        then = {k.id: k.beats for k in fleet.kiosks.values()}
        asyncio.run(
            fleet.run(lambda f: all(k.beats >= then[k.id] + 3 for k in f.kiosks.values()), 120)
        )
        tried = {k.id for k in fleet.kiosks.values() if "2.0.1" in k.told}
        result["broken"] = {
            "canaries": len(canary_ids),
            "tried": len(tried),
            "tried_outside_canary": len(tried - canary_ids),
            "paused_after_s": round(paused_after, 1),
            "left_on_broken": fleet.versions().get("2.0.1", 0),
            "versions_after": fleet.versions(),
        }
        print(json.dumps(result["broken"]))
        print(json.dumps(summary(fleet)))
    finally:
        server.stop()
    broken = result.get("broken", {})
    ok = (
        broken.get("left_on_broken") == 0
        and broken.get("tried_outside_canary") == 0
        and FROM_VERSION not in fleet.versions()
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
