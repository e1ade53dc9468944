"""The kiosk's updater: a small privileged process beside the unprivileged kiosk.

It does one step every few seconds (``UpdateAgent.step``), each decided from what is on
disk, so a crash or a power cut between two steps loses nothing:

1. no target, or the target runs: nothing to do;
2. outside the rollout's maintenance window (local time): wait;
3. fetch the bundle over HTTPS with the kiosk's client certificate into the cache on the
   data partition, and check its size and SHA-256 against the heartbeat's answer;
4. ask the kiosk to stop serving when idle (``request.json``) and wait until it says it
   has (``drained``): a citizen's session, and the print in it, always finish first;
5. install into the other slot (the installer checks the bundle's signature with its own
   keyring: a forged target can at worst name a genuine release), note what is pending
   (``pending.json``, fsynced), reboot;
6. after the boot, the health gate: the new version must reach READY with its self-checks
   (the kiosk's ``ready``) within ``gate_seconds``; then the slot is marked good;
   otherwise it is marked bad and the other slot boots again, and the report says why.
   A version that cannot even run this process is rolled back by the boot loader's own
   counter (drivers.update.rauc); the next boot finds ``pending.json`` naming a version
   that does not run and reports the rollback.

Every step writes ``report.json``, which the kiosk sends with its next heartbeat.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx

from drivers.update.base import Installer, InstallError
from kiosk.update_link import UpdateLink, read_json, write_whole
from protocol.api import UpdateReport, UpdateTarget

log = logging.getLogger("kiosk.updater")
FAILED = ("rolled_back", "failed")


def boot_id() -> str:
    """This boot's identity (a new one at every boot)."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def in_window(target: UpdateTarget, now: dt.datetime) -> bool:
    """Whether local ``now`` is inside the rollout's window (22:00-05:00 passes
    midnight); no window is any time."""
    if not target.window_start or not target.window_end:
        return True
    at, start, end = now.strftime("%H:%M"), target.window_start, target.window_end
    return start <= at < end if start < end else at >= start or at < end


class Fetcher:
    """Downloads a bundle from the server (or the web server beside it) with the kiosk's
    client certificate; never keeps a file whose size or digest is not the target's."""

    def __init__(self, server_url: str, tls: ssl.SSLContext, timeout: float = 60.0) -> None:
        self.server_url, self.tls, self.timeout = server_url, tls, timeout

    def __call__(self, target: UpdateTarget, dest: Path) -> None:
        url = urljoin(self.server_url + "/", target.url)
        partial = dest.with_name(dest.name + ".partial")
        digest, size = hashlib.sha256(), 0
        with (
            httpx.Client(verify=self.tls, timeout=self.timeout) as http,
            http.stream("GET", url) as answer,
        ):
            if answer.status_code != 200:
                raise OSError(f"download: HTTP {answer.status_code}")
            with partial.open("wb") as f:
                for chunk in answer.iter_bytes(1 << 20):
                    size += len(chunk)
                    if size > target.size:
                        break
                    digest.update(chunk)
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
        if size != target.size or digest.hexdigest() != target.sha256:
            partial.unlink(missing_ok=True)
            raise OSError("download: size or SHA-256 is not the release's")
        partial.replace(dest)


class UpdateAgent:
    def __init__(
        self,
        link: UpdateLink,
        installer: Installer,
        fetch: Callable[[UpdateTarget, Path], None],
        *,
        gate_seconds: float = 300.0,
        clock: Callable[[], dt.datetime] = dt.datetime.now,
        boot: Callable[[], str] = boot_id,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.link, self.installer, self.fetch = link, installer, fetch
        self.gate_seconds, self.clock, self.boot, self.now = gate_seconds, clock, boot, now
        self.cache = link.updater_dir / "bundles"
        self.pending_file = link.updater_dir / "pending.json"

    def _report(self, target: str | None, state: str, why: str = "") -> str:
        slot = self.installer.running().slot
        report = UpdateReport(target=target, state=state, why=why[:200], slot=slot)  # type: ignore[arg-type]
        self.link.write_report(report)
        return state

    def _last(self) -> dict[str, Any]:
        data = read_json(self.link.updater_dir / "report.json")
        return data if isinstance(data, dict) else {}

    def step(self) -> str:
        """One decision; the state it reported."""
        self.link.updater_dir.mkdir(parents=True, exist_ok=True)
        running = self.installer.running()
        pending = read_json(self.pending_file)
        if isinstance(pending, dict) and isinstance(pending.get("target"), str):
            return self._after_boot(running.version, pending)
        target = self.link.target()
        if target is None:
            self.link.request(None)
            last = self._last()
            if last.get("state") in FAILED:  # said until the fleet asks for something else
                return str(last["state"])
            return self._report(None, "idle")
        if target.version == running.version:
            self.link.request(None)
            return self._report(target.version, "ok")
        last = self._last()
        if last.get("target") == target.version and last.get("state") in FAILED:
            self.link.request(None)
            return str(last["state"])  # not again: the server pauses the rollout
        if not in_window(target, self.clock()):
            self.link.request(None)
            return self._report(target.version, "waiting", "outside the maintenance window")
        bundle = self.cache / f"{target.version}.bundle"
        if not bundle.is_file():
            self._report(target.version, "downloading")
            self.cache.mkdir(parents=True, exist_ok=True)
            self._forget_bundles()  # the cache holds the target's bundle only
            try:
                self.fetch(target, bundle)
            except (OSError, httpx.HTTPError) as exc:
                # Not a failure of the release: tried again at the next step.
                return self._report(target.version, "waiting", str(exc))
        self.link.request(target.version)
        if not self.link.drained():
            return self._report(target.version, "waiting", "until the kiosk is idle")
        self._report(target.version, "installing")
        # Noted before the slot is written: a power cut during the install is then told
        # apart from a version that did not boot.
        note = {"target": target.version, "previous": running.version, "phase": "installing"}
        write_whole(self.pending_file, _json(note))
        try:
            installed = self.installer.install(bundle)
            if installed != target.version:
                raise InstallError(f"the bundle holds {installed}, not {target.version}")
        except InstallError as exc:
            self.pending_file.unlink(missing_ok=True)
            bundle.unlink(missing_ok=True)
            self.link.request(None)
            log.error("update to %s not installed: %s", target.version, exc)
            return self._report(target.version, "failed", f"install: {exc}")
        write_whole(self.pending_file, _json({**note, "phase": "installed"}))
        log.warning("update to %s installed; rebooting into it", target.version)
        self.installer.reboot()
        return "installing"

    def _after_boot(self, version: str, pending: dict[str, Any]) -> str:
        """The boot after an install: pass the health gate, or roll back."""
        target = str(pending["target"])
        self.link.request(None)  # the kiosk must be free to serve for the gate
        if version != target and pending.get("phase") == "installing":
            # The power went while the slot was written: the old slot never stopped being
            # the one that boots.  Not a failure of the release: installed again.
            self.pending_file.unlink(missing_ok=True)
            log.warning("the install of %s was interrupted; it is done again", target)
            return self._report(target, "waiting", "the install was interrupted")
        if version != target:
            # The old slot runs: the gate failed, or the boot loader gave up on the new one.
            why = str(pending.get("why") or f"{target} did not boot; {version} runs again")
            self.pending_file.unlink(missing_ok=True)
            log.error("update to %s rolled back: %s", target, why)
            return self._report(target, "rolled_back", why)
        if pending.get("boot") != self.boot():
            pending.update(boot=self.boot(), deadline=self.now() + self.gate_seconds)
            write_whole(self.pending_file, _json(pending))
        if self.link.ready() == version:
            self.installer.mark_good()
            self.pending_file.unlink(missing_ok=True)
            self._forget_bundles()
            log.warning("update to %s passed its health gate", target)
            return self._report(target, "ok")
        if self.now() < float(pending["deadline"]):
            return self._report(target, "booted")
        why = f"health gate: not READY in {self.gate_seconds:.0f} s"
        pending["why"] = why
        write_whole(self.pending_file, _json(pending))
        self._report(target, "booted", why)
        self.installer.mark_bad()
        self.installer.reboot()
        return "booted"

    def _forget_bundles(self) -> None:
        for old in self.cache.glob("*.bundle*"):
            old.unlink(missing_ok=True)

    def run(self, poll: float = 10.0, stop: Callable[[], bool] = lambda: False) -> None:
        while not stop():
            try:
                self.step()
            except Exception:  # the updater must outlive any one bad step
                log.exception("update step failed")
            time.sleep(poll)


def _json(data: dict[str, Any]) -> bytes:
    import json

    return json.dumps(data, sort_keys=True).encode()
