"""The office console in a real browser: Debian's Chromium, headless, with JavaScript
switched off (the essential actions must work without it), against the test server
over HTTPS.  A real kiosk process heartbeats to it and is stopped; an officer approves a
document the kiosk then lists; a supervisor revokes a kiosk whose next call is refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from kiosk import timeouts
from kiosk.app import KioskApp
from kiosk.server_client import ServerRefused
from server.alerts import AlertRules
from server.db import Kiosk
from sim.browser import chromium
from sim.embedded import EmbeddedServer
from sim.population import DEMO_NIK
from sim.rig import Rig
from sim.seed import card_assertion
from tests.conftest import kiosk_client, point_at, wait_for
from tests.console_helpers import PASSWORD, add_user, database, otp_for
from tests.rig_config import rig_config

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium(javascript=False) as driver:
        yield driver


def shown(driver: Any, element_id: str, text: str | None = None, timeout: float = 20) -> Any:
    """The element once the page that has it (with ``text`` in it) is loaded: a click
    that submits a form returns before the next page is there."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, timeout)
    if text is not None:
        wait.until(ec.text_to_be_present_in_element((By.ID, element_id), text))
    return wait.until(ec.presence_of_element_located((By.ID, element_id)))


def login(driver: Any, srv: EmbeddedServer, name: str) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{srv.url}/console/login")
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "otp").send_keys(otp_for(srv, name))  # a supervisor's
    driver.find_element(By.ID, "login").click()
    shown(driver, "main", "Anjungan")  # the fleet page


def fleet_state(driver: Any, kiosk: str) -> tuple[str, str, str]:
    """(data-state, class, background colour) of the kiosk's row, after a reload."""
    from selenium.webdriver.common.by import By

    driver.refresh()
    row = driver.find_element(By.ID, f"kiosk-{kiosk}")
    return (
        row.get_attribute("data-state"),
        row.get_attribute("class"),
        row.value_of_css_property("background-color"),
    )


def test_a_kiosk_that_stops_calling_in_turns_red(
    rig: Rig, server: EmbeddedServer, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drivers.fingerprint.sim import SimMatcher
    from printing.sim_spooler import SimSpooler

    settings = server.settings
    rules_before = settings.alert_rules
    settings.alert_rules = AlertRules(heartbeat_seconds=0.5)  # not heard after 1.5 s
    monkeypatch.setattr(timeouts, "HEARTBEAT", 0.2)
    monkeypatch.setattr(timeouts, "HEALTH_POLL", 0.2)
    add_user(server, "teknisi", "technician")
    cfg = rig_config()
    point_at(cfg, server)
    app = KioskApp(cfg, spooler=SimSpooler(), matcher=SimMatcher())
    try:
        app.start()
        app.card_stock.load("KTP2611A000001", "KTP2611A000100")  # a kiosk with no problem

        def heard() -> bool:
            with database(server) as db:
                kiosk = db.get(Kiosk, "kiosk-test")
                return kiosk is not None and kiosk.last_seen is not None

        wait_for(heard, "the kiosk's first heartbeat")
        login(browser, server, "teknisi")
        wait_for(lambda: fleet_state(browser, "kiosk-test")[0] == "serving", "a serving kiosk")
        _, classes, white = fleet_state(browser, "kiosk-test")
        assert "problem" not in classes.split(), browser.find_element("id", "kiosk-kiosk-test").text
        app.stop()  # the kiosk process stops calling in
        wait_for(lambda: fleet_state(browser, "kiosk-test")[0] == "not_heard", "the silent kiosk")
        state, classes, colour = fleet_state(browser, "kiosk-test")
        assert state == "not_heard" and "problem" in classes.split()
        red, green, blue = (int(x) for x in colour[colour.index("(") + 1 :].split(",")[:3])
        assert colour != white and red > green + 10 and red > blue + 10, colour  # red tint
        assert "Tidak ada kabar" in browser.page_source
    finally:
        settings.alert_rules = rules_before
        app.stop()


def test_an_approved_document_reaches_the_kiosk_and_a_revoked_kiosk_is_refused(
    server: EmbeddedServer, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    add_user(server, "siti", "supervisor")
    login(browser, server, "siti")
    browser.find_element(By.LINK_TEXT, "Layanan kantor").click()
    shown(browser, "register-kind")
    Select(browser.find_element(By.ID, "register-kind")).select_by_value("kia")
    browser.find_element(By.ID, "register-nik").send_keys(DEMO_NIK)
    browser.find_element(By.ID, "register").click()
    assert "didaftarkan" in shown(browser, "result").text
    select = Select(browser.find_element(By.ID, "approve-application"))
    application = select.options[-1].get_attribute("value")
    select.select_by_value(application)
    browser.find_element(By.ID, "approve").click()
    code = shown(browser, "secret").text
    assert len(code) == 8 and code.isdigit()

    client = kiosk_client(server)
    session = str(client.open_session("ektp", nik=DEMO_NIK, card=card_assertion(0.93))["session"])
    listed = [
        d
        for d in client.list_documents(session)
        if d["number"].endswith(f"-{int(application):06d}")
    ]
    assert len(listed) == 1 and listed[0]["kind"] == "kia"
    assert client.reserve(session, str(uuid.uuid4()), listed[0]["id"], code).state == "reserved"

    other = kiosk_client(server, "kiosk-b", retries=1)
    other.heartbeat("attract", {}, {})
    browser.get(f"{server.url}/console/kiosks/kiosk-b")
    browser.find_element(By.ID, "revoke").click()
    shown(browser, "kiosk-state", "Dicabut")
    with pytest.raises(ServerRefused) as refused:
        other.heartbeat("attract", {}, {})
    assert refused.value.code == "kiosk_revoked"


def test_the_language_switch_keeps_the_page_and_the_login(
    server: EmbeddedServer, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    add_user(server, "siti", "officer")
    login(browser, server, "siti")
    browser.get(f"{server.url}/console/documents")
    browser.find_element(By.LINK_TEXT, "EN").click()
    shown(browser, "main", "Waiting to be printed")
    assert browser.current_url.endswith("/console/documents")
    browser.find_element(By.LINK_TEXT, "ID").click()
    shown(browser, "main", "Menunggu dicetak")


def test_a_rollout_started_in_the_browser_reaches_the_fleet_and_a_broken_one_pauses(
    server: EmbeddedServer, browser: Any
) -> None:
    """A supervisor's rollout, typed into the form without JavaScript, reaches simulated
    kiosks heartbeating to the server; a broken release stops with its canary and the
    page says so; on a phone the page fits its width."""
    import asyncio

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from sim.fleet import Fleet, Times, prepare, publish

    office = "Kota Bandung"
    ids = prepare(server.home, server.database_url, 8, offices=(office,))
    for version in ("2.0.0", "2.0.1"):
        publish(server.home, server.database_url, version, size=4096)
    was = server.settings.canary_gate_seconds
    server.settings.canary_gate_seconds = 0.0
    fast = Times(interval=0.3, install=0.1, reboot=0.1, gate=0.1, gate_limit=0.2)
    fleet = Fleet(server.url, server.home, ids, fast, broken=("2.0.1",))
    asyncio.run(fleet.run(lambda f: all(k.beats for k in f.kiosks.values()), 30))
    add_user(server, "siti", "supervisor")
    try:
        login(browser, server, "siti")

        def start(version: str) -> None:
            browser.get(f"{server.url}/console/updates")
            Select(browser.find_element(By.ID, "rollout-version")).select_by_value(version)
            Select(browser.find_element(By.ID, "rollout-office")).select_by_value(office)
            for field, value in (("canary-percent", "25"), ("max-failures", "1")):
                box = browser.find_element(By.ID, f"rollout-{field}")
                box.clear()
                box.send_keys(value)
            for field in ("window-start", "window-end"):  # any time
                browser.execute_cdp_cmd(
                    "Runtime.evaluate",
                    {"expression": f"document.getElementById('rollout-{field}').value=''"},
                )
            browser.find_element(By.ID, "rollout-create").click()
            shown(browser, "done")

        start("2.0.0")
        asyncio.run(fleet.run(lambda f: all(k.state == "ok" for k in f.kiosks.values()), 60))
        told(fleet)
        browser.get(f"{server.url}/console/updates")
        first = browser.find_element(By.CSS_SELECTOR, "section.rollout")
        assert first.get_attribute("data-state") == "active"
        meter = first.find_element(By.TAG_NAME, "meter")
        assert (meter.get_attribute("value"), meter.get_attribute("max")) == ("8", "8")
        assert browser.find_element(By.CSS_SELECTOR, '[data-version="2.0.0"]').text.endswith("8")

        start("2.0.1")
        asyncio.run(
            fleet.run(
                lambda f: (
                    any(k.state == "rolled_back" for k in f.kiosks.values())
                    and all(k.state in ("ok", "rolled_back") for k in f.kiosks.values())
                ),
                60,
            )
        )
        told(fleet)
        browser.get(f"{server.url}/console/updates")
        newest = browser.find_element(By.CSS_SELECTOR, "section.rollout")
        assert newest.get_attribute("data-state") == "paused"
        assert "2.0.1" in browser.find_element(By.ID, "failures").text
        assert fleet.versions() == {"2.0.0": 8}  # nobody left on the broken release
        browser.set_window_size(390, 844)
        browser.refresh()
        layout = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})
        assert layout["cssContentSize"]["width"] <= 390
    finally:
        browser.set_window_size(1366, 900)
        server.settings.canary_gate_seconds = was


def told(fleet: Any) -> None:
    """Until every simulated kiosk has heartbeated once more: what it reports now is
    what the server holds."""
    import asyncio

    then = {k.id: k.beats for k in fleet.kiosks.values()}
    asyncio.run(fleet.run(lambda f: all(k.beats > then[k.id] for k in f.kiosks.values()), 30))
