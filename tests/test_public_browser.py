"""The public check as a clerk's phone sees it: Debian's Chromium, headless, at a phone's
viewport (390 × 844 CSS pixels, mobile), JavaScript off.  Each printed kind's PDF is
rasterised at 100 dpi, zbar reads the QR, the browser opens the link and reads the
verdict; a supervisor revokes in the console and the page says so; a reprint supersedes.
The offline checker verifies a good token and refuses a forged one in the same browser
(JavaScript on), served by the server and as a file."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol import seal
from protocol.kinds import KINDS
from server.public import MONTHS
from server.verification import VerificationConfig
from sim.browser import chromium, full_page_screenshot
from sim.embedded import EmbeddedServer
from tests.console_helpers import add_user
from tests.public_helpers import Printed, print_document
from tests.test_console_browser import login, shown

pytestmark = pytest.mark.timeout(300)

PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "public"


@pytest.fixture(scope="module")
def phone() -> Iterator[Any]:
    with chromium(PHONE["width"], PHONE["height"], javascript=False) as driver:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
        speak_indonesian(driver)
        yield driver


def speak_indonesian(driver: Any) -> None:
    """A phone set to Bahasa Indonesia: the page's language comes from Accept-Language."""
    agent = driver.execute_cdp_cmd("Browser.getVersion", {})["userAgent"]
    driver.execute_cdp_cmd(
        "Emulation.setUserAgentOverride",
        {"userAgent": agent, "acceptLanguage": "id-ID,id;q=0.9,en;q=0.5"},
    )


@pytest.fixture
def budget(server: EmbeddedServer) -> Iterator[VerificationConfig]:
    config: VerificationConfig = server.settings.verification
    before = config.per_minute
    config.per_minute = 100_000
    yield config
    config.per_minute = before


def verdict(driver: Any, link: str) -> tuple[str, str]:
    """(data-state, headline) of the page the link opens, after checking that the page
    fits the phone's width (nothing to scroll sideways)."""
    from selenium.webdriver.common.by import By

    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    driver.get(link)
    box = shown(driver, "verdict")
    layout = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    assert layout["cssContentSize"]["width"] <= PHONE["width"], link
    return box.get_attribute("data-state"), driver.find_element(By.ID, "headline").text


def shot(driver: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    full_page_screenshot(driver, str(SHOTS / f"{name}.png"), PHONE["width"])


def test_every_printed_kind_checks_valid_on_a_phone_then_revoked_then_superseded(
    server: EmbeddedServer, budget: VerificationConfig, phone: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    printed: dict[str, Printed] = {}
    for kind in KINDS:
        printed[kind] = print_document(server, kind, tmp_path)
        state, headline = verdict(phone, printed[kind].link)
        assert (state, headline) == ("valid", "Dokumen asli dan berlaku"), kind
        assert printed[kind].number in phone.find_element(By.ID, "fact-number").text
        assert phone.find_element(By.ID, "fact-kind").text == KINDS[kind][0]
    shot(phone, "valid")
    phone.get(printed["kartu_keluarga"].link + "?lang=en")
    assert shown(phone, "headline").text == "Genuine and in force"
    shot(phone, "valid-en")

    # A supervisor revokes the KIA in the console (the same browser, no JavaScript).
    add_user(server, "kepala", "supervisor")
    phone.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    login(phone, server, "kepala")
    kia = printed["kia"]
    phone.get(f"{server.url}/console/documents/{kia.number}")
    phone.find_element(By.ID, "revoke-reason").send_keys("kartu hilang, dilaporkan pemegang")
    shot(phone, "console-revoke")
    phone.find_element(By.ID, "revoke").click()
    shown(phone, "document-status", "dicabut")
    shot(phone, "console-revoked")
    assert verdict(phone, kia.link) == ("revoked", "Dokumen telah DICABUT")
    assert "dilaporkan" not in phone.page_source  # the reason stays in the office
    shot(phone, "revoked")

    # The KTP-el is printed again and the office marks the new print as replacing it.
    ktp = printed["ktp_el"]
    again = print_document(server, "ktp_el", tmp_path / "again")
    phone.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    phone.get(f"{server.url}/console/office")
    phone.find_element(By.ID, "supersede-old").send_keys(ktp.number)
    phone.find_element(By.ID, "supersede-new").send_keys(again.number)
    phone.find_element(By.ID, "supersede").click()
    shown(phone, "result", ktp.number)
    assert verdict(phone, ktp.link) == ("superseded", "Sudah diganti cetakan baru")
    assert again.number in phone.find_element(By.ID, "explanation").text
    shot(phone, "superseded")
    assert verdict(phone, again.link)[0] == "valid"

    # Forged (one character of the signature changed) and garbage: clear pages.
    forged = ktp.link[:-10] + ("A" if ktp.link[-10] != "A" else "B") + ktp.link[-9:]
    assert verdict(phone, forged) == ("invalid", "BUKAN dokumen yang kami terbitkan")
    shot(phone, "invalid")
    assert verdict(phone, f"{server.url}/v/GARBAGE-%3Cscript%3E")[0] == "malformed"


def offline_verdict(driver: Any, text: str) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    box = driver.find_element(By.ID, "token")
    box.clear()
    box.send_keys(text)
    driver.execute_script("document.getElementById('result').dataset.state = ''")
    driver.find_element(By.ID, "check").click()
    WebDriverWait(driver, 10).until(
        lambda d: d.find_element(By.ID, "result").get_attribute("data-state")
    )
    return str(driver.find_element(By.ID, "result").get_attribute("data-state"))


def test_the_offline_checker_verifies_a_good_token_and_refuses_a_forged_one(
    server: EmbeddedServer, budget: VerificationConfig, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    printed = print_document(server, "akta_kelahiran", tmp_path)
    token = seal.token_of(printed.link)
    forged = token[:-10] + ("A" if token[-10] != "A" else "B") + token[-9:]
    # Well formed, but signed by a key no office in the page holds.
    stranger = seal.seal(Ed25519PrivateKey.generate(), "kia", dt.date(2026, 12, 6), "KIA-1")
    page = tmp_path / "checker.html"
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "--home",
            str(server.home.path),
            "verifier-page",
            str(page),
        ],
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    html = page.read_text()
    script = html.split("<script>")[1]
    assert "fetch(" not in script and "XMLHttpRequest" not in script  # no network
    policy = unescape(html.split('http-equiv="Content-Security-Policy" content="')[1].split('"')[0])
    assert policy.startswith("default-src 'none'") and "connect-src" not in policy
    with chromium(PHONE["width"], PHONE["height"], javascript=True) as driver:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
        speak_indonesian(driver)
        for where in (f"{server.url}/verify-offline", page.as_uri()):
            driver.get(where)
            shown(driver, "checker")
            # Debian's Chromium has Ed25519 in WebCrypto: the check really runs.
            assert offline_verdict(driver, printed.link) == "valid", where
            facts = driver.find_element(By.ID, "result-facts").text
            assert printed.number in facts and "Kutipan Akta Kelahiran" in facts
            issued = printed.payload["issued_at"]
            day = dt.date.fromisoformat(issued)
            assert f"{day.day} {MONTHS['id'][day.month - 1]} {day.year}" in facts
            if where.startswith("file:"):
                shot(driver, "offline-valid")
            assert offline_verdict(driver, forged) == "invalid", where
            assert offline_verdict(driver, "not a code") == "malformed", where
            assert offline_verdict(driver, stranger) == "invalid", where
        logs = driver.get_log("browser") if hasattr(driver, "get_log") else []
        assert not [e for e in logs if "Content Security Policy" in e.get("message", "")], logs
