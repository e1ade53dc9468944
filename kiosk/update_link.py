"""The kiosk's end of the talk with its privileged updater, on files.

The kiosk runs unprivileged and never installs anything; the updater (kiosk.updater, a
small root unit) never serves a citizen.  What one tells the other is a few small files,
each written whole (a temporary file renamed), each read as untrusted:

kiosk → updater, in ``kiosk_dir`` (the kiosk's own runtime folder):
    target.json  the heartbeat's answer: the version the fleet's rollout wants
    drained      the kiosk is idle, out of service for the update, and refuses sessions
    ready        the kiosk reached READY with its self-checks passed (the health gate);
                 holds the version that did

updater → kiosk, in ``updater_dir`` (the updater's folder, readable by the kiosk):
    request.json "stop serving when idle: an update is about to be installed"
    report.json  what the updater last did (protocol.api.UpdateReport), told to the
                 server with every heartbeat
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from protocol.api import UpdateReport, UpdateTarget

log = logging.getLogger("kiosk.update")
MOST = 64 * 1024  # none of these files is larger; a larger one is not read


def write_whole(path: Path, data: bytes) -> None:
    """``data`` at ``path`` or, after a crash, the file as it was: never half of it."""
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, path)


def read_json(path: Path) -> Any:
    """The file's JSON, or None when it is missing, too large or not JSON."""
    try:
        with path.open("rb") as f:
            data = f.read(MOST + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("%s: %s", path, exc)
        return None
    if len(data) > MOST:
        log.warning("%s: larger than %d bytes; ignored", path, MOST)
        return None
    try:
        return json.loads(data)
    except ValueError:
        log.warning("%s: not JSON; ignored", path)
        return None


class UpdateLink:
    def __init__(self, kiosk_dir: Path, updater_dir: Path) -> None:
        self.kiosk_dir, self.updater_dir = kiosk_dir, updater_dir

    # ------------------------------------------------------------ the kiosk writes

    def store_target(self, target: dict[str, Any] | None) -> None:
        path = self.kiosk_dir / "target.json"
        if target is None:
            path.unlink(missing_ok=True)
            return
        try:
            checked = UpdateTarget.model_validate(target)
        except ValidationError:
            log.warning("the server's update target is malformed; ignored")
            return
        data = checked.model_dump_json().encode()
        if read_json(path) != json.loads(data):
            self.kiosk_dir.mkdir(parents=True, exist_ok=True)
            write_whole(path, data)

    def set_drained(self, drained: bool) -> None:
        self._flag("drained", drained, "")

    def set_ready(self, version: str) -> None:
        """The kiosk serves (``version`` runs and passed its checks); "" when it does
        not (a later failure: the gate waits again)."""
        self._flag("ready", bool(version), version)

    def _flag(self, name: str, on: bool, text: str) -> None:
        path = self.kiosk_dir / name
        if not on:
            path.unlink(missing_ok=True)
            return
        try:
            if path.read_text() == text:
                return
        except OSError:
            pass
        self.kiosk_dir.mkdir(parents=True, exist_ok=True)
        write_whole(path, text.encode())

    # ------------------------------------------------------------ the kiosk reads

    def requested(self) -> bool:
        """Whether the updater asked the kiosk to stop serving when idle."""
        return (self.updater_dir / "request.json").exists()

    def report(self) -> dict[str, Any] | None:
        """The updater's last report, checked against the protocol (a malformed one is
        not passed on to the server)."""
        data = read_json(self.updater_dir / "report.json")
        if data is None:
            return None
        try:
            return UpdateReport.model_validate(data).model_dump()
        except ValidationError:
            log.warning("the updater's report is malformed; not sent")
            return None

    # ------------------------------------------------------------ the updater's side

    def target(self) -> UpdateTarget | None:
        data = read_json(self.kiosk_dir / "target.json")
        try:
            return UpdateTarget.model_validate(data) if data is not None else None
        except ValidationError:
            return None

    def drained(self) -> bool:
        return (self.kiosk_dir / "drained").exists()

    def ready(self) -> str:
        try:
            return (self.kiosk_dir / "ready").read_text()[:40]
        except OSError:
            return ""

    def request(self, version: str | None) -> None:
        path = self.updater_dir / "request.json"
        if version is None:
            path.unlink(missing_ok=True)
        elif not path.exists():
            write_whole(path, json.dumps({"version": version}).encode())

    def write_report(self, report: UpdateReport) -> None:
        path = self.updater_dir / "report.json"
        data = report.model_dump_json().encode()
        if read_json(path) != json.loads(data):
            write_whole(path, data)
