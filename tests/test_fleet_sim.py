"""The fleet simulator against the real server: a good release reaches every kiosk
through its canary; a broken one stops with the canary and leaves no kiosk on it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from server import rollout
from server.db import AuditEntry, Rollout, make_engine, session_factory
from sim.embedded import EmbeddedServer
from sim.fleet import FROM_VERSION, Fleet, Times, prepare, publish, start_rollout

FAST = Times(interval=0.3, install=0.1, reboot=0.1, gate=0.1, gate_limit=0.2)
COUNT = 16


@pytest.fixture
def fleet_server(server: EmbeddedServer) -> Iterator[tuple[EmbeddedServer, list[str]]]:
    ids = prepare(server.home, server.database_url, COUNT)
    was = server.settings.canary_gate_seconds
    server.settings.canary_gate_seconds = 0.0
    yield server, ids
    server.settings.canary_gate_seconds = was


def start(srv: EmbeddedServer, version: str, canary_percent: int) -> int:
    return start_rollout(
        srv.database_url,
        version,
        canary_percent=canary_percent,
        max_failures=1,
        canary=("fleet-0000",),
        actor="console:test",
    )


def rollout_row(srv: EmbeddedServer, rid: int) -> Rollout:
    engine = make_engine(srv.database_url)
    try:
        with session_factory(engine)() as db:
            row = db.get(Rollout, rid)
            assert row is not None
            db.expunge(row)
            return row
    finally:
        engine.dispose()


def test_a_good_release_reaches_the_whole_fleet_after_its_canary(
    fleet_server: tuple[EmbeddedServer, list[str]],
) -> None:
    srv, ids = fleet_server
    publish(srv.home, srv.database_url, "2.0.0", size=4096)
    rid = start(srv, "2.0.0", canary_percent=10)
    canaries = {k for k in ids if rollout.is_canary(rollout_row(srv, rid), k)}
    fleet = Fleet(srv.url, srv.home, ids, FAST)
    asyncio.run(fleet.run(lambda f: f.versions() == {"2.0.0": COUNT}, seconds=60))
    assert fleet.load.errors == {}
    assert all(k.state == "ok" for k in fleet.kiosks.values())
    # Every kiosk outside the canary was told only after the first canary was through.
    first_done = min(fleet.kiosks[k].done["2.0.0"] for k in canaries)
    rest = [k for k in ids if k not in canaries]
    assert rest and all(fleet.kiosks[k].told["2.0.0"] >= first_done for k in rest)


def test_a_broken_release_stops_with_its_canary_and_no_kiosk_is_left_on_it(
    fleet_server: tuple[EmbeddedServer, list[str]],
) -> None:
    srv, ids = fleet_server
    publish(srv.home, srv.database_url, "2.0.1", size=4096)
    rid = start(srv, "2.0.1", canary_percent=20)
    canaries = {k for k in ids if rollout.is_canary(rollout_row(srv, rid), k)}
    fleet = Fleet(srv.url, srv.home, ids, FAST, broken=("2.0.1",))

    def settled(f: Fleet) -> bool:
        # Paused, and every kiosk that tried has rolled back and said so.
        tried = [k for k in f.kiosks.values() if "2.0.1" in k.told]
        return (
            bool(tried)
            and all(k.state == "rolled_back" for k in tried)
            and (rollout_row(srv, rid).state == "paused")
        )

    asyncio.run(fleet.run(settled, seconds=60))
    # Two more heartbeats from every kiosk: nobody new is told once it is paused.
    then = {k.id: k.beats for k in fleet.kiosks.values()}
    asyncio.run(fleet.run(lambda f: all(k.beats >= then[k.id] + 2 for k in f.kiosks.values()), 60))
    assert fleet.versions() == {FROM_VERSION: COUNT}
    tried = {k.id for k in fleet.kiosks.values() if "2.0.1" in k.told}
    assert tried <= canaries
    engine = make_engine(srv.database_url)
    try:
        with session_factory(engine)() as db:
            actions = list(db.scalars(select(AuditEntry.action)))
    finally:
        engine.dispose()
    assert actions.count("update_rolled_back") == len(tried)
    assert actions.count("rollout_paused") == 1
