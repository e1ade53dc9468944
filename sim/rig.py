"""The simulated hardware rig: pcscd+vpcd, a private D-Bus, two ippeveprinters and a private cupsd.

Every process runs detached from the caller (its own session), writes its pid under the
rig directory and logs under ``DIR/log``, so ``adm-sim rig up`` can return and a later
``rig down`` or ``rig status`` finds the processes again.  ``up`` is idempotent: a
component whose process is alive and ready is left alone.  The system cupsd is never
touched: clients reach the private one through ``CUPS_SERVER=DIR/cups/cups.sock``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

DEFAULT_DIR = Path("/tmp/adm-sim")
# vpcd listens on VPCD_PORT (the e-KTP slot) and VPCD_PORT + 1 (the SAM slot).  Every
# rig port sits below the kernel's ephemeral range (32768-60999): a port inside it can be
# taken by any outgoing connection while pcscd is down, and a card retrying to connect
# can even connect to itself, after which pcscd cannot bind it ("Address already in use").
VPCD_PORT = 16660  # and 16661; PostgreSQL for tests and benches uses 16640 and 16650
CUPS_PORT = 16631


@dataclass(frozen=True)
class PrinterSpec:
    """One simulated printer: its CUPS queue name, IPP port, what it prints on, and the
    supply it starts with (name, IPP marker type, colour, level %)."""

    queue: str
    port: int
    model: str
    page_size: str
    supply: tuple[str, str, str, int]


PRINTERS = (
    PrinterSpec(
        "adm-a4", 16632, "ADM Simulated A4 Laser", "A4", ("Black Toner", "toner", "#000000", 80)
    ),
    PrinterSpec(
        "adm-card",
        16633,
        "ADM Simulated CR80 Card Printer",
        "A4",
        ("YMCKO Ribbon", "ink-ribbon", "#000000", 90),
    ),
)

# The simulated printer's "print" command: reports the supply file's levels to the
# printer (ippeveprinter reads ATTR:/STATE: lines on stderr, parsed like CUPS options,
# hence the quotes around a name with spaces), then prints nothing.
PRINT_COMMAND = """#!/bin/sh
supply="$(dirname "$0")/../supplies/$(basename "$0")"
IFS=, read -r name kind colour level < "$supply"
echo "ATTR: marker-names='$name'" >&2
echo "ATTR: marker-types=$kind" >&2
echo "ATTR: marker-colors=$colour" >&2
echo "ATTR: marker-levels=$level" >&2
if [ "$level" -le 0 ]; then echo "STATE: +toner-empty -toner-low" >&2
elif [ "$level" -lt 10 ]; then echo "STATE: +toner-low -toner-empty" >&2
else echo "STATE: -toner-low -toner-empty" >&2; fi
exit 0
"""


class RigError(RuntimeError):
    """A rig component could not be started or is missing a program."""


def rig_dir() -> Path:
    """Where the rig keeps its state: ``ADM_SIM_DIR`` or ``/tmp/adm-sim``."""
    return Path(os.environ.get("ADM_SIM_DIR", str(DEFAULT_DIR)))


def _listening_ports() -> set[int]:
    """TCP ports in LISTEN state, read from /proc (connecting would 'insert a card' on vpcd)."""
    ports: set[int] = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == "0A":
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _vpcd_ports_free() -> bool:
    """Can a new pcscd's vpcd bind both slot ports (as vpcd does, without SO_REUSEADDR)?"""
    for port in (VPCD_PORT, VPCD_PORT + 1):
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return False
        finally:
            probe.close()
    return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); it is not running.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait(cond: Callable[[], bool], timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    tail = ""
    if log is not None and log.exists():
        tail = "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
    raise RigError(f"{what} not ready after {timeout:.0f} s{tail}")


class Rig:
    """Start, stop and inspect the simulated rig under one directory."""

    def __init__(self, directory: Path | None = None, *, port_offset: int = 0) -> None:
        """``port_offset`` moves CUPS and the printers to ports of their own, for a
        private print stack (``up_printing``) beside the shared rig."""
        self.dir = (directory or rig_dir()).resolve()
        self.cups_port = CUPS_PORT + port_offset
        self.printers = tuple(replace(p, port=p.port + port_offset) for p in PRINTERS)
        self.log_dir = self.dir / "log"
        self.run_dir = self.dir / "run"
        self.cups_dir = self.dir / "cups"
        self.dbus_socket = self.dir / "dbus.sock"
        self.dev_dir = self.dir / "dev"

    # --- serial devices (emulators on pty pairs, sim/serial_devices.py) -----------------
    SERIAL: ClassVar[dict[str, int]] = {"fingerprint": 57600, "qr": 115200}  # baud

    def serial_link(self, name: str) -> Path:
        """The stable path the kiosk opens for the serial device ``name``."""
        return self.dev_dir / name

    def serial_control(self, name: str) -> Path:
        return self.dev_dir / f"{name}.ctl"

    def _up_serial(self, name: str) -> None:
        if self._pid(name) is not None and self.serial_control(name).exists():
            return
        self._stop(name)
        argv = [
            sys.executable,
            "-m",
            "sim.serial_devices",
            name,
            "--link",
            str(self.serial_link(name)),
            "--control",
            str(self.serial_control(name)),
            "--baud",
            str(self.SERIAL[name]),
        ]
        self._spawn(name, argv)
        _wait(
            lambda: self.serial_control(name).exists() and self.serial_link(name).exists(),
            10,
            f"the {name} emulator",
            self.log_dir / f"{name}.log",
        )

    def serial(self, name: str, **command: object) -> None:
        """Send ``command`` to the ``name`` emulator; returns once it is applied."""
        from sim.serial_devices import send_control

        if not self.serial_control(name).exists():
            raise RigError(f"the {name} emulator is not running (adm-sim rig up)")
        reply = send_control(self.serial_control(name), dict(command))
        if reply != "ok":
            raise RigError(f"{name}: {reply}")

    # --- paths clients need -------------------------------------------------------------
    @property
    def cups_socket(self) -> Path:
        return self.cups_dir / "cups.sock"

    def spool_dir(self, queue: str) -> Path:
        """Where the simulated printer behind ``queue`` keeps each job's document ("paper")."""
        return self.dir / "spool" / queue

    def printed_since(self, queue: str, since_ns: int) -> list[Path]:
        """Documents the printer behind ``queue`` kept since ``since_ns`` (time.time_ns()),
        oldest first.  By time, not name: a restarted printer reuses its job numbers, and
        so its file names."""
        files = [p for p in self.spool_dir(queue).glob("*.pdf") if p.stat().st_mtime_ns >= since_ns]
        return sorted(files, key=lambda p: p.stat().st_mtime_ns)

    def printer(self, queue: str) -> PrinterSpec:
        for spec in self.printers:
            if spec.queue == queue:
                return spec
        raise RigError(f"no simulated printer for queue {queue!r}")

    def set_paper(self, queue: str, sheets: int) -> None:
        """Load ``sheets`` sheets (0 = out of paper) into the simulated printer's main tray.

        Every tray must be named in the request: ippeveprinter treats a tray left out as
        empty, and the by-pass tray (level3) is left at its 25-sheet capacity."""
        import urllib.request

        port = self.printer(queue).port
        url = (
            f"http://localhost:{port}/media?size1=iso_a4_210x297mm&type1=stationery"
            f"&level1={sheets}&level3=25"
        )
        with urllib.request.urlopen(url, timeout=10) as resp:
            if resp.status != 200:
                raise RigError(f"{queue}: media update answered {resp.status}")

    def set_supply(self, queue: str, level: int) -> None:
        """Set the printer's toner (or ribbon) level in percent; the printer reports it to
        CUPS with its next job, as a real one does."""
        name, kind, colour, _ = self.printer(queue).supply
        path = self.dir / "supplies" / queue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{name},{kind},{colour},{int(level)}\n")

    def stop_printer(self, queue: str) -> bool:
        """Kill the simulated printer behind ``queue`` (a printer switched off or dead)."""
        name = f"printer-{queue}"
        pid = self._pid(name)
        if pid is None:
            return False
        # The whole process group: a print command still running for a job (waiting for
        # paper) would otherwise outlive the printer holding its inherited IPP socket, and
        # the printer could not start again on its port.
        os.killpg(pid, signal.SIGKILL)
        _wait(lambda: not _pid_alive(pid), 5, f"{name} exit")
        _wait(lambda: self.printer(queue).port not in _listening_ports(), 5, f"{name} port")
        (self.run_dir / f"{name}.pid").unlink(missing_ok=True)
        return True

    def start_printer(self, queue: str) -> None:
        """Start the simulated printer behind ``queue`` again (no-op when it runs)."""
        self._up_dbus()
        self._up_printer(self.printer(queue))

    def env(self) -> dict[str, str]:
        """Environment variables that point clients (lp, pycups, the kiosk) at this rig."""
        return {"CUPS_SERVER": str(self.cups_socket), "ADM_SIM_DIR": str(self.dir)}

    # --- process bookkeeping ------------------------------------------------------------
    def _pid(self, name: str) -> int | None:
        path = self.run_dir / f"{name}.pid"
        try:
            pid = int(path.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _pid_alive(pid) else None

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> int:
        exe = shutil.which(argv[0])
        if exe is None:
            raise RigError(f"{argv[0]} is not installed (run scripts/setup.sh as root)")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(
                [exe, *argv[1:]],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        (self.run_dir / f"{name}.pid").write_text(f"{proc.pid}\n")
        return proc.pid

    def _stop(self, name: str, timeout: float = 5.0) -> bool:
        pid = self._pid(name)
        if pid is None:
            (self.run_dir / f"{name}.pid").unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        (self.run_dir / f"{name}.pid").unlink(missing_ok=True)
        return True

    # --- components ---------------------------------------------------------------------
    def _foreign_pcscd(self) -> list[int]:
        """pcscd processes not started by this rig (there can be one per machine)."""
        ours = self._pid("pcscd")
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) == ours:
                continue
            try:
                comm = (proc / "comm").read_text().strip()
            except OSError:
                continue
            if comm == "pcscd" and _pid_alive(int(proc.name)):
                found.append(int(proc.name))
        return found

    def _up_pcscd(self) -> None:
        if self._pid("pcscd") and VPCD_PORT in _listening_ports():
            return
        if self._pid("pcscd"):  # ours, but its vpcd could not bind: start it afresh
            self._stop("pcscd")
        foreign = self._foreign_pcscd()
        if foreign:
            if VPCD_PORT in _listening_ports():
                return  # a pcscd with the vpcd driver already serves the virtual reader
            raise RigError(
                f"pcscd is already running (pid {foreign[0]}) without the vpcd reader; "
                "stop it first: there is one pcscd per machine"
            )
        conf = self.dir / "pcsc.d"
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "vpcd").write_text(
            'FRIENDLYNAME "Virtual PCD"\n'
            f"DEVICENAME   /dev/null:0x{VPCD_PORT:04X}\n"
            "LIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so\n"
            f"CHANNELID    0x{VPCD_PORT:04X}\n"
        )
        run = Path("/run/pcscd")
        run.mkdir(parents=True, exist_ok=True)
        # After a crash pcscd's own pid file survives, and pcscd refuses to start while the
        # pid in it answers kill(0), which a not-yet-reaped (zombie) process still does.
        try:
            old = int((run / "pcscd.pid").read_bytes().replace(b"\0", b"").strip() or b"0")
        except (OSError, ValueError):
            old = 0
        if old and not _pid_alive(old):
            (run / "pcscd.pid").unlink(missing_ok=True)
            (run / "pcscd.comm").unlink(missing_ok=True)
        _wait(_vpcd_ports_free, 70, "the vpcd ports to be free (sockets of a killed pcscd)")
        self._spawn("pcscd", ["pcscd", "-f", "-c", str(conf)])
        _wait(
            lambda: VPCD_PORT in _listening_ports(),
            10,
            "pcscd (vpcd port)",
            self.log_dir / "pcscd.log",
        )

    def _up_dbus(self) -> None:
        if self._pid("dbus") and self.dbus_socket.exists():
            return
        self.dbus_socket.unlink(missing_ok=True)
        self._spawn(
            "dbus",
            [
                "dbus-daemon",
                "--session",
                "--nofork",
                "--nopidfile",
                f"--address=unix:path={self.dbus_socket}",
            ],
        )
        _wait(self.dbus_socket.exists, 10, "dbus-daemon", self.log_dir / "dbus.log")

    def _up_printer(self, spec: PrinterSpec) -> None:
        name = f"printer-{spec.queue}"
        if self._pid(name) and spec.port in _listening_ports():
            return
        if spec.port in _listening_ports():
            raise RigError(f"port {spec.port} for {spec.queue} is taken by another process")
        spool = self.spool_dir(spec.queue)
        spool.mkdir(parents=True, exist_ok=True)
        command = self.dir / "bin" / spec.queue
        command.parent.mkdir(parents=True, exist_ok=True)
        command.write_text(PRINT_COMMAND)
        command.chmod(0o755)
        if not (self.dir / "supplies" / spec.queue).exists():
            self.set_supply(spec.queue, spec.supply[3])
        self._spawn(
            name,
            [
                "ippeveprinter",
                "-r",
                "off",
                "-n",
                "localhost",
                "-p",
                str(spec.port),
                "-d",
                str(spool),
                "-k",
                "-f",
                "application/pdf",
                "-c",
                str(command),
                "-M",
                "ADM",
                "-m",
                spec.model,
                spec.queue,
            ],
            env={"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={self.dbus_socket}"},
        )
        _wait(
            lambda: spec.port in _listening_ports(),
            15,
            f"ippeveprinter {spec.queue}",
            self.log_dir / f"{name}.log",
        )

    def _write_cups_config(self) -> None:
        d = self.cups_dir
        for sub in ("etc", "cache", "state", "spool"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        tmp = d / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        tmp.chmod(0o1777)  # filters run as lp and write here
        (d / "etc" / "cupsd.conf").write_text(
            f"""LogLevel warn
MaxLogSize 0
Listen 127.0.0.1:{self.cups_port}
Listen {self.cups_socket}
Browsing No
WebInterface No
DefaultAuthType None
MaxJobs 0
PreserveJobHistory Yes
PreserveJobFiles No
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy default>
  JobPrivateAccess all
  JobPrivateValues none
  SubscriptionPrivateAccess all
  SubscriptionPrivateValues none
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
"""
        )
        (d / "etc" / "cups-files.conf").write_text(
            f"""ServerRoot {d / "etc"}
RequestRoot {d / "spool"}
CacheDir {d / "cache"}
StateDir {d / "state"}
TempDir {tmp}
ErrorLog {self.log_dir / "cupsd-error.log"}
AccessLog {self.log_dir / "cupsd-access.log"}
PageLog {self.log_dir / "cupsd-page.log"}
FileDevice No
Sandboxing Relaxed
"""
        )

    def _up_cupsd(self) -> None:
        if (
            self._pid("cupsd")
            and self.cups_socket.exists()
            and self.cups_port in _listening_ports()
        ):
            return
        self._write_cups_config()
        self.cups_socket.unlink(missing_ok=True)
        etc = self.cups_dir / "etc"
        self._spawn(
            "cupsd",
            ["cupsd", "-f", "-c", str(etc / "cupsd.conf"), "-s", str(etc / "cups-files.conf")],
        )
        _wait(
            lambda: self.cups_socket.exists() and self.cups_port in _listening_ports(),
            15,
            "cupsd",
            self.log_dir / "cupsd-error.log",
        )

    def _lp(self, *argv: str) -> subprocess.CompletedProcess[str]:
        exe = shutil.which(argv[0])
        if exe is None:
            raise RigError(f"{argv[0]} is not installed (run scripts/setup.sh as root)")
        return subprocess.run(
            [exe, *argv[1:]],
            env={**os.environ, **self.env()},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def _queues(self) -> set[str]:
        out = self._lp("lpstat", "-p")
        return {line.split()[1] for line in out.stdout.splitlines() if line.startswith("printer ")}

    def _up_queues(self) -> None:
        existing = self._queues()
        for spec in self.printers:
            if spec.queue in existing:
                continue
            uri = f"ipp://localhost:{spec.port}/ipp/print"
            res = self._lp(
                "lpadmin",
                "-p",
                spec.queue,
                "-E",
                "-v",
                uri,
                "-m",
                "everywhere",
                "-o",
                f"PageSize={spec.page_size}",
            )
            if res.returncode != 0:
                raise RigError(f"lpadmin {spec.queue}: {res.stderr.strip() or res.stdout.strip()}")

    def stop_pcscd(self, *, hard: bool = False) -> bool:
        """Stop pcscd (``hard``: SIGKILL, as a crash).  The virtual card and SAM are taken
        out first: a pcscd that dies holding their TCP connections leaves its vpcd ports
        in FIN-WAIT/TIME-WAIT for a minute, and the next pcscd cannot bind them (vpcd sets
        no SO_REUSEADDR).  For the kiosk it is the same: its PC/SC context dies with pcscd
        and the card is gone."""
        self.remove_card()
        self._stop("sam")
        pid = self._pid("pcscd")
        if pid is None:
            return False
        if not hard:
            return self._stop("pcscd")
        os.kill(pid, signal.SIGKILL)
        _wait(lambda: not _pid_alive(pid), 5, "pcscd exit")
        return True

    def restart_pcscd(self) -> None:
        """Kill pcscd hard and start it again (what a crash and a watchdog restart do),
        the SAM back in its slot."""
        self.stop_pcscd(hard=True)
        self._up_pcscd()
        self.insert_sam()

    # --- virtual e-KTP and SAM ----------------------------------------------------------
    def _spawn_card(self, name: str, port: int, args: list[str], timeout: float) -> int:
        import sys

        ready = self.run_dir / f"{name}.ready"
        ready.unlink(missing_ok=True)
        argv = [
            sys.executable,
            "-m",
            "drivers.card.vicc",
            *args,
            "--port",
            str(port),
            "--ready-file",
            str(ready),
        ]
        pid = self._spawn(name, argv)
        _wait(ready.exists, timeout, f"virtual {name}", self.log_dir / f"{name}.log")
        return pid

    def insert_card(
        self,
        nik: str,
        *,
        fault: str = "",
        pull_after: int = 0,
        delay_ms: int = 0,
        t0: bool = False,
        timeout: float = 10.0,
    ) -> int:
        """Put demo citizen ``nik``'s virtual e-KTP (with an optional fault) on the reader;
        ``t0``: a chip that answers with 61xx/6Cxx as T=0 chips do."""
        from sim.cards import issue

        self.remove_card()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        image = issue(nik, fault=fault, pull_after=pull_after, delay_ms=delay_ms)
        if self.serial_control("fingerprint").exists():
            # The finger "holder" on the emulated module is this card's holder's.
            self.serial("fingerprint", holder=nik)
        image.t0 = t0
        path = self.run_dir / "card.json"
        path.write_text(image.to_json())
        path.chmod(0o600)
        pid = self._spawn_card("card", VPCD_PORT, ["--image", str(path)], timeout)
        try:
            # pcscd reports a card within half a second; one it has not seen after a few
            # is re-seated rather than waited for to the end.
            self._await_slot(present=True, timeout=min(timeout, 3.0))
        except RigError:
            # Seen right after a pcscd restart: vpcd accepted the card's connection but
            # pcscd never reported it.  Re-seat the card once, as a hand would.
            with open(self.log_dir / "card.log", "a") as log:
                log.write("rig: pcscd did not see the card; re-seating it\n")
            self._stop("card")
            self._await_slot(present=False, timeout=5)
            pid = self._spawn_card("card", VPCD_PORT, ["--image", str(path)], timeout)
            self._await_slot(present=True, timeout=timeout)
        return pid

    def remove_card(self) -> bool:
        """Pull the virtual e-KTP out of the slot; False when there was none."""
        image = self.run_dir / "card.json"
        had_card = image.exists()  # also true for a card that already "fell off" (pulled)
        (self.run_dir / "card.ready").unlink(missing_ok=True)
        image.unlink(missing_ok=True)
        stopped = self._stop("card")
        if stopped or had_card:
            self._await_slot(present=False, timeout=5)
        return stopped

    def _await_slot(
        self, *, present: bool, timeout: float, reader: str = "Virtual PCD 00 00"
    ) -> None:
        """Wait until pcscd itself reports the card in (or out of) the e-KTP slot, so that
        a caller's next PC/SC call sees what was just done."""
        from drivers.card.base import ReaderState
        from drivers.card.pcsc import PcscReader

        want = ReaderState.PRESENT if present else ReaderState.EMPTY
        slot = PcscReader(reader)
        deadline = time.monotonic() + timeout
        try:
            state = ReaderState.UNAVAILABLE
            while state != want and time.monotonic() < deadline:
                state = slot.wait_for_change(state, min(0.5, deadline - time.monotonic()))
        finally:
            slot.close()
        if state != want and present:
            raise RigError(f"pcscd did not see the virtual card in {reader} within {timeout:.0f} s")

    def insert_sam(
        self, *, wrong_keys: bool = False, t0: bool = False, timeout: float = 10.0
    ) -> int:
        """Put the virtual SAM in the contact slot (with the wrong master key on request;
        ``t0``: a SAM that answers with 61xx/6Cxx)."""
        from sim.keys import SAM_MASTER_KEY, WRONG_MASTER_KEY

        if self._stop("sam"):
            # Let pcscd see the old SAM leave first; otherwise its "present" could be
            # mistaken for the new SAM's arrival.
            self._await_slot(present=False, timeout=5, reader="Virtual PCD 00 01")
        key = WRONG_MASTER_KEY if wrong_keys else SAM_MASTER_KEY
        args = ["--sam-key", key.hex(), *(["--t0"] if t0 else [])]
        pid = self._spawn_card("sam", VPCD_PORT + 1, args, timeout)
        self._await_slot(present=True, timeout=timeout, reader="Virtual PCD 00 01")
        return pid

    def _up_sam(self) -> None:
        if self._pid("sam") is None:
            self.insert_sam()

    # --- public operations --------------------------------------------------------------
    def up(self) -> None:
        """Start every component that is not already running, then create the queues."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self._up_pcscd()
        self._up_sam()
        self.up_printing()
        for name in self.SERIAL:
            self._up_serial(name)

    def up_printing(self) -> None:
        """Only the print stack: dbus for the printers, the printers, cupsd, the queues."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self._up_dbus()
        for spec in self.printers:
            self._up_printer(spec)
        self._up_cupsd()
        self._up_queues()

    def stop_cupsd(self) -> bool:
        """Kill cupsd outright (a power cut to the spooler; the printers keep running)."""
        pid = self._pid("cupsd")
        if pid is None:
            return False
        os.kill(pid, signal.SIGKILL)
        _wait(lambda: not _pid_alive(pid), 5, "cupsd exit")
        (self.run_dir / "cupsd.pid").unlink(missing_ok=True)
        return True

    def start_cupsd(self) -> None:
        """Start cupsd again on the same state (no-op when it runs)."""
        self._up_cupsd()

    def down(self) -> list[str]:
        """Stop everything the rig started (virtual cards first); return what was stopped."""
        stopped = []
        names = [
            "card",
            "sam",
            *self.SERIAL,
            "cupsd",
            *(f"printer-{p.queue}" for p in self.printers),
            "dbus",
            "pcscd",
        ]
        for name in names:
            if self._stop(name):
                stopped.append(name)
        if self._reap_backends():
            stopped.append("backends")
        return stopped

    def _reap_backends(self) -> int:
        """Kill CUPS backends left sending to this rig's printers.  A cupsd killed outright
        (``stop_cupsd``) orphans the ``ipp`` backend of a job in flight, which retries a
        stopped printer for ever; the next rig on these ports must not inherit it."""
        prefixes = tuple(f"ipp://localhost:{p.port}/".encode() for p in self.printers)
        killed = 0
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                argv0 = (proc / "cmdline").read_bytes().split(b"\0", 1)[0]
            except OSError:
                continue
            if argv0.startswith(prefixes):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(proc.name), signal.SIGKILL)
                    killed += 1
        return killed

    def status(self) -> dict[str, str]:
        """What runs and what does not, one line per component."""
        ports = _listening_ports()
        result: dict[str, str] = {}

        def line(name: str, ready: bool) -> str:
            pid = self._pid(name)
            if pid is None:
                return "stopped"
            return f"running (pid {pid})" if ready else f"starting or broken (pid {pid})"

        result["pcscd"] = line("pcscd", VPCD_PORT in ports)
        if result["pcscd"] == "stopped" and self._foreign_pcscd():
            result["pcscd"] = "running outside the rig"
        result["dbus"] = line("dbus", self.dbus_socket.exists())
        for spec in self.printers:
            result[f"printer {spec.queue}"] = line(f"printer-{spec.queue}", spec.port in ports)
        result["cupsd"] = line("cupsd", self.cups_socket.exists())
        if self._pid("cupsd"):
            queues = self._queues()
            for spec in self.printers:
                result[f"queue {spec.queue}"] = "present" if spec.queue in queues else "missing"
        result["sam"] = line("sam", (self.run_dir / "sam.ready").exists())
        for name in self.SERIAL:
            result[name] = line(name, self.serial_control(name).exists())
        card = self._pid("card")
        result["card"] = f"inserted (pid {card})" if card else "none"
        return result

    def is_up(self) -> bool:
        st = self.status()
        return all(v.startswith("running") or v == "present" for k, v in st.items() if k != "card")
