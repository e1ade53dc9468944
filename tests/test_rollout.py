"""The fleet's rollouts at the heartbeat: the canary first, the rest once it passed, a
rollback that pauses the rollout, the bundle served only to enrolled kiosks.  Over HTTPS
with each kiosk's own certificate, against the server's real database."""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from kiosk.server_client import ServerClient, Tls
from server import rollout
from server.db import AuditEntry, Kiosk, Rollout
from sim.embedded import EmbeddedServer
from tests.conftest import kiosk_client
from tests.console_helpers import database

BUNDLE = b"adm-kiosk 2.0.0 bundle\n" * 100


@pytest.fixture
def fleet(server: EmbeddedServer) -> Iterator[EmbeddedServer]:
    """The test server with release 2.0.0 published (its bundle in the release folder),
    every kiosk's canary count taken afresh at each heartbeat."""
    folder = server.home.releases_dir
    folder.mkdir(exist_ok=True)
    (folder / "2.0.0.bundle").write_bytes(BUNDLE)
    with database(server) as db:
        digest = hashlib.sha256(BUNDLE).hexdigest()
        rollout.publish(db, "2.0.0", digest, len(BUNDLE), None, "console:test")
        db.commit()
    was = server.settings.canary_gate_seconds
    server.settings.canary_gate_seconds = 0.0
    yield server
    server.settings.canary_gate_seconds = was


def beat(client: ServerClient, version: str = "1.0.0", **update: Any) -> dict[str, Any]:
    more: dict[str, Any] = {"version": version}
    if update:
        more["update"] = update
    return client.heartbeat("IDLE", {}, {}, None, **more)


def start(srv: EmbeddedServer, **kw: Any) -> int:
    args: dict[str, Any] = {
        "version": "2.0.0",
        "office": "",
        "canary": [],
        "canary_percent": 0,
        "percent": 100,
        "window": (None, None),
        "max_failures": 1,
        "actor": "console:test",
        **kw,
    }
    with database(srv) as db:
        made = rollout.create(db, **args)
        db.commit()
        return made.id


def test_without_a_rollout_the_kiosk_is_told_nothing_and_its_version_is_kept(
    fleet: EmbeddedServer,
) -> None:
    answer = beat(kiosk_client(fleet, "kiosk-a"), "1.0.0")
    assert answer.get("target") is None
    with database(fleet) as db:
        assert db.get(Kiosk, "kiosk-a").version == "1.0.0"  # type: ignore[union-attr]


def test_the_canary_goes_first_and_the_rest_follow_only_once_it_runs_healthy(
    fleet: EmbeddedServer,
) -> None:
    canary, other = kiosk_client(fleet, "kiosk-canary"), kiosk_client(fleet, "kiosk-other")
    beat(other)
    start(fleet, canary=["kiosk-canary"])
    told = beat(canary)["target"]
    assert told["version"] == "2.0.0" and told["sha256"] == hashlib.sha256(BUNDLE).hexdigest()
    assert told["url"] == "/api/v1/releases/2.0.0/bundle" and told["size"] == len(BUNDLE)
    # The canary is on its way: nobody else yet.
    beat(canary, target="2.0.0", state="installing")
    assert beat(other).get("target") is None
    # Booted but not through its health gate: still nobody else.
    beat(canary, "2.0.0", target="2.0.0", state="booted")
    assert beat(other).get("target") is None
    beat(canary, "2.0.0", target="2.0.0", state="ok")
    assert beat(other)["target"]["version"] == "2.0.0"


def test_a_rollback_pauses_the_rollout_and_nobody_new_is_told(fleet: EmbeddedServer) -> None:
    canary, other = kiosk_client(fleet, "kiosk-canary"), kiosk_client(fleet, "kiosk-other")
    beat(other)
    rid = start(fleet, canary=["kiosk-canary"])
    assert beat(canary)["target"]["version"] == "2.0.0"
    why = "health gate: printer not ready in 300 s"
    answer = beat(canary, "1.0.0", target="2.0.0", state="rolled_back", why=why)
    assert answer.get("target") is None  # not again on this kiosk
    assert beat(other).get("target") is None
    with database(fleet) as db:
        paused = db.get(Rollout, rid)
        assert paused is not None and paused.state == "paused"
        assert "1 kiosk(s) rolled 2.0.0 back" in paused.paused_reason
        actions = [(a.actor, a.action) for a in db.scalars(select(AuditEntry))]
        assert ("kiosk-canary", "update_rolled_back") in actions
        assert ("server", "rollout_paused") in actions
        kiosk = db.get(Kiosk, "kiosk-canary")
        assert kiosk is not None and kiosk.update_why == why and kiosk.version == "1.0.0"
    # The same failure told again is not a second failure.
    beat(canary, "1.0.0", target="2.0.0", state="rolled_back", why=why)
    with database(fleet) as db:
        audited = db.scalars(
            select(AuditEntry).where(AuditEntry.action == "update_rolled_back")
        ).all()
        assert len(audited) == 1


def test_a_paused_rollout_does_not_strand_a_kiosk_mid_install(fleet: EmbeddedServer) -> None:
    a, b = kiosk_client(fleet, "kiosk-a"), kiosk_client(fleet, "kiosk-b")
    rid = start(fleet, canary=["kiosk-a", "kiosk-b"])
    beat(a, target="2.0.0", state="installing")
    with database(fleet) as db:
        found = db.get(Rollout, rid)
        assert found is not None
        rollout.change(db, found, "pause", "console:test")
        db.commit()
    assert beat(a, target="2.0.0", state="installing")["target"]["version"] == "2.0.0"
    assert beat(b).get("target") is None
    with database(fleet) as db:
        found = db.get(Rollout, rid)
        assert found is not None
        rollout.change(db, found, "resume", "console:test")
        db.commit()
    assert beat(b)["target"]["version"] == "2.0.0"


def test_an_office_rollout_governs_its_kiosks_and_a_new_one_supersedes_the_last(
    fleet: EmbeddedServer,
) -> None:
    here, there = kiosk_client(fleet, "kiosk-here"), kiosk_client(fleet, "kiosk-there")
    beat(here), beat(there)
    with database(fleet) as db:
        for kiosk_id, office in (("kiosk-here", "Kota Bandung"), ("kiosk-there", "Garut")):
            row = db.get(Kiosk, kiosk_id)
            assert row is not None
            row.office = office
        db.commit()
    first = start(fleet, office="Kota Bandung", canary_percent=100)
    assert beat(here)["target"]["rollout"] == first
    assert beat(there).get("target") is None  # another office
    second = start(fleet, office="Kota Bandung", canary_percent=100)
    assert beat(here)["target"]["rollout"] == second
    with database(fleet) as db:
        old = db.get(Rollout, first)
        assert old is not None and old.state == "superseded"
        with pytest.raises(rollout.RolloutError):
            rollout.change(db, old, "resume", "console:test")


def test_the_percentage_chooses_the_same_kiosks_and_raising_it_only_adds() -> None:
    ids = [f"kiosk-{n:03d}" for n in range(500)]
    at = {p: {k for k in ids if rollout.bucket(7, k) < p} for p in (5, 25, 50, 100)}
    assert at[5] <= at[25] <= at[50] <= at[100] == set(ids)
    assert 10 <= len(at[5]) <= 45 and 200 <= len(at[50]) <= 300
    assert {k for k in ids if rollout.bucket(8, k) < 5} != at[5]  # another rollout


@pytest.mark.parametrize(
    ("start_at", "end_at", "ok"),
    [
        ("22:00", "05:00", True),
        ("", "", True),
        ("24:00", "05:00", False),
        ("22:00", "", False),
        ("05:00", "05:00", False),
        ("5:00", "06:00", False),
    ],
)
def test_a_maintenance_window_is_two_moments_of_the_day(
    start_at: str, end_at: str, ok: bool
) -> None:
    if ok:
        rollout.parse_window(start_at, end_at)
    else:
        with pytest.raises(rollout.RolloutError):
            rollout.parse_window(start_at, end_at)


def test_the_bundle_is_served_to_enrolled_kiosks_only(fleet: EmbeddedServer) -> None:
    cred = fleet.credentials("kiosk-a")
    path = "/api/v1/releases/2.0.0/bundle"
    tls = Tls(ca=fleet.home.ca_cert, cert=cred.cert, key=cred.key).context()
    with httpx.Client(base_url=fleet.url, verify=tls) as http:
        got = http.get(path)
        assert got.status_code == 200 and got.content == BUNDLE
        assert http.get("/api/v1/releases/9.9.9/bundle").status_code == 404
        assert http.get("/api/v1/releases/..%2Fserver.toml/bundle").status_code in (404, 422)
    bare = ssl.create_default_context(cafile=str(fleet.home.ca_cert))
    with httpx.Client(base_url=fleet.url, verify=bare) as anonymous:
        assert anonymous.get(path).status_code in (401, 403)


def test_release_publish_serves_the_bundle_and_refuses_a_second_or_a_bad_version(
    server: EmbeddedServer, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from server.cli import main

    base = ["--db", server.database_url, "--home", str(server.home.path)]
    bundle = tmp_path / "adm-kiosk-3.0.0.raucb"
    bundle.write_bytes(b"signed bundle" * 1000)
    assert main([*base, "release", "publish", str(bundle), "--version", "3.0.0"]) == 0
    assert hashlib.sha256(bundle.read_bytes()).hexdigest() in capsys.readouterr().out
    served = server.home.releases_dir / "3.0.0.bundle"
    assert served.read_bytes() == bundle.read_bytes()
    assert main([*base, "release", "publish", str(bundle), "--version", "3.0.0"]) == 1
    assert "already published" in capsys.readouterr().err
    assert main([*base, "release", "publish", str(bundle), "--version", "../x"]) == 1
    assert "not a valid version" in capsys.readouterr().err
    assert main([*base, "release", "publish", str(tmp_path / "none"), "--version", "3.0.1"]) == 1
    assert main([*base, "release", "list"]) == 0
    assert "3.0.0" in capsys.readouterr().out
    cred = server.credentials("kiosk-a")
    tls = Tls(ca=server.home.ca_cert, cert=cred.cert, key=cred.key).context()
    with httpx.Client(base_url=server.url, verify=tls) as http:
        assert http.get("/api/v1/releases/3.0.0/bundle").content == bundle.read_bytes()


def test_a_small_scope_still_gets_one_canary_and_no_canary_means_all_at_once(
    fleet: EmbeddedServer,
) -> None:
    """1 % of three kiosks is one kiosk (the lowest place), not none: found when the
    fleet benchmark's short run of 20 kiosks waited for a canary that was nobody.  A
    rollout without a canary tells everybody at once."""
    clients = {n: kiosk_client(fleet, f"kiosk-{n}") for n in range(3)}
    for c in clients.values():
        beat(c)
    with database(fleet) as db:  # an office of three
        for n in range(3):
            row = db.get(Kiosk, f"kiosk-{n}")
            assert row is not None
            row.office = "Kecamatan Kecil"
        db.commit()
    start(fleet, office="Kecamatan Kecil", canary_percent=1)  # places 79, 63, 28
    assert [bool(beat(clients[n]).get("target")) for n in range(3)] == [False, False, True]
    beat(clients[2], "2.0.0", target="2.0.0", state="ok")
    assert all(beat(c)["target"]["version"] == "2.0.0" for c in clients.values())
    start(fleet, office="Kecamatan Kecil", canary_percent=0)  # supersedes: no canary
    assert all(beat(c)["target"] for c in clients.values())


def test_a_canary_that_has_all_failed_pauses_below_the_failure_limit(
    fleet: EmbeddedServer,
) -> None:
    """One canary, a limit of three: its rollback can never be followed by a passed
    canary, so the rollout pauses at once instead of waiting for ever."""
    canary, other = kiosk_client(fleet, "kiosk-canary"), kiosk_client(fleet, "kiosk-other")
    beat(other)
    rid = start(fleet, canary=["kiosk-canary"], max_failures=3)
    beat(canary, target="2.0.0", state="rolled_back", why="health gate")
    with database(fleet) as db:
        paused = db.get(Rollout, rid)
        assert paused is not None and paused.state == "paused"
    assert beat(other).get("target") is None
