"""The office's remote actions, from the console page to the kiosk and back: out of
service and back, the idle notice, restart, a diagnostics bundle to download; each
audited with the officer's name, refused while a citizen is served unless a supervisor
forces it, never done twice, expired when the kiosk does not come for it.

The kiosk is its real health monitor and remote actions on simulated printers; the
server, the console (over HTTPS with its login and CSRF) and the database are real."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select, update

from drivers.card.base import ReaderState
from kiosk.diagnostics import Diagnostics
from kiosk.health import HealthMonitor
from kiosk.print_service import PrintService
from kiosk.remote import RecentErrors, RemoteActions
from printing.card_stock import CardStock, MemoryCardLedger
from printing.sim_spooler import SimSpooler
from server.db import AuditEntry, KioskCommandRow, utcnow
from sim.embedded import EmbeddedServer
from tests.conftest import kiosk_client
from tests.console_helpers import Console, add_user, database

KIOSK = "kiosk-remote"
NIK = "3273012345678901"


@dataclass
class Kiosk:
    server: EmbeddedServer
    flow: list[str] = field(default_factory=lambda: ["attract"])
    posted: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    notices: list[str | None] = field(default_factory=list)
    restarts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        client = kiosk_client(self.server, KIOSK)
        printer = PrintService(client, SimSpooler(), card_stock=CardStock(MemoryCardLedger()))
        self.diagnostics = Diagnostics(printer, lambda: ReaderState.EMPTY, KIOSK)
        self.errors = RecentErrors()
        self.monitor = HealthMonitor(
            lambda what, **kw: self.posted.append((what, kw)),
            lambda: ReaderState.EMPTY,
            printer,
            closed_reason=lambda: self.diagnostics.manual_out_of_service,
            flow_state=lambda: self.flow[0],
            version="1.6.0",
        )
        self.monitor.remote = RemoteActions(
            lambda: self.flow[0],
            self.diagnostics,
            self.notices.append,
            self.monitor.supplies,
            errors=self.errors,
            restart=lambda: self.restarts.append(len(self.restarts)),
            version="1.6.0",
        )

    def beat(self) -> None:
        self.monitor.heartbeat_once()


@pytest.fixture
def kiosk(server: EmbeddedServer) -> Iterator[Kiosk]:
    k = Kiosk(server)
    k.beat()  # known to the server, idle
    yield k


@pytest.fixture
def console(server: EmbeddedServer) -> Iterator[Console]:
    c = Console(server)
    yield c
    c.close()


def asked(srv: EmbeddedServer) -> list[KioskCommandRow]:
    with database(srv) as db:
        rows = list(db.scalars(select(KioskCommandRow).order_by(KioskCommandRow.id)))
        db.expunge_all()
        return rows


def do(console: Console, action: str, **form: str) -> str:
    answer = console.post(f"/console/kiosks/{KIOSK}/do/{action}", **form)
    assert answer.status_code == 303, answer.text[-300:]
    return answer.headers["location"].split("done=")[1]


def test_out_of_service_and_back_reach_the_kiosk_and_are_audited_by_name(
    server: EmbeddedServer, console: Console, kiosk: Kiosk
) -> None:
    add_user(server, "ani", "officer")
    console.login("ani")
    assert do(console, "out_of_service") == "command_error_reason"  # a reason is needed
    assert do(console, "out_of_service", text="Pemeliharaan  printer") == "command_asked"
    assert [c.state for c in asked(server)] == ["pending"]
    kiosk.beat()
    (row,) = asked(server)
    assert (row.state, row.text, row.created_by) == ("done", "Pemeliharaan printer", "console:ani")
    kiosk.monitor.check_once()
    assert kiosk.posted[-1] == (
        "service_down",
        {"reason": "closed_by_office|reason=Pemeliharaan printer"},
    )
    assert do(console, "in_service") == "command_asked"
    kiosk.beat()
    kiosk.monitor.check_once()
    assert kiosk.posted[-1] == ("service_up", {})
    page = console.get(f"/console/kiosks/{KIOSK}").text
    assert page.count('data-state="done"') == 2
    with database(server) as db:
        audit = [(a.actor, a.action) for a in db.scalars(select(AuditEntry))]
    assert ("console:ani", "kiosk_out_of_service_asked") in audit
    assert (KIOSK, "kiosk_out_of_service_done") in audit
    assert ("console:ani", "kiosk_in_service_asked") in audit


def test_the_idle_notice_and_a_restart_after_the_server_has_the_result(
    server: EmbeddedServer, console: Console, kiosk: Kiosk
) -> None:
    add_user(server, "ani", "officer")
    console.login("ani")
    do(console, "notice", text="Tutup pukul 15.00 hari ini")
    do(console, "notice", text="")
    kiosk.beat()
    assert kiosk.notices == ["Tutup pukul 15.00 hari ini", None]  # in order; None: as configured
    do(console, "restart")
    kiosk.beat()
    assert kiosk.restarts == [0]
    kiosk.beat()  # done: not delivered again, not restarted again
    assert kiosk.restarts == [0]
    assert [c.state for c in asked(server)] == ["done", "done", "done"]


def test_a_diagnostics_bundle_is_downloaded_without_personal_data(
    server: EmbeddedServer, console: Console, kiosk: Kiosk
) -> None:
    add_user(server, "ani", "officer")
    console.login("ani")
    logging.getLogger("kiosk.test").addHandler(kiosk.errors)
    try:
        logging.getLogger("kiosk.test").warning("card of %s unreadable", NIK)  # unmasked!
    finally:
        logging.getLogger("kiosk.test").removeHandler(kiosk.errors)
    do(console, "diagnostics")
    kiosk.beat()
    (row,) = asked(server)
    link = f"/console/kiosks/{KIOSK}/diagnostics/{row.id}.json"
    assert f'href="{link}"' in console.get(f"/console/kiosks/{KIOSK}").text
    got = console.get(link)
    assert got.status_code == 200 and "attachment" in got.headers["content-disposition"]
    bundle = got.json()
    assert bundle["asked_by"] == "console:ani" and bundle["versions"]["adm-kiosk"] == "1.6.0"
    assert {c["name"] for c in bundle["checks"]} >= {"reader", "blank_cards", "server"}
    assert any("unreadable" in line for line in bundle["errors"])
    assert not re.search(r"\d{16}", json.dumps(bundle))  # the NIK did not leave the kiosk
    assert console.get(f"/console/kiosks/other/diagnostics/{row.id}.json").status_code == 404


def test_while_a_citizen_is_served_actions_wait_for_a_supervisor_who_may_force(
    server: EmbeddedServer, console: Console, kiosk: Kiosk
) -> None:
    add_user(server, "ani", "officer")
    add_user(server, "budi", "supervisor")
    console.login("ani")
    do(console, "restart")  # asked while the kiosk was idle ...
    kiosk.flow[0] = "print_documents"  # ... a citizen started before its heartbeat
    kiosk.beat()
    assert kiosk.restarts == [] and [c.state for c in asked(server)] == ["refused"]
    # The console knows it now: an officer is refused, and cannot force.
    assert do(console, "restart") == "command_error_in_session"
    assert console.post(f"/console/kiosks/{KIOSK}/do/restart", force="1").status_code == 403
    console.login("budi")
    page = console.get(f"/console/kiosks/{KIOSK}").text
    assert 'id="busy"' in page and 'name="force"' in page
    assert do(console, "diagnostics", force="1") == "command_asked"
    kiosk.beat()
    rows = asked(server)
    assert rows[-1].state == "done" and rows[-1].force
    assert rows[-1].result is not None and rows[-1].result["state"] == "print_documents"


def test_an_action_the_kiosk_never_fetched_expires(
    server: EmbeddedServer, console: Console, kiosk: Kiosk
) -> None:
    add_user(server, "ani", "officer")
    console.login("ani")
    do(console, "restart")
    with database(server) as db:
        db.execute(update(KioskCommandRow).values(created_at=utcnow() - dt.timedelta(hours=2)))
        db.commit()
    kiosk.beat()
    assert kiosk.restarts == [] and [c.state for c in asked(server)] == ["expired"]
