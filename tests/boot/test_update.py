"""The fleet's updates in the booted appliance: a rollout on the real server, the
kiosk's updater fetching the signed bundle over mTLS, RAUC writing the other root slot,
systemd-boot's boot counting, the health gate, a rollback, and power cuts (QEMU killed)
at random moments of an update.

``make update-test`` runs this (the rig's image and three releases built first:
scripts/build_release.py); the other boot targets skip it.  The guest's disk honours
flushes (``ADM_GUEST_CACHE=writeback``), so a power cut loses what a real disk loses.
Figures go to the terminal and to dist/update-figures.json (docs/benchmarks.md).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sim.appliance import KIOSK_ID
from sim.guest import GuestError, wait_until
from tests.boot.conftest import ROOT, Booted

pytestmark = pytest.mark.skipif(os.environ.get("ADM_UPDATE") != "1", reason="make update-test")

RELEASES = Path(os.environ.get("ADM_RELEASES", ROOT / "dist" / "releases"))
GOOD, NEXT, BAD = "0.1.0+u1", "0.1.0+u2", "0.1.0+bad"
CUTS = int(os.environ.get("ADM_UPDATE_CUTS", "10"))
FIGURES = Path(os.environ.get("ADM_UPDATE_FIGURES", ROOT / "dist" / "update-figures.json"))


def figure(b: Booted, name: str, value: float) -> None:
    b.figures[name] = round(value, 1)
    print(f"\nFIGURE {name} = {value:.1f}")
    FIGURES.write_text(json.dumps(b.figures, indent=2) + "\n")


def sh(b: Booted, script: str) -> str | None:
    """The command's output, or None while the guest cannot answer (rebooting)."""
    try:
        return b.guest.agent.sh(script, timeout=30).out
    except (GuestError, OSError, ValueError):
        return None


def report(b: Booted) -> dict[str, Any]:
    out = sh(b, "cat /var/lib/adm-update/report.json 2>/dev/null")
    try:
        return dict(json.loads(out)) if out else {}
    except ValueError:
        return {}


def running(b: Booted) -> tuple[str, str] | None:
    """(image version, booted slot) of the running system."""
    out = sh(b, ". /etc/os-release; echo $IMAGE_VERSION; cat /proc/cmdline")
    if not out or "\n" not in out:
        return None
    version, cmdline = out.split("\n", 1)
    slot = next((w[10:] for w in cmdline.split() if w.startswith("rauc.slot=")), "")
    return version.strip(), slot


def serving(b: Booted, versions: tuple[str, ...]) -> tuple[str, str] | None:
    """(version, slot) once the kiosk is READY and idle on one of ``versions``."""
    now = running(b)
    if now is None or now[0] not in versions:
        return None
    try:
        return now if b.idle() else None
    except (GuestError, OSError, ValueError):
        return None


def ready(b: Booted, versions: tuple[str, ...]) -> tuple[str, str] | None:
    """(version, slot) once the kiosk has said READY (systemd's active: started, its
    first screen painted) on one of ``versions``, serving or standing idle for the
    updater."""
    now = running(b)
    if now is None or now[0] not in versions:
        return None
    try:
        return now if b.status().get("ActiveState") == "active" else None
    except (GuestError, OSError, ValueError):
        return None


def boot_entries(b: Booted) -> list[str]:
    out = sh(b, "ls /boot/efi/loader/entries") or ""
    return sorted(out.split())


def publish(b: Booted, version: str) -> None:
    bundle = RELEASES / f"adm-kiosk-{version}.raucb"
    assert bundle.is_file(), f"{bundle} is missing: make update-test builds it"
    done = b.app.server_cli("release", "publish", str(bundle), "--version", version)
    assert done.returncode == 0 or "already published" in done.stdout + done.stderr, done


def roll_out(b: Booted, version: str, max_failures: int) -> int:
    from sim.fleet import start_rollout

    publish(b, version)
    return start_rollout(
        b.app.db_url, version, canary_percent=0, max_failures=max_failures, canary=(KIOSK_ID,)
    )


def server_kiosk(b: Booted) -> dict[str, Any]:
    from server.db import Kiosk, make_engine, session_factory

    engine = make_engine(b.app.db_url, migrate=False)
    try:
        with session_factory(engine)() as db:
            k = db.get(Kiosk, KIOSK_ID)
            assert k is not None
            return {"version": k.version, "state": k.update_state, "why": k.update_why}
    finally:
        engine.dispose()


def rollout_paused(b: Booted, rid: int) -> bool:
    from server.db import Rollout, make_engine, session_factory

    engine = make_engine(b.app.db_url, migrate=False)
    try:
        with session_factory(engine)() as db:
            r = db.get(Rollout, rid)
            return bool(r is not None and r.state == "paused")
    finally:
        engine.dispose()


def state_is(b: Booted, target: str, *states: str) -> bool:
    r = report(b)
    return r.get("target") == target and r.get("state") in states


def drained(b: Booted) -> bool:
    return sh(b, "test -e /run/adm-kiosk/update/drained && echo yes") == "yes\n"


def boot_id(b: Booted) -> str | None:
    return sh(b, "cat /proc/sys/kernel/random/boot_id")


@pytest.fixture(autouse=True)
def diagnosed(booted: Booted, request: pytest.FixtureRequest) -> Iterator[None]:
    """When a test fails, what the updater and RAUC said (this boot and the last), and
    the boot entries: a guest's journal is gone with the guest."""
    yield
    outcome = getattr(request.node, "outcome_call", None)
    if outcome is not None and outcome.failed:
        for boot in ("-b -1", "-b"):
            print(f"\n--- updater and rauc, journalctl {boot} ---")
            print(sh(booted, f"journalctl --no-pager -o short-monotonic {boot} "
                             "-u adm-kiosk-update -u rauc | tail -n 60"))  # fmt: skip
        print("--- entries", boot_entries(booted), "report", report(booted), running(booted))


@pytest.fixture(scope="module")
def first(booted: Booted) -> tuple[str, str]:
    now = running(booted)
    assert now is not None and now[1] == "a", now
    return now


@pytest.mark.timeout(3600)
def test_an_update_is_installed_when_idle_and_blessed_by_the_health_gate(
    booted: Booted, first: tuple[str, str]
) -> None:
    b = booted
    assert boot_entries(b) == ["adm-1-a.conf"]
    before = boot_id(b)
    roll_out(b, GOOD, max_failures=1)
    started = time.monotonic()
    wait_until(lambda: state_is(b, GOOD, "downloading", "installing"), 180, "the download")
    t_fetch = time.monotonic()
    wait_until(lambda: drained(b) or state_is(b, GOOD, "installing"), 600, "the kiosk idle")
    t_drained = time.monotonic()
    wait_until(lambda: state_is(b, GOOD, "installing"), 120, "the install")
    t_install = time.monotonic()
    wait_until(lambda: (i := boot_id(b)) is not None and i != before, 900, "the reboot")
    t_reboot = time.monotonic()
    now = wait_until(lambda: serving(b, (GOOD,)), 600, f"{GOOD} serving")
    t_ready = time.monotonic()
    assert now == (GOOD, "b"), now
    wait_until(lambda: state_is(b, GOOD, "ok"), 300, "the health gate's verdict")
    t_ok = time.monotonic()
    # Blessed: the counter is gone from the new entry; slot a's entry stays as it was.
    assert boot_entries(b) == ["adm-1-a.conf", "adm-2-b.conf"], boot_entries(b)
    status = sh(b, "rauc status --output-format=json") or "{}"
    assert json.loads(status).get("booted") == "b", status
    wait_until(
        lambda: (k := server_kiosk(b))["version"] == GOOD and k["state"] == "ok",
        180,
        "the server to see the new version",
    )
    # The durable store came through the upgrade (it is on the data partition).
    audit = sh(b, "/opt/adm-kiosk/venv/bin/adm-kiosk audit verify 2>&1; echo rc=$?") or ""
    assert audit.rstrip().endswith("rc=0"), audit
    figure(b, "heartbeat_to_download_s", t_fetch - started)
    figure(b, "download_and_drain_s", t_install - t_fetch)
    figure(b, "install_s", t_reboot - t_install)
    figure(b, "reboot_to_ready_s", t_ready - t_reboot)
    figure(b, "upgrade_install_to_ready_s", t_ready - t_install)
    figure(b, "upgrade_out_of_service_s", t_ready - t_drained)
    figure(b, "health_gate_verdict_after_ready_s", t_ok - t_ready)


@pytest.mark.timeout(3600)
def test_a_release_that_never_serves_is_rolled_back(booted: Booted, first: tuple[str, str]) -> None:
    b = booted
    if running(b) != (GOOD, "b"):
        pytest.skip("needs the first update in place")
    rid = roll_out(b, BAD, max_failures=1)
    wait_until(lambda: state_is(b, BAD, "installing"), 900, "the broken release's install")
    t_install = time.monotonic()
    wait_until(lambda: (r := running(b)) is not None and r[0] == BAD, 900, "the broken boot")
    t_bad = time.monotonic()
    assert running(b) == (BAD, "a")
    broken = boot_id(b)
    wait_until(lambda: (i := boot_id(b)) is not None and i != broken, 900, "the gate's reboot")
    t_gave_up = time.monotonic()
    now = wait_until(lambda: serving(b, (GOOD,)), 900, f"{GOOD} serving again")
    t_back = time.monotonic()
    assert now == (GOOD, "b"), now
    r = wait_until(
        lambda: (x := report(b)) and x.get("state") == "rolled_back" and x, 120, "the report"
    )
    assert r["target"] == BAD and "health gate: not READY" in r["why"], r
    entries = boot_entries(b)
    assert "adm-2-b.conf" in entries and any(e.startswith("adm-3-a+0-") for e in entries), entries
    wait_until(lambda: server_kiosk(b)["state"] == "rolled_back", 180, "the server's record")
    assert "health gate" in str(server_kiosk(b)["why"])
    wait_until(lambda: rollout_paused(b, rid), 60, "the rollout paused")
    figure(b, "rollback_broken_boot_to_gate_reboot_s", t_gave_up - t_bad)
    figure(b, "rollback_gate_reboot_to_previous_ready_s", t_back - t_gave_up)
    figure(b, "rollback_broken_boot_to_previous_ready_s", t_back - t_bad)
    figure(b, "rollback_install_to_previous_ready_s", t_back - t_install)
    figure(b, "rollback_gate_s", float(b.app.gate_seconds))


@pytest.mark.timeout(3 * 3600)
def test_power_cuts_at_random_moments_of_an_update(booted: Booted, first: tuple[str, str]) -> None:
    """QEMU killed at a uniformly random moment between the start of the install and
    the new version's READY; after every boot a version reaches READY, from the slot
    RAUC says booted; then the update goes on (an interrupted install is done again;
    once done, the next one begins), and the next cut falls into it."""
    b = booted
    rng = random.Random(int(os.environ.get("ADM_UPDATE_SEED", "2030")))
    # The upgrade's length, install to READY: measured by the first test of the run, or
    # given (ADM_UPDATE_WINDOW) when this test runs alone.
    window = float(
        b.figures.get("upgrade_install_to_ready_s", os.environ.get("ADM_UPDATE_WINDOW", 275))
    )
    versions = tuple({first[0], GOOD, NEXT})  # a cut may bring back the image's own
    outcomes: list[dict[str, Any]] = []
    now = wait_until(lambda: serving(b, versions), 900, "a version serving")
    target = NEXT if now[0] == GOOD else GOOD
    roll_out(b, target, max_failures=50)
    for n in range(CUTS):
        wait_until(
            lambda t=target: state_is(b, t, "installing", "booted"),  # type: ignore[misc]
            900,
            f"cut {n + 1}: the update to {target} under way",
        )
        delay = rng.uniform(0, window)
        began = time.monotonic()
        # The random moment of the cut: what it waits for is the dice, not the guest.
        time.sleep(delay)
        phase = report(b).get("state", "?")
        b.guest.kill()
        b.guest.start()
        b.guest.wait_agent(600)
        up = wait_until(lambda: ready(b, versions), 900, f"cut {n + 1}: a version READY")
        ready_s = time.monotonic() - began - delay
        entries = boot_entries(b)
        rauc = sh(b, "rauc status --output-format=json")
        assert rauc, "rauc status answers after the cut"
        assert json.loads(rauc).get("booted") == up[1]
        outcomes.append(
            {"cut": n + 1, "after_s": round(delay, 1), "phase": phase, "serving": up,
             "ready_s": round(ready_s, 1), "entries": entries}
        )  # fmt: skip
        print(f"\nCUT {outcomes[-1]}")
        last = report(b)
        assert last.get("state") not in ("failed", "rolled_back"), last
        if up[0] == target:
            target = NEXT if target == GOOD else GOOD
            roll_out(b, target, max_failures=50)
    FIGURES.with_name("update-cuts.json").write_text(json.dumps(outcomes, indent=2) + "\n")
    figure(b, "cuts", float(len(outcomes)))
    figure(b, "cut_to_ready_median_s", sorted(o["ready_s"] for o in outcomes)[len(outcomes) // 2])
    figure(b, "cut_to_ready_max_s", max(o["ready_s"] for o in outcomes))
    # The last update completes once the cuts stop.
    wait_until(lambda: serving(b, (target,)), 1200, f"{target} serving after the last cut")
