"""A booted kiosk image in QEMU, driven from the host as a technician and a citizen would.

The guest boots the image (``make image``) through UEFI firmware, on a copy-on-write
overlay so that the image itself stays pristine.  What it is given is what a kiosk PC
has: a 1080x1920 display (QEMU's VGA with that mode in its EDID), an absolute pointing
device for the touch panel (virtio tablet: libinput → cage → Qt), COM1 as the console
log, COM2 and COM3 wired to the host's serial emulators (pty pairs), a network on which
the host is 10.0.2.2 (QEMU's user networking: only this machine's loopback is reached),
and the enrolment disk.  The host reaches in only through ports it forwards (the guest's
vpcd, for the virtual e-KTP and SAM) and two sockets of QEMU's own: QMP (the machine:
screen dumps, input events, power) and the guest agent (commands in the guest, the way
a technician's shell would run them).

    guest = Guest(image, workdir, ...); guest.start(); guest.wait_for(...); guest.kill()
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
PANEL = (1080, 1920)
ABS_MAX = 0x7FFF  # QEMU's absolute axis range


class GuestError(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(cond: Callable[[], Any], timeout: float, what: str, every: float = 0.5) -> Any:
    """``cond()``'s first true value before ``timeout`` seconds, or GuestError naming
    ``what`` (a condition with a deadline, polled: the guest has no way to call us)."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise GuestError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


class _JsonSocket:
    """A line-oriented JSON peer on a UNIX socket (QMP and the guest agent both are)."""

    def __init__(self, path: Path, timeout: float) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.buf = b""

    def send(self, msg: dict[str, Any]) -> None:
        self.sock.sendall(json.dumps(msg).encode() + b"\n")

    def recv(self) -> dict[str, Any]:
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise GuestError("the peer closed the socket")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        line = line.strip(b"\xff \r")
        if not line:
            return self.recv()
        return dict(json.loads(line))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class Qmp(_JsonSocket):
    def __init__(self, path: Path) -> None:
        super().__init__(path, 30)
        self.recv()  # the greeting
        self.execute("qmp_capabilities")

    def execute(self, command: str, **arguments: Any) -> Any:
        self.send({"execute": command, **({"arguments": arguments} if arguments else {})})
        while True:
            reply = self.recv()
            if "event" in reply:
                continue
            if "error" in reply:
                raise GuestError(f"QMP {command}: {reply['error'].get('desc')}")
            return reply.get("return")


@dataclass
class Result:
    code: int
    out: str
    err: str


class GuestAgent:
    """Commands in the guest through qemu-guest-agent (guest-exec), over one connection:
    QEMU's socket chardev serves one client at a time and refuses the next while the
    last is being closed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.peer: _JsonSocket | None = None

    def _session(self, timeout: float) -> _JsonSocket:
        if self.peer is not None:
            self.peer.sock.settimeout(timeout)
            return self.peer
        peer = _JsonSocket(self.path, timeout)
        token = int.from_bytes(os.urandom(4), "big") & 0x7FFFFFFF
        # guest-sync-delimited: an agent that restarted may have half a reply buffered.
        try:
            peer.send({"execute": "guest-sync-delimited", "arguments": {"id": token}})
            while peer.recv().get("return") != token:
                pass
        except BaseException:
            peer.close()
            raise
        self.peer = peer
        return peer

    def close(self) -> None:
        if self.peer is not None:
            self.peer.close()
            self.peer = None

    def call(self, command: str, timeout: float = 10, **arguments: Any) -> Any:
        try:
            peer = self._session(timeout)
            peer.send({"execute": command, **({"arguments": arguments} if arguments else {})})
            reply = peer.recv()
        except (OSError, ValueError, GuestError):
            self.close()  # the next call starts a new connection (and a new sync)
            raise
        if "error" in reply:
            raise GuestError(f"guest agent {command}: {reply['error'].get('desc')}")
        return reply.get("return")

    def ping(self) -> bool:
        try:
            self.call("guest-ping", timeout=3)
            return True
        except (OSError, GuestError, ValueError):
            return False

    def run(self, *argv: str, timeout: float = 60, input: str | None = None) -> Result:
        args: dict[str, Any] = {"path": argv[0], "arg": list(argv[1:]), "capture-output": True}
        if input is not None:
            args["input-data"] = base64.b64encode(input.encode()).decode()
        pid = self.call("guest-exec", **args)["pid"]
        status = wait_until(
            lambda: (s := self.call("guest-exec-status", pid=pid)) and s.get("exited") and s,
            timeout,
            f"{' '.join(argv)} in the guest",
            every=0.2,
        )

        def text(key: str) -> str:
            return base64.b64decode(status.get(key, "")).decode(errors="replace")

        return Result(int(status.get("exitcode", -1)), text("out-data"), text("err-data"))

    def sh(self, script: str, timeout: float = 60) -> Result:
        return self.run("/bin/sh", "-c", script, timeout=timeout)


@dataclass
class Guest:
    image: Path
    workdir: Path
    serial: dict[str, Path] = field(default_factory=dict)  # "fingerprint"/"qr" → pty
    forwards: dict[int, int] = field(default_factory=dict)  # guest port → host port
    disks: list[Path] = field(default_factory=list)  # read-only extra disks (enrolment)
    memory: str = "2048"
    accel: str = "tcg"
    # "unsafe" ignores the guest's flushes (fast; the boot tests' default); "writeback"
    # honours them as a disk's write cache does, so a power cut (QEMU killed) loses only
    # what the guest had not flushed: the update test's power cuts run with it.
    cache: str = "unsafe"
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    _agent: GuestAgent | None = None

    @property
    def overlay(self) -> Path:
        return self.workdir / "disk.qcow2"

    @property
    def console_log(self) -> Path:
        return self.workdir / "console.log"

    def fresh_disk(self) -> None:
        """A new copy-on-write overlay on the image (and new firmware variables)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.overlay.unlink(missing_ok=True)
        subprocess.run(
            [
                "qemu-img",
                "create",
                "-q",
                "-f",
                "qcow2",
                "-F",
                "raw",
                "-b",
                str(self.image.resolve()),
                str(self.overlay),
            ],
            check=True,
        )
        shutil.copy(OVMF_VARS, self.workdir / "vars.fd")

    def argv(self) -> list[str]:
        w = self.workdir
        fwd = ",".join(
            f"hostfwd=tcp:127.0.0.1:{host}-:{guest}" for guest, host in self.forwards.items()
        )
        argv = [
            "qemu-system-x86_64",
            "-machine", "q35",
            "-accel", self.accel,
            "-cpu", "max" if self.accel == "tcg" else "host",
            "-smp", "2",
            "-m", self.memory,
            "-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
            "-drive", f"if=pflash,format=raw,file={w / 'vars.fd'}",
            "-drive", f"file={self.overlay},format=qcow2,if=virtio,cache={self.cache}",
            "-netdev", "user,id=n0" + (f",{fwd}" if fwd else ""),
            "-device", "virtio-net-pci,netdev=n0",
            "-device", f"virtio-gpu-pci,xres={PANEL[0]},yres={PANEL[1]},edid=on",
            "-device", "virtio-tablet-pci,id=touch",
            "-chardev", f"file,id=con,path={self.console_log}",
            "-serial", "chardev:con",
            "-device", "virtio-serial-pci",
            "-chardev", f"socket,id=qga,path={w / 'qga.sock'},server=on,wait=off",
            "-device", "virtserialport,chardev=qga,name=org.qemu.guest_agent.0",
            "-qmp", f"unix:{w / 'qmp.sock'},server=on,wait=off",
            "-display", "none",
            "-nodefaults",
        ]  # fmt: skip
        for name in ("fingerprint", "qr"):
            if name in self.serial:
                argv += ["-chardev", f"serial,id={name},path={self.serial[name]}"]
                argv += ["-serial", f"chardev:{name}"]
            else:
                argv += ["-serial", "null"]
        for disk in self.disks:
            argv += ["-drive", f"file={disk},format=raw,if=virtio,readonly=on"]
        return argv

    def start(self) -> None:
        if not self.overlay.exists():
            self.fresh_disk()
        for sock in ("qga.sock", "qmp.sock"):
            (self.workdir / sock).unlink(missing_ok=True)
        self.console_log.write_bytes(b"")
        if self._agent is not None:
            self._agent.close()
            self._agent = None
        self.started_at = time.monotonic()
        with open(self.workdir / "qemu.log", "ab") as log:
            self.proc = subprocess.Popen(
                self.argv(), stdout=log, stderr=log, start_new_session=True
            )
        wait_until(
            lambda: (self.workdir / "qmp.sock").exists() or self._died(),
            30,
            "QEMU's monitor socket",
            every=0.05,
        )
        if self._died():
            raise GuestError(f"QEMU exited: {(self.workdir / 'qemu.log').read_text()[-2000:]}")

    def _died(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    @property
    def agent(self) -> GuestAgent:
        if self._agent is None:
            self._agent = GuestAgent(self.workdir / "qga.sock")
        return self._agent

    def qmp(self) -> Qmp:
        return Qmp(self.workdir / "qmp.sock")

    def wait_agent(self, timeout: float = 300) -> float:
        """Seconds from start until the guest agent answers (userspace is up)."""
        wait_until(lambda: self._died() or self.agent.ping(), timeout, "the guest agent", 1.0)
        if self._died():
            raise GuestError("QEMU exited during boot")
        return time.monotonic() - self.started_at

    def kill(self) -> None:
        """Power cut: QEMU killed, nothing in the guest flushed or closed."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.proc = None

    def shutdown(self, timeout: float = 90) -> None:
        """An orderly power-off (systemd's), then QEMU gone either way."""
        if self.proc is None:
            return
        with contextlib.suppress(GuestError, OSError):
            self.qmp().execute("system_powerdown")
            self.proc.wait(timeout=timeout)
        self.kill()

    def screendump(self, path: Path) -> Path:
        """The display as QEMU shows it (PNG)."""
        path.unlink(missing_ok=True)
        q = self.qmp()
        try:
            q.execute("screendump", filename=str(path.resolve()), format="png")
        finally:
            q.close()
        return path

    def touch(self, x: int, y: int) -> None:
        """A tap at panel pixel (x, y): the tablet's absolute position, then the button
        pressed and released (what a touch panel's controller reports as a pointer)."""
        ax = round(x * ABS_MAX / (PANEL[0] - 1))
        ay = round(y * ABS_MAX / (PANEL[1] - 1))
        q = self.qmp()
        try:
            move = [
                {"type": "abs", "data": {"axis": "x", "value": ax}},
                {"type": "abs", "data": {"axis": "y", "value": ay}},
            ]
            q.execute("input-send-event", events=move)
            press = {"type": "btn", "data": {"down": True, "button": "left"}}
            q.execute("input-send-event", events=[press])
            release = {"type": "btn", "data": {"down": False, "button": "left"}}
            q.execute("input-send-event", events=[release])
        finally:
            q.close()
