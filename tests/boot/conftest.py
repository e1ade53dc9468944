"""The booted appliance, shared by the boot tests (one boot is a minute of emulation).

Every boot test may take up to ten minutes (the first one also boots and enrols the
guest); the power cuts have an hour.

``make boot-test`` (every check, ten power cuts) and ``make boot-smoke`` (boot, idle
screen, one touch, watchdog) run these; ``make test`` leaves the folder out (see
tests/conftest.py).  The image is ``dist/adm-kiosk-rig.img`` (``make image-rig``).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sim.appliance import Appliance
from sim.guest import wait_until

ROOT = Path(__file__).resolve().parents[2]
IMAGE = Path(os.environ.get("ADM_BOOT_IMAGE", ROOT / "dist" / "adm-kiosk-rig.img"))


@dataclass
class Booted:
    app: Appliance
    figures: dict[str, float] = field(default_factory=dict)
    journal_mark: int = 0

    @property
    def guest(self):  # type: ignore[no-untyped-def]
        assert self.app.guest is not None
        return self.app.guest

    def status(self) -> dict[str, str]:
        return self.app.unit(
            "adm-kiosk", "ActiveState", "SubState", "StatusText", "NRestarts", "MainPID"
        )

    def idle(self) -> bool:
        s = self.status()
        return s.get("ActiveState") == "active" and s.get("StatusText", "").startswith("idle")

    def crop(self, box: tuple[int, int, int, int]) -> bytes:
        """The display's pixels in ``box`` now."""
        from PIL import Image

        shot = self.guest.screendump(self.guest.workdir / "probe.png")
        return Image.open(shot).convert("RGB").crop(box).tobytes()

    def differs(self, reference: str, box: tuple[int, int, int, int] | None = None) -> float:
        """The share of pixels of the guest's display (in ``box``) that differ from the
        offscreen screenshot ``docs/screenshots/<reference>.png``."""
        from PIL import Image, ImageChops

        shot = self.guest.screendump(self.guest.workdir / "probe.png")
        got = Image.open(shot).convert("RGB")
        want = Image.open(ROOT / "docs" / "screenshots" / f"{reference}.png").convert("RGB")
        if box is not None:
            got, want = got.crop(box), want.crop(box)
        diff = ImageChops.difference(got, want).convert("L").point(lambda v: 255 if v > 48 else 0)
        return sum(diff.histogram()[255:]) / (got.size[0] * got.size[1])

    def wait_screen(
        self,
        reference: str,
        box: tuple[int, int, int, int] | None = None,
        timeout: float = 60,
        within: float = 0.01,
    ) -> None:
        """Until the display shows what the offscreen screenshot shows (in ``box``): the
        citizen touches what is on the glass, not what the journal says is coming."""
        wait_until(
            lambda: self.differs(reference, box) <= within,
            timeout,
            f"the display to show {reference}" + (f" in {box}" if box else ""),
            every=0.5,
        )

    def lines(self) -> list[str]:
        return self.app.journal().splitlines()

    def mark(self) -> None:
        """Later waits look at the kiosk's journal from here on."""
        self.journal_mark = len(self.lines())

    def wait_state(self, state: str, timeout: float = 120) -> None:
        """Until the kiosk's flow logs a transition into ``state`` after the mark."""
        pattern = re.compile(rf"--> {re.escape(state)}$")

        def seen() -> bool:
            lines = self.lines()
            for i in range(self.journal_mark, len(lines)):
                if pattern.search(lines[i]):
                    self.journal_mark = i + 1
                    return True
            return False

        wait_until(seen, timeout, f"the kiosk to reach {state}", every=1.0)


def boot(app: Appliance, *, fresh: bool) -> float:
    """Start the guest; seconds from QEMU's start to the kiosk's READY with idle."""
    guest = app.guest
    assert guest is not None
    if fresh:
        guest.fresh_disk()
    guest.start()
    guest.wait_agent(600)

    def ready() -> bool:
        s = app.unit("adm-kiosk", "ActiveState", "StatusText")
        return s.get("ActiveState") == "active" and s.get("StatusText", "").startswith("idle")

    wait_until(ready, 600, "the kiosk's READY (idle)", every=1.0)
    return time.monotonic() - guest.started_at


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Each test's call outcome on its item, for fixtures that report after a failure."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.outcome_call = report  # type: ignore[attr-defined]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(600))


@pytest.fixture(scope="session")
def booted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Booted]:
    if not IMAGE.is_file():
        pytest.fail(f"{IMAGE} is missing: make image-rig")
    app = Appliance(IMAGE, tmp_path_factory.mktemp("appliance"))
    b = Booted(app)
    try:
        guest = app.prepare()
        guest.fresh_disk()
        guest.start()
        b.figures["agent_s"] = guest.wait_agent(600)
        # The technician reads the key's fingerprint off the kiosk (its enrolment's
        # journal here); the office signs only that.
        found = wait_until(
            lambda: re.search(
                r"sign-kiosk (\S+) --fingerprint \\\s*\n\s*([0-9a-f ]+)\n",
                app.journal("adm-kiosk-enrol"),
            ),
            600,
            "the kiosk's certificate request",
            every=2.0,
        )
        request, spoken = found.group(1), found.group(2).strip()
        waiting = app.pending_request()
        assert waiting is not None and waiting[0].startswith(request)
        app.sign(request, spoken)
        wait_until(app.vpcd_listening, 300, "pcscd's virtual reader in the guest", every=1.0)
        app.insert_sam()
        wait_until(b.idle, 600, "the kiosk's READY (idle)", every=1.0)
        b.figures["first_boot_to_idle_s"] = time.monotonic() - guest.started_at
        yield b
    finally:
        app.close()
