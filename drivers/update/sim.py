"""A simulated A/B installer: two slots in a JSON file, and bundles signed with a key of
the simulator's own (an HMAC), so a bundle signed with another key, or altered, is
refused as RAUC refuses one whose signature its keyring does not verify.

A simulated bundle is JSON: ``{"version": ..., "mac": HMAC-SHA256(key, version)}``.
``reboot`` is the simulator's: it switches to the slot the "boot loader" picks (the
tried slot once, then back, as boot counting does) and calls ``on_reboot``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drivers.update.base import InstallError, Running


def sim_bundle(key: bytes, version: str) -> bytes:
    mac = hmac.new(key, version.encode(), hashlib.sha256).hexdigest()
    return json.dumps({"version": version, "mac": mac}).encode()


class SimInstaller:
    def __init__(
        self, state: Path, key: bytes, version: str, on_reboot: Callable[[], None] = lambda: None
    ) -> None:
        self.path, self.key, self.on_reboot = state, key, on_reboot
        if not state.exists():
            self._save(
                {
                    "slots": {"a": version, "b": ""},
                    "booted": "a",
                    "primary": "a",
                    "tries": 0,
                    "good": {"a": True, "b": False},
                    "reboots": 0,
                }
            )

    def state(self) -> dict[str, Any]:
        return dict(json.loads(self.path.read_text()))

    def _save(self, state: dict[str, Any]) -> None:
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps(state))
        os.replace(partial, self.path)

    def running(self) -> Running:
        s = self.state()
        return Running(s["slots"][s["booted"]], s["booted"])

    def install(self, bundle: Path) -> str:
        try:
            data = json.loads(bundle.read_bytes())
            version, mac = str(data["version"]), str(data["mac"])
        except (ValueError, KeyError, TypeError, OSError):
            raise InstallError("not a bundle") from None
        want = hmac.new(self.key, version.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(mac, want):
            raise InstallError("signature not verified by the keyring")
        s = self.state()
        other = "b" if s["booted"] == "a" else "a"
        s["slots"][other], s["good"][other] = version, False
        s["primary"], s["tries"] = other, 1
        self._save(s)
        return version

    def mark_good(self) -> None:
        s = self.state()
        s["good"][s["booted"]], s["primary"], s["tries"] = True, s["booted"], 0
        self._save(s)

    def mark_bad(self) -> None:
        s = self.state()
        s["good"][s["booted"]] = False
        s["primary"] = "b" if s["booted"] == "a" else "a"
        self._save(s)

    def reboot(self) -> None:
        """The boot loader's choice: the primary slot while it is good or has tries
        left, else the other one."""
        s = self.state()
        chosen = s["primary"]
        if not s["good"][chosen]:
            if s["tries"] > 0:
                s["tries"] -= 1
            else:
                chosen = "b" if chosen == "a" else "a"
                s["primary"] = chosen
        s["booted"], s["reboots"] = chosen, s["reboots"] + 1
        self._save(s)
        self.on_reboot()
