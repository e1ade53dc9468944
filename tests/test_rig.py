"""The simulated rig and its command line, seen through the real PC/SC and CUPS clients."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from drivers.card.base import ReaderState
from drivers.card.ektp import EF_CAPABILITY, parse_capability, read_file, select_application
from drivers.card.pcsc import PcscReader
from kiosk.card_watch import CardWatcher
from sim.population import DEMO_NIK, citizen
from sim.rig import Rig
from tests.conftest import wait_for

pytestmark = pytest.mark.rig

READER = "Virtual PCD 00 00"


def adm_sim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_status_reports_every_component(rig: Rig) -> None:
    res = adm_sim("rig", "status")
    assert res.returncode == 0, res.stdout + res.stderr
    for name in ("pcscd", "dbus", "printer adm-a4", "printer adm-card", "cupsd"):
        assert any(
            line.startswith(name) and "running" in line for line in res.stdout.splitlines()
        ), res.stdout
    assert "queue adm-a4       present" in res.stdout


def test_up_is_idempotent(rig: Rig) -> None:
    before = rig.status()
    res = adm_sim("rig", "up")
    assert res.returncode == 0, res.stderr
    assert rig.status() == before


def test_env_points_clients_at_the_private_cupsd(rig: Rig) -> None:
    res = adm_sim("rig", "env")
    assert f"export CUPS_SERVER={rig.cups_socket}" in res.stdout
    queues = subprocess.run(
        ["lpstat", "-p"], capture_output=True, text=True, env={**os.environ, **rig.env()}
    ).stdout
    assert "adm-a4" in queues and "adm-card" in queues


def test_card_insert_and_remove_through_pcscd(rig: Rig) -> None:
    reader = PcscReader(READER)
    reader.open()
    try:
        res = adm_sim("card", "insert", DEMO_NIK)
        assert res.returncode == 0, res.stderr
        assert "3201********0001" in res.stdout and DEMO_NIK not in res.stdout
        assert reader.wait_for_change(ReaderState.EMPTY, 5) == ReaderState.PRESENT
        conn = reader.connect()
        select_application(conn)
        capability = parse_capability(read_file(conn, EF_CAPABILITY))
        reader.disconnect()
        assert len(capability.serial) == 8
        assert adm_sim("card", "remove").returncode == 0
        assert reader.wait_for_change(ReaderState.PRESENT, 5) == ReaderState.EMPTY
    finally:
        rig.remove_card()
        reader.close()


def test_card_insert_unknown_nik_fails_clearly(rig: Rig) -> None:
    res = adm_sim("card", "insert", "0000000000000000")
    assert res.returncode == 2
    assert "no demo e-KTP holder" in res.stderr


def test_card_list_shows_demo_citizens() -> None:
    res = adm_sim("card", "list")
    assert DEMO_NIK in res.stdout and citizen(DEMO_NIK)["name"] in res.stdout


class _Recorder:
    """Stands in for the flow: records posted events and wakes the test."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.cond = threading.Condition()

    def post(self, trigger: str, **_kw: object) -> None:
        with self.cond:
            self.events.append(trigger)
            self.cond.notify_all()

    def wait_for(self, trigger: str, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: trigger in self.events, timeout)


def test_watcher_survives_a_pcscd_restart(rig: Rig) -> None:
    """GIVEN a running card watcher WHEN pcscd is killed and started again THEN a card
    inserted afterwards is still seen, without restarting the watcher."""
    rec = _Recorder()
    watcher = CardWatcher(PcscReader(READER), rec.post, poll=0.2)
    watcher.start()
    try:
        rig.restart_pcscd()
        person = citizen(DEMO_NIK)
        rig.insert_card(person["nik"])
        assert rec.wait_for("card_inserted", 15), rec.events
    finally:
        rig.remove_card()
        watcher.stop()


def test_a_status_wait_is_cancelled_at_once(rig: Rig) -> None:
    """GIVEN a watcher's status wait blocked in pcscd for a minute WHEN the kiosk stops
    and cancels it THEN the wait returns at once (SCardCancel), and so does every later
    one: stopping never waits out a poll."""
    rig.remove_card()
    reader = PcscReader(READER)
    reader.open()
    answers: list[ReaderState] = []
    waiting = threading.Thread(
        target=lambda: answers.append(reader.wait_for_change(ReaderState.EMPTY, 60))
    )
    try:
        assert reader.wait_for_change(ReaderState.UNAVAILABLE, 5) == ReaderState.EMPTY
        waiting.start()
        # the wait must be inside pcscd before the cancel, or there is nothing to cancel
        wait_for(lambda: waiting.is_alive(), "the status wait to start")
        reader.cancel()
        waiting.join(10)
        assert not waiting.is_alive() and answers == [ReaderState.EMPTY]
        assert reader.wait_for_change(ReaderState.EMPTY, 60) == ReaderState.EMPTY  # at once
    finally:
        reader.close()
