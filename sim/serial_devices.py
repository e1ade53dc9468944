"""Emulators of the kiosk's serial devices, each its own process on one end of a pty pair.

- ``fingerprint``: an optical fingerprint module of the R30x / ZFM / AS608 family,
  answering the packet protocol byte for byte (``drivers.fingerprint.packets``) with the
  module's nominal timings and the wire time of the configured baud rate.  Each scripted
  finger is somebody's: ``holder`` is the finger of the citizen named by ``holder`` (the
  rig names the holder of the card it puts on the reader), ``other`` a stranger's.  A
  ``Match`` compares the downloaded template with the templates of the finger on the
  sensor, so another card's templates fail where the holder's pass.  The emulator counts
  what a driver must never send (a packet that does not frame or check, a command cut
  into a download): ``{"report": true}`` answers the counts as JSON;
- ``qr``: a serial QR scanner that sends each code as one line.

The emulator opens a pty pair itself, keeps the master, and links the slave's path at a
stable place under the rig folder (``dev/fingerprint``, ``dev/qr``): the kiosk's driver
opens that path exactly as it opens ``/dev/ttyACM0``.  Unplugging closes the pair and
removes the link (the driver's reads fail as on a pulled USB cable); replugging makes a
new pair and links it at the same path.

Commands arrive on a Unix stream socket beside the link (``dev/NAME.ctl``): one JSON
object per connection, answered ``ok`` once applied, so a test or ``adm-sim finger
present holder`` knows the next packet meets the new state.  No serial library is used
here (the OS's pty and termios are enough).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import signal
import socket
import struct
import sys
import time
import tty
from pathlib import Path
from typing import Any

from drivers.fingerprint.packets import (
    DEFAULT_ADDRESS,
    TEMPLATE_SIZE,
    Code,
    FingerprintProtocolError,
    Instruction,
    Pid,
    SystemParameters,
    encode,
    read_packet,
)

# Nominal timings of the module family (seconds): imaging a finger, turning the image
# into features, comparing two buffers; a GenImg with nothing on the sensor answers fast.
CAPTURE = 0.30
NO_FINGER = 0.05
EXTRACT = 0.20
MATCH = 0.10
FINGERS = ("holder", "other", "none", "poor", "worn")
# Scores the module reports for the live finger against a template of that same finger
# (a worn finger scores low even against its own), and against anybody else's.
SCORES = {"holder": 182, "other": 176, "worn": 38}
NOT_ITS_TEMPLATE = 12
# Whose finger "other" is: a stranger to every demo card.
STRANGER = "3201019999990009"
FINGER_FAULTS = ("none", "silent", "checksum", "address", "slow")


def wire_time(n: int, baud: int) -> float:
    """Seconds ``n`` bytes take on the line (8N1: ten bits a byte)."""
    return n * 10 / baud


class PtyDevice:
    """One end of a pty pair linked at ``link``, and its control socket."""

    def __init__(self, link: Path, control: Path) -> None:
        self.link, self.control = link, control
        self.master: int | None = None
        self._slave: int | None = None
        self.link.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            control.unlink()
        self.ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ctl.bind(str(control))
        self.ctl.listen(8)

    def plug(self) -> None:
        if self.master is not None:
            return
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line editing, until the driver sets its own
        self.master, self._slave = master, slave
        tmp = self.link.with_name(self.link.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(os.ttyname(slave))
        tmp.replace(self.link)

    def unplug(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        for fd in (self.master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.master = self._slave = None

    def send(self, data: bytes) -> None:
        if self.master is not None:
            with contextlib.suppress(OSError):
                os.write(self.master, data)

    def commands(self, timeout: float) -> tuple[bytes, list[tuple[socket.socket, dict]]]:
        """Bytes from the driver and control commands, whatever came within ``timeout``."""
        fds: list[Any] = [self.ctl] + ([self.master] if self.master is not None else [])
        ready, _, _ = select.select(fds, [], [], timeout)
        data, commands = b"", []
        if self.master is not None and self.master in ready:
            try:
                data = os.read(self.master, 4096)
            except OSError:
                data = b""  # no driver has the port open: nothing to read
        if self.ctl in ready:
            conn, _ = self.ctl.accept()
            conn.settimeout(2)
            try:
                raw = conn.recv(65536)
                commands.append((conn, json.loads(raw.decode())))
            except (OSError, ValueError):
                conn.close()
        return data, commands

    def close(self) -> None:
        self.unplug()
        self.ctl.close()
        with contextlib.suppress(FileNotFoundError):
            self.control.unlink()


class FingerprintEmulator:
    def __init__(self, device: PtyDevice, baud: int, packet_size: int) -> None:
        self.device = device
        self.params = SystemParameters(0, 0x0009, 1000, 3, DEFAULT_ADDRESS, packet_size, baud)
        self.finger = "none"
        self.fault = "none"
        self.slow = 1.5
        self.buffer = b""
        self.live = ""  # the finger whose features are in buffer 1
        self.template = b""  # buffer 2
        self.download: bytearray | None = None  # a DownChar in progress
        self.holder = ""  # the NIK whose finger "holder" (and "worn") is
        self.packets = 0
        self.violations = 0  # packets a driver must never send (see the module docstring)

    def enrolled(self, finger: str) -> set[bytes]:
        """The character files of the finger on the sensor, as a module holds them after
        a download (the chip's record, zero-padded to the buffer): both index fingers of
        its owner."""
        from sim.cards import FINGER_LEFT_INDEX, FINGER_RIGHT_INDEX, minutiae_template

        owner = STRANGER if finger == "other" else self.holder
        if not owner:
            return set()
        return {
            minutiae_template(owner, f).ljust(TEMPLATE_SIZE, b"\0")
            for f in (FINGER_RIGHT_INDEX, FINGER_LEFT_INDEX)
        }

    def report(self) -> dict[str, int]:
        return {"packets": self.packets, "violations": self.violations}

    @property
    def baud(self) -> int:
        return self.params.baud

    def control(self, cmd: dict[str, Any]) -> None:
        if "holder" in cmd:
            holder = str(cmd["holder"])
            if holder and not (len(holder) == 16 and holder.isdigit()):
                raise ValueError("holder is a NIK of 16 digits")
            self.holder = holder
        if "finger" in cmd:
            if cmd["finger"] not in FINGERS:
                raise ValueError(f"finger is one of {', '.join(FINGERS)}")
            self.finger = cmd["finger"]
        if "fault" in cmd:
            if cmd["fault"] not in FINGER_FAULTS:
                raise ValueError(f"fault is one of {', '.join(FINGER_FAULTS)}")
            self.fault = cmd["fault"]
            self.slow = float(cmd.get("delay", self.slow))
        if cmd.get("unplug"):
            self.device.unplug()
            self.buffer = b""
        if cmd.get("replug"):
            self.device.plug()

    def received(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= 9:
            if self.buffer[:2] != b"\xef\x01":
                self.buffer = self.buffer[1:]  # resynchronise on the next header
                self.violations += 1
                continue
            length = struct.unpack(">H", self.buffer[7:9])[0]
            if len(self.buffer) < 9 + length:
                return
            raw, self.buffer = self.buffer[: 9 + length], self.buffer[9 + length :]
            time.sleep(wire_time(len(raw), self.baud))  # the bytes' time on the line
            try:
                packet = read_packet(_Reader(raw).read, self.params.address)
            except FingerprintProtocolError:
                self.download = None
                self.violations += 1
                self.answer(Code.PACKET_ERROR)
                continue
            self.packets += 1
            self.handle(packet.pid, packet.payload)

    def answer(self, code: int, extra: bytes = b"") -> None:
        if self.fault == "silent":
            return
        if self.fault == "slow":
            time.sleep(self.slow)
        address = self.params.address ^ (0xFF if self.fault == "address" else 0)
        packet = encode(Pid.ACK, bytes([code]) + extra, address)
        if self.fault == "checksum":
            packet = packet[:-1] + bytes([packet[-1] ^ 0x5A])
        time.sleep(wire_time(len(packet), self.baud))
        self.device.send(packet)

    def handle(self, pid: int, payload: bytes) -> None:
        if self.download is not None:
            if pid not in (Pid.DATA, Pid.END):
                self.download = None
                self.violations += 1
                self.answer(Code.DOWNLOAD_FAILED)
                return
            self.download += payload
            if pid == Pid.END:
                self.template, self.download = bytes(self.download), None
            return  # data packets are not acknowledged
        if pid != Pid.COMMAND or not payload:
            self.answer(Code.PACKET_ERROR)
            return
        instruction, args = payload[0], payload[1:]
        if instruction == Instruction.VFY_PWD:
            self.answer(Code.OK if args == b"\0\0\0\0" else Code.WRONG_PASSWORD)
        elif instruction == Instruction.READ_SYS_PARA:
            self.answer(Code.OK, self.params.encode())
        elif instruction == Instruction.GEN_IMG:
            if self.finger == "none":
                time.sleep(NO_FINGER)
                self.answer(Code.NO_FINGER)
            else:
                time.sleep(CAPTURE)
                self.live = self.finger
                self.answer(Code.OK)
        elif instruction == Instruction.IMG2TZ:
            time.sleep(EXTRACT)
            if self.live == "poor":
                self.answer(Code.DISORDERLY)
            elif not self.live:
                self.answer(Code.INVALID_IMAGE)
            else:
                self.answer(Code.OK)
        elif instruction == Instruction.DOWN_CHAR:
            self.download = bytearray()
            self.answer(Code.OK)
        elif instruction == Instruction.MATCH:
            time.sleep(MATCH)
            # The live finger's score against a template of that finger; another
            # finger's template (another card's) scores as a stranger's does.
            own = self.template in self.enrolled(self.live)
            score = SCORES.get(self.live, 0) if own else NOT_ITS_TEMPLATE
            if score >= 50:
                self.answer(Code.OK, struct.pack(">H", score))
            else:
                self.answer(Code.NO_MATCH, struct.pack(">H", score))
        else:
            self.answer(Code.PACKET_ERROR)


class QrEmulator:
    def __init__(self, device: PtyDevice, baud: int) -> None:
        self.device, self.baud = device, baud

    def control(self, cmd: dict[str, Any]) -> None:
        if cmd.get("unplug"):
            self.device.unplug()
        if cmd.get("replug"):
            self.device.plug()
        if "scan" in cmd:
            line = str(cmd["scan"]).encode("utf-8") + str(cmd.get("eol", "\r")).encode()
            self._send(line)
        if "raw" in cmd:
            self._send(bytes.fromhex(str(cmd["raw"])))

    def _send(self, data: bytes) -> None:
        time.sleep(wire_time(len(data), self.baud))
        self.device.send(data)

    def received(self, data: bytes) -> None:
        pass  # a scanner in its default mode takes no commands


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def read(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        self.pos += len(out)
        return out


def serve(kind: str, link: Path, control: Path, baud: int, packet_size: int) -> None:
    device = PtyDevice(link, control)
    emulator: FingerprintEmulator | QrEmulator = (
        FingerprintEmulator(device, baud, packet_size)
        if kind == "fingerprint"
        else QrEmulator(device, baud)
    )
    device.plug()
    stop = False

    def _stop(*_: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        while not stop:
            data, commands = device.commands(0.2)
            if data:
                emulator.received(data)
            for conn, cmd in commands:
                try:
                    emulator.control(cmd)
                    reply = b"ok\n"
                    if cmd.get("report") and isinstance(emulator, FingerprintEmulator):
                        reply = json.dumps(emulator.report()).encode() + b"\n"
                except (ValueError, TypeError) as exc:
                    reply = f"error: {exc}\n".encode()
                with contextlib.suppress(OSError):
                    conn.sendall(reply)
                conn.close()
    finally:
        device.close()


def send_control(control: Path, command: dict[str, Any], timeout: float = 10.0) -> str:
    """Send one command to an emulator and wait until it is applied; its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(control))
        s.sendall(json.dumps(command).encode())
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
    return reply.decode().strip()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sim.serial_devices")
    p.add_argument("kind", choices=["fingerprint", "qr"])
    p.add_argument("--link", type=Path, required=True)
    p.add_argument("--control", type=Path, required=True)
    p.add_argument("--baud", type=int, default=57600)
    p.add_argument("--packet-size", type=int, default=128)
    args = p.parse_args(argv)
    serve(args.kind, args.link, args.control, args.baud, args.packet_size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
