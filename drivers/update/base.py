"""What the kiosk's updater asks of the system that installs a release.

An installer writes a signed bundle into the slot that is not running, makes that slot
the one the next boot tries, and is told afterwards whether the tried slot is good
(keep it) or bad (boot the other again).  It verifies the bundle's signature itself
against its own keyring: the updater never decides that a bundle is genuine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

OS_RELEASE = Path("/etc/os-release")


def image_version(os_release: Path = OS_RELEASE) -> str:
    """The appliance image's version (``IMAGE_VERSION`` in os-release, written by the
    image and release builds: scripts/build_image.py), "" on a machine that is not one.
    A release is a whole root file system, so its version, not the Python package's,
    is what the kiosk runs: the kiosk reports it and the updater compares it."""
    try:
        text = os_release.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    fields = dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#")
    )
    if fields.get("IMAGE_ID", "").strip("\"'") != "adm-kiosk":
        return ""
    return fields.get("IMAGE_VERSION", "").strip().strip("\"'")[:40]


class InstallError(Exception):
    """The bundle was not installed (bad signature, not a bundle, the slot could not be
    written); the running slot is untouched."""


@dataclass(frozen=True)
class Running:
    version: str
    slot: str  # "a" | "b"


class Installer(Protocol):
    def running(self) -> Running:
        """The version and slot this boot runs."""
        ...

    def install(self, bundle: Path) -> str:
        """Verify and write ``bundle`` into the other slot and make it the next boot's
        (tried once, then the current slot again unless marked good); the version it
        holds."""
        ...

    def mark_good(self) -> None:
        """The running slot passed its health gate: keep booting it."""
        ...

    def mark_bad(self) -> None:
        """The running slot failed its health gate: the next boot is the other one."""
        ...

    def reboot(self) -> None: ...
