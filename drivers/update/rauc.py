"""RAUC on the kiosk's A/B disk (scripts/build_image.py: adm-root-a, adm-root-b).

``rauc install`` checks the bundle's CMS signature against /etc/rauc/keyring.pem (the
release signing CA only: not the server's TLS CA), writes the inactive slot, and only
then switches the boot target, so a power cut while writing leaves the old slot booting.
The switch uses systemd-boot's boot counting (drivers.update.sdboot, RAUC's custom
boot loader backend): the new entry gets tries; boots that are never marked good by the
updater's health gate use them up and the boot loader returns to the other entry by
itself, even when the new system cannot run the updater at all (a kernel that panics).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from drivers.update.base import InstallError, Running, image_version

RAUC = "rauc"


def _run(*args: str, timeout: float = 1800.0) -> str:
    try:
        done = subprocess.run(
            [RAUC, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallError(f"rauc {args[0]}: {exc}") from None
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()
        raise InstallError(f"rauc {args[0]}: {last[-1] if last else done.returncode}")
    return done.stdout


def booted_slot(cmdline: Path = Path("/proc/cmdline")) -> str:
    """The slot this boot runs, as the boot entry told the kernel (``rauc.slot=``: what
    RAUC itself reads)."""
    try:
        words = cmdline.read_text().split()
    except OSError:
        return ""
    return next((w.split("=", 1)[1] for w in words if w.startswith("rauc.slot=")), "")


class RaucInstaller:
    def running(self) -> Running:
        """The image's own version (the slot RAUC did not write, the first one, has no
        RAUC status) and the booted slot."""
        return Running(image_version(), booted_slot())

    def install(self, bundle: Path) -> str:
        info = json.loads(_run("info", "--output-format=json", str(bundle), timeout=300))
        _run("install", str(bundle))
        return str(info.get("version", ""))

    def mark_good(self) -> None:
        _run("status", "mark-good", "booted", timeout=60)

    def mark_bad(self) -> None:
        _run("status", "mark-bad", "booted", timeout=60)

    def reboot(self) -> None:
        subprocess.run(["systemctl", "reboot"], check=False)
