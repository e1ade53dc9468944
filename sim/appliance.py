"""The host around a booted kiosk image: what a real kiosk meets, simulated outside it.

- the central server (``adm-server serve``, a real one: it does not accept simulated
  kiosks) on the host's loopback, with the demo population, its certificate naming
  10.0.2.2 (the host as QEMU's user network shows it to the guest);
- the rig's two ippeveprinters (A4 and CR80), which the guest's CUPS reaches over IPP;
- a fingerprint module and a QR scanner emulator on pty pairs, the guest's COM2/COM3;
- the virtual SAM and e-KTP as vpcd clients, through ports QEMU forwards to the guest;
- an e-KTP issuer key made for this run (the kiosk in production mode refuses the
  test issuer key), its public half on the enrolment disk;
- the enrolment disk: ``enrolment.toml`` with the server, the CA, the kiosk id, the
  printers and the devices, on a small FAT disk labelled ADM-ENROL.

The guest runs ``kiosk.mode = "production"`` and nothing in it names a simulator.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kiosk.technician import hash_pin
from sim.guest import Guest, GuestError, free_port, wait_until
from sim.rig import Rig

ROOT = Path(__file__).resolve().parent.parent
KIOSK_ID = "kiosk-boot-01"
TECHNICIAN_PIN = "482915"
VPCD_GUEST_PORT = 35963  # the e-KTP slot; the SAM's is the next
CARD_SERIALS = "KTP2612B000001..KTP2612B000100"
HOST = "10.0.2.2"  # the host, from inside QEMU's user network


def _both_exist(a: Path, b: Path) -> bool:
    return a.exists() and b.exists()


@dataclass
class Appliance:
    image: Path
    workdir: Path
    rig: Rig = field(default_factory=Rig)
    server_port: int = 0
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    vpcd_ports: tuple[int, int] = (0, 0)
    guest: Guest | None = None
    # The updater's health gate, the product's default (the update test's rollback waits
    # it out once).
    gate_seconds: int = int(os.environ.get("ADM_GATE_SECONDS", "300"))

    # --- paths --------------------------------------------------------------------------
    @property
    def home(self) -> Path:
        return self.workdir / "server-home"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.workdir / 'server.db'}"

    def _log(self, name: str) -> int:
        (self.workdir / "log").mkdir(parents=True, exist_ok=True)
        return os.open(self.workdir / "log" / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        self._stop(name)
        fd = self._log(name)
        try:
            proc = subprocess.Popen(argv, stdout=fd, stderr=fd, cwd=ROOT, start_new_session=True)
        finally:
            os.close(fd)
        self.procs[name] = proc
        return proc

    def _stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    # --- the central server -------------------------------------------------------------
    def server_cli(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "server.cli", "--home", str(self.home), "--db", self.db_url,
             *argv],
            capture_output=True, text=True, cwd=ROOT,
        )  # fmt: skip

    def start_server(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not (self.home / "ca.pem").exists():
            for argv in (
                ("pki", "init", "--hostname", HOST, "--hostname", "127.0.0.1"),
                ("migrate",),
            ):
                out = self.server_cli(*argv)
                if out.returncode != 0:
                    raise GuestError(f"adm-server {' '.join(argv)}: {out.stdout}{out.stderr}")
            seed = subprocess.run(
                [sys.executable, "-m", "sim.cli", "seed-demo", "--home", str(self.home),
                 "--db", self.db_url],
                capture_output=True, text=True, cwd=ROOT,
            )  # fmt: skip
            if seed.returncode != 0:
                raise GuestError(f"seed-demo: {seed.stdout}{seed.stderr}")
        self.server_port = self.server_port or free_port()
        self._spawn(
            "server",
            [sys.executable, "-m", "server.cli", "--home", str(self.home), "--db", self.db_url,
             "serve", "--host", "127.0.0.1", "--port", str(self.server_port)],
        )  # fmt: skip
        wait_until(self._server_up, 60, "the central server")

    def _server_up(self) -> bool:
        import ssl
        import urllib.request

        ctx = ssl.create_default_context(cafile=str(self.home / "ca.pem"))
        try:
            with urllib.request.urlopen(
                f"https://127.0.0.1:{self.server_port}/api/v1/health", context=ctx, timeout=2
            ) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def pending_request(self) -> tuple[str, str] | None:
        """(request id, fingerprint) of the kiosk's waiting certificate request."""
        out = self.server_cli("pki", "requests").stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[1] == KIOSK_ID and parts[2] == "pending":
                return parts[0], parts[-1]
        return None

    def sign(self, request: str, fingerprint: str) -> None:
        out = self.server_cli("pki", "sign-kiosk", request, "--fingerprint", fingerprint,
                              "--as", "boot-test")  # fmt: skip
        if out.returncode != 0:
            raise GuestError(f"pki sign-kiosk: {out.stdout}{out.stderr}")

    # --- the e-KTP issuer and the enrolment disk ----------------------------------------
    @property
    def issuer_key_file(self) -> Path:
        return self.workdir / "ektp-issuer.key"

    def issuer_key(self) -> ec.EllipticCurvePrivateKey:
        if not self.issuer_key_file.exists():
            key = ec.generate_private_key(ec.SECP256R1())
            self.issuer_key_file.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            self.issuer_key_file.chmod(0o600)
        loaded = serialization.load_pem_private_key(self.issuer_key_file.read_bytes(), None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        return loaded

    def enrolment_toml(self) -> str:
        a4 = self.rig.printer("adm-a4").port
        card = self.rig.printer("adm-card").port
        pin_hash = hash_pin(TECHNICIAN_PIN)
        return f"""\
# Enrolment of {KIOSK_ID} (the boot test's host)
[enrolment]
server = "https://{HOST}:{self.server_port}"
id = "{KIOSK_ID}"
ca = "ca.pem"
ektp_issuer = "ektp-issuer.pem"
wait = 900

[printers]
adm-a4 = "ipp://{HOST}:{a4}/ipp/print"
adm-card = "ipp://{HOST}:{card}/ipp/print"

[config]
"card.reader" = "Virtual PCD 00 00"
"card.sam_reader" = "Virtual PCD 00 01"
"fingerprint.backend" = "serial"
"fingerprint.port" = "/dev/adm-fingerprint"
"qr.backend" = "serial"
"qr.port" = "/dev/adm-qr"
"printer.card_serials" = "{CARD_SERIALS}"
"printer.job_memory" = 60
"technician.pin_hash" = "{pin_hash}"
"ui.voice" = "none"
"updates.gate_seconds" = {self.gate_seconds}
"""

    def enrolment_disk(self) -> Path:
        folder = self.workdir / "enrolment"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "enrolment.toml").write_text(self.enrolment_toml())
        (folder / "ca.pem").write_bytes((self.home / "ca.pem").read_bytes())
        pub = (
            self.issuer_key()
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        (folder / "ektp-issuer.pem").write_bytes(pub)
        disk = self.workdir / "enrolment.img"
        disk.unlink(missing_ok=True)
        with open(disk, "wb") as f:
            f.truncate(4 * 1024 * 1024)
        subprocess.run(["mkfs.vfat", "-n", "ADM-ENROL", str(disk)], check=True,
                       capture_output=True)  # fmt: skip
        for name in ("enrolment.toml", "ca.pem", "ektp-issuer.pem"):
            subprocess.run(["mcopy", "-i", str(disk), str(folder / name), "::"], check=True)
        return disk

    # --- serial devices, SAM, e-KTP -----------------------------------------------------
    def serial_link(self, name: str) -> Path:
        return self.workdir / "dev" / name

    def start_serial(self) -> None:
        (self.workdir / "dev").mkdir(parents=True, exist_ok=True)
        for name, baud in Rig.SERIAL.items():
            link, ctl = self.serial_link(name), self.workdir / "dev" / f"{name}.ctl"
            link.unlink(missing_ok=True)
            ctl.unlink(missing_ok=True)
            self._spawn(
                name,
                [sys.executable, "-m", "sim.serial_devices", name, "--link", str(link),
                 "--control", str(ctl), "--baud", str(baud)],
            )  # fmt: skip
            wait_until(partial(_both_exist, link, ctl), 15, f"the {name} emulator")

    def serial(self, name: str, **command: object) -> None:
        from sim.serial_devices import send_control

        reply = send_control(self.workdir / "dev" / f"{name}.ctl", dict(command))
        if reply != "ok":
            raise GuestError(f"{name}: {reply}")

    def insert_sam(self) -> None:
        from sim.keys import SAM_MASTER_KEY

        ready = self.workdir / "sam.ready"
        ready.unlink(missing_ok=True)
        self._spawn(
            "sam",
            [sys.executable, "-m", "drivers.card.vicc", "--sam-key", SAM_MASTER_KEY.hex(),
             "--port", str(self.vpcd_ports[1]), "--ready-file", str(ready)],
        )  # fmt: skip
        wait_until(ready.exists, 15, "the virtual SAM")

    def insert_card(self, nik: str) -> None:
        from sim.cards import issue

        image = issue(nik, issuer_key=self.issuer_key())
        path = self.workdir / "card.json"
        path.write_text(image.to_json())
        path.chmod(0o600)
        self.serial("fingerprint", holder=nik)
        ready = self.workdir / "card.ready"
        ready.unlink(missing_ok=True)
        self._spawn(
            "card",
            [sys.executable, "-m", "drivers.card.vicc", "--image", str(path),
             "--port", str(self.vpcd_ports[0]), "--ready-file", str(ready)],
        )  # fmt: skip
        wait_until(ready.exists, 15, "the virtual e-KTP")

    def remove_card(self) -> None:
        self._stop("card")
        (self.workdir / "card.json").unlink(missing_ok=True)

    # --- the guest ----------------------------------------------------------------------
    def prepare(self) -> Guest:
        """Everything on the host up, the guest defined (not started)."""
        self.rig.up()
        self.start_server()
        self.start_serial()
        self.vpcd_ports = (free_port(), free_port())
        self.guest = Guest(
            self.image,
            self.workdir / "guest",
            serial={n: self.serial_link(n) for n in ("fingerprint", "qr")},
            forwards={VPCD_GUEST_PORT: self.vpcd_ports[0],
                      VPCD_GUEST_PORT + 1: self.vpcd_ports[1]},
            disks=[self.enrolment_disk()],
            accel=os.environ.get("ADM_GUEST_ACCEL", "tcg"),
            cache=os.environ.get("ADM_GUEST_CACHE", "unsafe"),
        )  # fmt: skip
        return self.guest

    def journal(self, unit: str = "adm-kiosk", since_boot: bool = True) -> str:
        assert self.guest is not None
        args = ["journalctl", "--no-pager", "-o", "cat", "-u", unit]
        if since_boot:
            args.append("-b")
        return self.guest.agent.run(*args, timeout=60).out

    def unit(self, unit: str, *props: str) -> dict[str, str]:
        assert self.guest is not None
        out = self.guest.agent.run(
            "systemctl", "show", unit, *(f"--property={p}" for p in props)
        ).out
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def vpcd_listening(self) -> bool:
        assert self.guest is not None
        out = self.guest.agent.run("ss", "-Hltn").out
        return bool(re.search(rf":{VPCD_GUEST_PORT + 1}\b", out))

    def close(self) -> None:
        if self.guest is not None:
            self.guest.kill()
        for name in list(self.procs):
            self._stop(name)
