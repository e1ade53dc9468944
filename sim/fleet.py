"""A fleet of simulated kiosks heartbeating and updating against a real server.

Each kiosk has its own client certificate and HTTPS connection and does what a kiosk's
updater does with the heartbeat's answer (server.rollout): told a version it does not
run, it waits for its window, fetches the bundle over mTLS and checks its digest,
installs, reboots (silent meanwhile), and passes its health gate, or fails it and
rolls back, reporting why.  What happens inside the kiosk is simulated with times; what
the server sees (the heartbeats, the downloads, the reports) is real, so a rollout's
course and the server's load are measured, not assumed.

    adm-sim fleet N [--interval S] [--broken VERSION ...] [--seconds S]

A release listed in ``broken`` fails every kiosk's health gate (a version that cannot
reach READY): the rollout must stop with the canary and leave no kiosk on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select

from server import rollout
from server.db import Kiosk, make_engine, session_factory
from server.pki import ServerHome
from sim.embedded import mint_kiosk

FROM_VERSION = "1.0.0"


@dataclass
class Times:
    """How long each step takes, in seconds (compressed: the figures say it in
    heartbeat intervals as well)."""

    interval: float = 5.0  # between heartbeats (a kiosk: 60 s)
    install: float = 3.0
    reboot: float = 2.0
    gate: float = 2.0  # to READY and through the self-checks
    gate_limit: float = 4.0  # a version that never gets there is rolled back after it


@dataclass
class KioskState:
    id: str
    version: str = FROM_VERSION
    target: str | None = None
    state: str = "idle"
    why: str = ""
    slot: str = "a"
    failed: set[str] = field(default_factory=set)
    # moments (monotonic) of what happened, for the figures
    told: dict[str, float] = field(default_factory=dict)
    done: dict[str, float] = field(default_factory=dict)
    out_of_service: float = 0.0  # seconds spent installing, rebooting, gating
    beats: int = 0  # heartbeats answered

    def report(self) -> dict[str, Any]:
        return {"target": self.target, "state": self.state, "why": self.why, "slot": self.slot}


@dataclass
class Load:
    """What the server answered: latencies per request kind, and its errors."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    reconnects: int = 0  # idle keep-alive connections the server had closed, retried

    def add(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


def prepare(
    home: ServerHome, database_url: str, count: int, offices: tuple[str, ...] = ("",)
) -> list[str]:
    """``count`` kiosks with certificates, registered on the server's database (in bulk:
    a fleet of 500 is registered in one statement), spread over ``offices``."""
    ids = [f"fleet-{n:04d}" for n in range(count)]
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as db:
            known = set(db.scalars(select(Kiosk.id).where(Kiosk.id.in_(ids))))
        rows = []
        folder = home.path / "kiosks"
        for n, kiosk_id in enumerate(ids):
            if kiosk_id in known:
                continue
            issued = mint_kiosk(home, kiosk_id, folder)
            rows.append(
                {
                    "id": kiosk_id,
                    "cert_serial": issued.serial,
                    "status": "active",
                    "office": offices[n % len(offices)],
                }
            )
        if rows:
            with engine.begin() as conn:
                conn.execute(insert(Kiosk), rows)
    finally:
        engine.dispose()
    return ids


def publish(home: ServerHome, database_url: str, version: str, size: int = 256 * 1024) -> str:
    """A release of ``size`` bytes in the server's release folder, recorded (the fleet's
    stand-in for a signed bundle: its digest is checked, its content is not run)."""
    folder = home.releases_dir
    folder.mkdir(parents=True, exist_ok=True)
    data = hashlib.sha256(version.encode()).digest() * (size // 32)
    (folder / f"{version}.bundle").write_bytes(data)
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as db:
            digest = hashlib.sha256(data).hexdigest()
            rollout.publish(db, version, digest, len(data), None, "fleet-sim")
            db.commit()
    finally:
        engine.dispose()
    return version


def start_rollout(
    database_url: str,
    version: str,
    *,
    canary_percent: int,
    max_failures: int,
    canary: tuple[str, ...] = (),
    actor: str = "fleet-sim",
) -> int:
    """A fleet-wide rollout of ``version`` to 100 % after its canary, at any time of day
    (as a supervisor makes one on the console); its id."""
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as db:
            made = rollout.create(
                db,
                version=version,
                office="",
                canary=list(canary),
                canary_percent=canary_percent,
                percent=100,
                window=(None, None),
                max_failures=max_failures,
                actor=actor,
            )
            db.commit()
            return made.id
    finally:
        engine.dispose()


class Fleet:
    """The simulated kiosks, run on one event loop until ``stop`` or ``until`` holds."""

    def __init__(
        self,
        url: str,
        home: ServerHome,
        ids: list[str],
        times: Times | None = None,
        broken: tuple[str, ...] = (),
        seed: int = 1,
    ) -> None:
        self.url, self.home, self.times = url, home, times or Times()
        self.broken = set(broken)
        self.kiosks = {k: KioskState(k) for k in ids}
        self.load = Load()
        self.random = random.Random(seed)
        self.started = 0.0
        self._stop = asyncio.Event()

    def _tls(self, kiosk_id: str) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.home.ca_cert))
        folder = self.home.path / "kiosks"
        ctx.load_cert_chain(str(folder / f"{kiosk_id}.pem"), str(folder / f"{kiosk_id}.key"))
        return ctx

    def versions(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for k in self.kiosks.values():
            counts[k.version] = counts.get(k.version, 0) + 1
        return counts

    async def run(
        self, until: Callable[[Fleet], bool] | None = None, seconds: float = 600.0
    ) -> None:
        self.started = time.monotonic()
        self._stop = asyncio.Event()  # of this run's event loop
        tasks = [asyncio.create_task(self._kiosk(k)) for k in self.kiosks.values()]
        deadline = self.started + seconds
        try:
            while time.monotonic() < deadline:
                if until is not None and until(self):
                    break
                await asyncio.sleep(0.1)
            else:
                raise TimeoutError(f"the fleet did not get there in {seconds:.0f} s")
        finally:
            self._stop.set()
            ended = await asyncio.gather(*tasks, return_exceptions=True)
        failed = [e for e in ended if isinstance(e, Exception)]
        if failed:  # a simulated kiosk's own fault, not the server's: said, not hidden
            raise failed[0]

    async def _kiosk(self, k: KioskState) -> None:
        t = self.times
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(
            base_url=self.url, verify=self._tls(k.id), limits=limits, timeout=30.0
        ) as http:
            # Kiosks do not all start on the same second.
            await self._pause(self.random.uniform(0, t.interval))
            while not self._stop.is_set():
                target = await self._beat(http, k)
                if target is not None and await self._update(http, k, target):
                    continue  # report the outcome at once, as a rebooted kiosk does
                await self._pause(t.interval * self.random.uniform(0.9, 1.1))

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _beat(self, http: httpx.AsyncClient, k: KioskState) -> dict[str, Any] | None:
        body = {
            "state": "IDLE",
            "devices": {},
            "supplies": {},
            "version": k.version,
            "update": k.report(),
        }
        begun = time.monotonic()
        try:
            try:
                answer = await http.post("/api/v1/heartbeat", json=body)
            except httpx.RemoteProtocolError:
                # The server closed the idle keep-alive connection as it was reused (its
                # keep-alive timeout meets the interval): tried again at once on a new
                # one, as the kiosk's client does.
                self.load.reconnects += 1
                answer = await http.post("/api/v1/heartbeat", json=body)
        except httpx.HTTPError as exc:
            self.load.error(type(exc).__name__)
            return None
        self.load.add("heartbeat", time.monotonic() - begun)
        if answer.status_code != 200:
            self.load.error(f"heartbeat {answer.status_code}")
            return None
        k.beats += 1
        target = answer.json().get("target")
        return target if isinstance(target, dict) else None

    async def _update(self, http: httpx.AsyncClient, k: KioskState, target: dict[str, Any]) -> bool:
        """Whether an update ran (done or rolled back) on this answer."""
        version = str(target["version"])
        if version == k.version or version in k.failed:
            return False
        if not _in_window(target.get("window_start"), target.get("window_end")):
            k.target, k.state = version, "waiting"
            return False
        t, now = self.times, time.monotonic()
        k.told.setdefault(version, now)
        k.target, k.state, k.why = version, "downloading", ""
        begun = time.monotonic()
        try:
            got = await http.get(str(target["url"]))
        except httpx.HTTPError as exc:
            self.load.error(type(exc).__name__)
            return False
        self.load.add("bundle", time.monotonic() - begun)
        if got.status_code != 200 or hashlib.sha256(got.content).hexdigest() != target["sha256"]:
            k.state, k.why = "failed", f"bundle: HTTP {got.status_code} or digest mismatch"
            k.failed.add(version)
            return True
        out = time.monotonic()
        k.state = "installing"
        await self._pause(t.install)
        previous, k.slot = k.version, "b" if k.slot == "a" else "a"
        await self._pause(t.reboot)  # rebooting: no heartbeat
        k.version, k.state = version, "booted"
        if version in self.broken:
            await self._pause(t.gate_limit)
            # The boot loader's counter runs out; the other slot boots again.
            await self._pause(t.reboot)
            k.version, k.slot = previous, "b" if k.slot == "a" else "a"
            k.state, k.why = "rolled_back", f"health gate: not READY in {t.gate_limit:.0f} s"
            k.failed.add(version)
        else:
            await self._pause(t.gate)
            k.state = "ok"
        k.out_of_service += time.monotonic() - out
        k.done[version] = time.monotonic()
        return True


def _in_window(start: str | None, end: str | None) -> bool:
    """Whether local time is inside the maintenance window (one that passes midnight,
    22:00-05:00, included)."""
    if not start or not end:
        return True
    now = dt.datetime.now().strftime("%H:%M")
    return start <= now < end if start < end else now >= start or now < end


def summary(fleet: Fleet) -> dict[str, Any]:
    """Counts per version and state, and the load the server answered."""
    states: dict[str, int] = {}
    for k in fleet.kiosks.values():
        states[k.state] = states.get(k.state, 0) + 1
    return {
        "versions": fleet.versions(),
        "states": states,
        "requests": {kind: len(v) for kind, v in fleet.load.latencies.items()},
        "errors": fleet.load.errors,
        "reconnects": fleet.load.reconnects,
    }


def main(args: Any) -> int:
    """``adm-sim fleet N``: a server of its own (a process, SQLite unless ``--db``), N
    kiosks, and optionally a rollout of a new release; prints the versions as they move."""
    import json
    import tempfile

    from sim.server_process import ServerProcess

    work = Path(args.home or tempfile.mkdtemp(prefix="adm-fleet-"))
    database = args.db or f"sqlite:///{work / 'server.db'}"
    server = ServerProcess(database, work / "home", "fleet-console")
    server.start()
    try:
        home = ServerHome(work / "home")
        ids = prepare(home, database, args.count)
        for version in [args.rollout, *args.broken]:
            if version:
                publish(home, database, version)
        if args.rollout:
            start_rollout(
                database,
                args.rollout,
                canary_percent=args.canary_percent,
                max_failures=args.max_failures,
            )
        fleet = Fleet(
            server.url, home, ids, Times(interval=args.interval), broken=tuple(args.broken)
        )
        last: list[str] = []

        def show(f: Fleet) -> bool:
            line = json.dumps(f.versions(), sort_keys=True)
            if not last or line != last[-1]:
                last.append(line)
                print(f"{time.monotonic() - f.started:7.1f} s  {line}", flush=True)
            return False

        with contextlib.suppress(TimeoutError):  # ran for the time asked
            asyncio.run(fleet.run(show, seconds=args.seconds))
        print(json.dumps(summary(fleet), sort_keys=True))
    finally:
        server.stop()
    return 0
