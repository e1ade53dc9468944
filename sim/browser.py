"""Debian's Chromium, headless, driven by Selenium: the office console's browser tests
and its screenshots (``make screenshots``) use the same browser a technician would.

Started with a fresh profile and without background networking (this machine refuses
outside connections, and Chromium would try many at start) and accepting the test CA's
server certificate without it being installed in a system store.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new",
    "--no-sandbox",  # root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--ignore-certificate-errors",  # the deployment CA is not in a system store here
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)


class BrowserMissing(RuntimeError):
    """Chromium or ChromeDriver is not installed (scripts/setup.sh installs both)."""


@contextmanager
def chromium(
    width: int = 1366, height: int = 900, lang: str = "id", *, javascript: bool = True
) -> Iterator[Any]:
    """A Selenium WebDriver on headless Chromium, closed (and its profile removed) after.
    ``javascript`` False: pages run no script of their own (WebDriver still works)."""
    if shutil.which(CHROMIUM) is None or shutil.which(CHROMEDRIVER) is None:
        raise BrowserMissing(f"{CHROMIUM} and {CHROMEDRIVER} are needed: run scripts/setup.sh")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="adm-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--window-size={width},{height}", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.add_argument(f"--lang={lang}")
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def full_page_screenshot(driver: Any, path: str, width: int) -> None:
    """The whole page at ``width`` CSS pixels, not just the window: the viewport is made
    as tall as the laid-out page (DevTools' device metrics), then put back."""
    mobile = width < 600
    metrics = {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": mobile}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    layout = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    height = int(layout["cssContentSize"]["height"])
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": height})
    driver.save_screenshot(path)
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
