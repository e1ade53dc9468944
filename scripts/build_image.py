"""Build the kiosk appliance: a bootable Debian 12 disk image with the kiosk package.

    python scripts/build_image.py [--deb dist/adm-kiosk_V_amd64.deb] [--out dist]
                                  [--rig] [--root-size 3G] [--data-size 2G]
                                  [--version V] [--ca-dir dist/release-ca]

Why mmdebstrap and our own assembly rather than mkosi: mmdebstrap makes the root tree
from Debian's archive exactly as apt would (the package and its dependencies, nothing
else), runs without loop devices or a booted systemd, and is one small, stable Debian
tool; the disk is then laid out with sfdisk, ``mkfs.ext4 -d`` and mtools, all of which
work on a plain file.  mkosi 14 (bookworm's) wants loop devices and its configuration
format changed in every release since; what it would add here (partitioning, a
bootloader) is a dozen lines.

The disk (GPT, UEFI, systemd-boot), laid out for an A/B updater:

    1  adm-esp     256 MiB  vfat: systemd-boot, a boot entry and kernel per slot
    2  adm-root-a  3 GiB    ext4: the running system (slot A)
    3  adm-root-b  3 GiB    empty: the slot the next release is written into (RAUC)
    4  adm-data    2 GiB    ext4: what outlives a slot: /etc/adm (configuration, keys),
                            /var/lib/adm-kiosk (the store), /var/log/adm-kiosk, the
                            updater's folder and bundle cache, RAUC's slot status

The image is sparse: slot B and free space cost nothing until written.  ``--rig`` adds
what the test rig needs to reach the guest from its host: vsmartcard's vpcd (the
virtual reader that the host's virtual e-KTP and SAM connect to over the network: never
on a real kiosk) and the QEMU guest agent (how the boot test runs commands in the
guest).  The kiosk itself is the same package, in production mode, either way.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from drivers.update import sdboot

ROOT = Path(__file__).resolve().parent.parent
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
SECURITY = "http://deb.debian.org/debian-security"
MIB = 1024 * 1024

# What the appliance runs on besides the package's own dependencies: a kernel with the
# drivers of real kiosk PCs (display, USB readers and serial adapters), systemd-boot's
# EFI binary, the compositor, PC/SC, CUPS with the filters an IPP Everywhere queue uses,
# the network (networkd, resolved, timesyncd: TLS needs the right time).
PACKAGES = (
    "systemd",
    "systemd-sysv",
    "systemd-resolved",
    "systemd-timesyncd",
    "udev",
    "dbus",
    "kmod",
    "linux-image-amd64",
    "initramfs-tools",
    "zstd",
    "systemd-boot-efi",
    "cage",
    "pcscd",
    "libccid",
    "cups-daemon",
    "cups-client",
    "cups-filters",
    "ca-certificates",
    "fonts-dejavu-core",
    "iproute2",
    # A/B updates (kiosk/updater.py): RAUC and its D-Bus service, resize2fs for its
    # ``resize=true`` (a release's root file system is written small and grown in place).
    "rauc",
    "rauc-service",
    "e2fsprogs",
)
# The rig's additions (--rig): see the module docstring.
RIG_PACKAGES = ("vsmartcard-vpcd", "qemu-guest-agent")

# The board profile of the reference kiosk PC: the console on COM1 (a technician's
# serial console; no login is offered on it), the fingerprint module on COM2 and the QR
# scanner on COM3.  The package's udev rules read adm.fingerprint/adm.qr.
CMDLINE = "rw quiet panic=10 console=tty1 console=ttyS0,115200 adm.fingerprint=ttyS1 adm.qr=ttyS2"

FSTAB = """\
# The data partition holds what outlives a root slot (A/B updates swap the slots).
PARTLABEL=adm-data  /data  ext4  defaults,noatime  0  2
/data/adm  /etc/adm  none  bind,x-systemd.requires-mounts-for=/data  0  0
/data/adm-kiosk  /var/lib/adm-kiosk  none  bind,x-systemd.requires-mounts-for=/data  0  0
/data/log  /var/log/adm-kiosk  none  bind,x-systemd.requires-mounts-for=/data  0  0
/data/adm-update  /var/lib/adm-update  none  bind,x-systemd.requires-mounts-for=/data  0  0
PARTLABEL=adm-esp  /boot/efi  vfat  umask=0077,noauto,x-systemd.automount  0  2
"""

NETWORK = """\
# Every wired interface by DHCP (an office network gives the kiosk its address).
[Match]
Name=en* eth*

[Network]
DHCP=yes
"""

# A kiosk without a network must still start (out of service, saying so): wait for one
# link at most 20 s rather than the default 2 minutes.
WAIT_ONLINE = """\
[Service]
ExecStart=
ExecStart=/lib/systemd/systemd-networkd-wait-online --any --timeout=20
"""

LOGIND = """\
# No text consoles to switch to on the panel: the kiosk's tty7 is the only one.
[Login]
NAutoVTs=0
ReserveVT=0
"""

JOURNALD = """\
# The journal survives a reboot (what a technician reads after a power cut), bounded.
[Journal]
Storage=persistent
SystemMaxUse=200M
"""

# The newest slot entry that has tries left (drivers/update/sdboot.py explains the order).
LOADER = """\
default adm-*
timeout 0
editor no
console-mode keep
"""

# RAUC (kiosk/updater.py through drivers/update/rauc.py): the two root slots, written
# whole by an update; the boot loader is systemd-boot through the custom backend
# (drivers/update/sdboot.py); bundles must be verity bundles signed by the release CA
# (its certificate is the whole keyring: the server's TLS CA signs no release).
SYSTEM_CONF = """\
[system]
compatible={compatible}
bootloader=custom
data-directory=/data/rauc
bundle-formats=verity

[keyring]
path=/etc/rauc/keyring.pem
check-purpose=codesign

[handlers]
bootloader-custom-backend=/opt/adm-kiosk/venv/bin/adm-rauc-bootloader

[slot.rootfs.0]
device=/dev/disk/by-partlabel/adm-root-a
type=ext4
bootname=a
resize=true

[slot.rootfs.1]
device=/dev/disk/by-partlabel/adm-root-b
type=ext4
bootname=b
resize=true
"""
COMPATIBLE = "adm-kiosk-x86_64"

# RAUC's central status lives on the data partition, which is mounted by fstab.
RAUC_DROPIN = """\
[Unit]
RequiresMountsFor=/data
"""

VPCD = """\
# The rig's virtual reader: the host's virtual e-KTP and SAM connect to TCP 35963/35964.
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:0x8C7B
LIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so
CHANNELID    0x8C7B
"""


class ImageError(Exception):
    pass


def run(*cmd: str | Path, **kw: object) -> subprocess.CompletedProcess[str]:
    """A command whose failure stops the build with its own words."""
    proc = subprocess.run([str(c) for c in cmd], text=True, capture_output=True, **kw)  # type: ignore[call-overload]
    if proc.returncode != 0:
        raise ImageError(f"{' '.join(map(str, cmd))[:200]} failed:\n{proc.stdout}{proc.stderr}")
    return proc


def size_bytes(text: str) -> int:
    units = {"K": 1024, "M": MIB, "G": 1024 * MIB}
    text = text.strip().upper()
    if text[-1:] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def project_version() -> str:
    import tomllib

    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def latest_deb(dist: Path) -> Path:
    debs = sorted(dist.glob("adm-kiosk_*_amd64.deb"), key=lambda p: p.stat().st_mtime)
    if not debs:
        raise ImageError(f"no adm-kiosk package in {dist}: run 'make deb' first")
    return debs[-1]


def depends(deb: Path) -> list[str]:
    """The package's dependencies by name (apt picks bookworm's versions, which the
    package's version constraints are written for)."""
    field = run("dpkg-deb", "-f", deb, "Depends").stdout
    names = [part.split("(")[0].split("|")[0].strip() for part in field.split(",")]
    return [n for n in names if n]


def bootstrap(tree: Path, deb: Path, rig: bool) -> None:
    """The root tree: Debian's packages and the kiosk package, by apt, in a chroot."""
    packages = [*PACKAGES, *(RIG_PACKAGES if rig else ()), *depends(deb)]
    sources = (
        f"deb {MIRROR} {SUITE} main\n"
        f"deb {MIRROR} {SUITE}-updates main\n"
        f"deb {SECURITY} {SUITE}-security main\n"
    )
    run(
        "mmdebstrap",
        "--variant=minbase",
        "--mode=root",
        "--format=directory",
        f"--include={','.join(packages)}",
        # The kiosk package by dpkg in the chroot, its dependencies by apt before it (apt
        # inside the chroot has no name resolution; mmdebstrap's does the fetching).
        f"--customize-hook=copy-in {deb.resolve()} /tmp",
        f'--customize-hook=chroot "$1" dpkg -i /tmp/{deb.name}',
        f'--customize-hook=rm -f "$1/tmp/{deb.name}"',
        '--aptopt=APT::Install-Recommends "false"',
        # Documentation and translations are not read on a kiosk; copyright files stay.
        "--dpkgopt=path-exclude=/usr/share/man/*",
        "--dpkgopt=path-exclude=/usr/share/doc/*",
        "--dpkgopt=path-include=/usr/share/doc/*/copyright",
        "--dpkgopt=path-exclude=/usr/share/locale/*",
        "--dpkgopt=path-include=/usr/share/locale/locale.alias",
        SUITE,
        tree,
        sources,
    )


def set_image_version(tree: Path, version: str) -> None:
    """``IMAGE_ID``/``IMAGE_VERSION`` in the tree's os-release: what the kiosk reports
    and the updater compares (drivers.update.base.image_version)."""
    path = tree / "usr/lib/os-release"
    lines = [
        line
        for line in path.read_text().splitlines()
        if not line.startswith(("IMAGE_ID=", "IMAGE_VERSION="))
    ]
    path.write_text("\n".join([*lines, "IMAGE_ID=adm-kiosk", f"IMAGE_VERSION={version}"]) + "\n")


def configure(tree: Path, rig: bool, keyring: bytes, version: str) -> None:
    """The appliance's own files: mounts, network, no login prompts, the kiosk enabled,
    RAUC with the release keyring, the image's version."""

    def write(rel: str, text: str, mode: int = 0o644) -> None:
        path = tree / rel.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)

    write("/etc/hostname", "adm-kiosk\n")
    write("/etc/hosts", "127.0.0.1 localhost\n127.0.1.1 adm-kiosk\n::1 localhost\n")
    write("/etc/fstab", FSTAB)
    write("/etc/default/locale", "LANG=C.UTF-8\n")
    for mount in ("data", "boot/efi", "var/lib/adm-update"):
        (tree / mount).mkdir(parents=True, exist_ok=True)
    write("/etc/systemd/network/80-wired.network", NETWORK)
    write("/etc/systemd/system/systemd-networkd-wait-online.service.d/adm.conf", WAIT_ONLINE)
    write("/etc/systemd/logind.conf.d/adm.conf", LOGIND)
    write("/etc/systemd/journald.conf.d/adm.conf", JOURNALD)
    (tree / "var/log/journal").mkdir(parents=True, exist_ok=True)
    (tree / "etc/machine-id").write_text("uninitialized\n")  # made anew on first boot
    (tree / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    write("/etc/kernel/cmdline", CMDLINE + "\n")
    # CUPS fsyncs its job and state files: a power cut must not make the spooler forget a
    # job the kiosk submitted (reconciliation asks CUPS what became of it), nor a queue.
    cups_files = tree / "etc/cups/cups-files.conf"
    text = cups_files.read_text() if cups_files.is_file() else ""
    if "SyncOnClose Yes" not in text:
        cups_files.write_text(text.rstrip("\n") + "\nSyncOnClose Yes\n")
    if rig:
        write("/etc/reader.conf.d/vpcd", VPCD)
    write("/etc/rauc/system.conf", SYSTEM_CONF.format(compatible=COMPATIBLE))
    (tree / "etc/rauc/keyring.pem").write_bytes(keyring)
    write("/etc/systemd/system/rauc.service.d/adm.conf", RAUC_DROPIN)
    set_image_version(tree, version)
    # The appliance's kiosk talks to its updater (kiosk/update_link.py).
    toml = tree / "etc/adm/kiosk.toml"
    if toml.is_file():
        text = toml.read_text()
        toml.write_text(text.replace('kiosk_dir = ""', 'kiosk_dir = "/run/adm-kiosk/update"', 1))
    chroot = ("chroot", tree)
    run(*chroot, "systemctl", "set-default", "graphical.target")
    run(*chroot, "systemctl", "enable", "systemd-networkd", "systemd-resolved", "adm-kiosk")
    run(*chroot, "systemctl", "enable", "adm-kiosk-enrol.service", "adm-kiosk-update.service")
    # A slot is blessed by the updater's health gate (RAUC's mark-good), not by reaching
    # boot-complete.target, which nothing on the kiosk orders itself before.
    run(*chroot, "systemctl", "mask", "systemd-bless-boot.service")
    # No login prompt anywhere: the panel belongs to the kiosk, the serial console is a
    # log for the technician (the root account is locked, as debootstrap leaves it).
    run(*chroot, "systemctl", "mask", "getty@tty1.service", "serial-getty@ttyS0.service")
    run(*chroot, "systemctl", "disable", "adm-server.service")
    resolv = tree / "etc/resolv.conf"
    resolv.unlink(missing_ok=True)
    resolv.symlink_to("../run/systemd/resolve/stub-resolv.conf")


def split_data(tree: Path, data: Path) -> None:
    """What outlives a slot, moved to the data partition's tree (ownership and modes
    kept: mkfs.ext4 -d copies them)."""
    for src, name in (
        ("etc/adm", "adm"),
        ("var/lib/adm-kiosk", "adm-kiosk"),
        ("var/log/adm-kiosk", "log"),
        ("var/lib/adm-update", "adm-update"),
        ("data/rauc", "rauc"),
    ):
        source = tree / src
        target = data / name
        if source.exists():
            run("cp", "-a", source, target)
        else:
            target.mkdir(parents=True)


def esp_tree(tree: Path, esp: Path) -> None:
    """systemd-boot as the removable-media loader, one entry per slot (B's appears when
    an update fills it), the kernel and initrd of slot A."""
    efi = tree / "usr/lib/systemd/boot/efi/systemd-bootx64.efi"
    if not efi.is_file():
        raise ImageError("systemd-boot's EFI binary is missing from the tree")
    (esp / "EFI/BOOT").mkdir(parents=True)
    shutil.copy(efi, esp / "EFI/BOOT/BOOTX64.EFI")
    (esp / "loader/entries").mkdir(parents=True)
    (esp / "loader/loader.conf").write_text(LOADER)
    (esp / "loader/entries/adm-1-a.conf").write_text(sdboot.entry_text("a", CMDLINE))
    kernels = sorted((tree / "boot").glob("vmlinuz-*"))
    initrds = sorted((tree / "boot").glob("initrd.img-*"))
    if not kernels or not initrds:
        raise ImageError("no kernel or initrd in the tree's /boot")
    (esp / "adm-a").mkdir()
    shutil.copy(kernels[-1], esp / "adm-a/vmlinuz")
    shutil.copy(initrds[-1], esp / "adm-a/initrd.img")


def vfat_image(path: Path, size: int, tree: Path, label: str) -> None:
    with open(path, "wb") as f:
        f.truncate(size)
    run("mkfs.vfat", "-F", "32", "-n", label, path)
    for item in sorted(tree.iterdir()):
        run("mcopy", "-s", "-i", path, item, "::")


def ext4_image(path: Path, size: int, tree: Path, label: str) -> None:
    with open(path, "wb") as f:
        f.truncate(size)
    run("mkfs.ext4", "-q", "-F", "-L", label, "-d", tree, path)


def assemble(out: Path, parts: list[tuple[str, int, Path | None, str]]) -> None:
    """A GPT disk from partition images (name, size, image or None, type GUID)."""
    first = MIB  # 1 MiB aligned start
    total = first + sum(size for _, size, _, _ in parts) + MIB  # backup GPT at the end
    out.unlink(missing_ok=True)
    with open(out, "wb") as f:
        f.truncate(total)
    script = ["label: gpt", "unit: sectors"]
    offset = first
    for name, size, _, kind in parts:
        script.append(f"start={offset // 512}, size={size // 512}, type={kind}, name={name}")
        offset += size
    run("sfdisk", "--quiet", out, input="\n".join(script) + "\n")
    offset = first
    for _, size, image, _ in parts:
        if image is not None:
            run(
                "dd",
                f"if={image}",
                f"of={out}",
                "bs=4M",
                f"seek={offset}",
                "oflag=seek_bytes",
                "conv=notrunc,sparse",
                "status=none",
            )
        offset += size


ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
ROOT_TYPE = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"  # Linux root (x86-64)
DATA_TYPE = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"  # Linux filesystem


def build(
    deb: Path,
    out: Path,
    rig: bool,
    root_size: int,
    data_size: int,
    version: str,
    ca_dir: Path,
) -> dict[str, object]:
    from build_release import keyring  # the release CA, kept beside (not in) the image

    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="adm-image-", dir=out))
    try:
        tree, esp, data = work / "root", work / "esp", work / "data"
        bootstrap(tree, deb, rig)
        bootstrapped = time.monotonic()
        configure(tree, rig, keyring(ca_dir), version)
        data.mkdir()
        split_data(tree, data)
        esp.mkdir()
        esp_tree(tree, esp)
        vfat_image(work / "esp.img", 256 * MIB, esp, "ADM-ESP")
        ext4_image(work / "root.img", root_size, tree, "adm-root-a")
        ext4_image(work / "data.img", data_size, data, "adm-data")
        name = "adm-kiosk-rig.img" if rig else "adm-kiosk.img"
        image = out / name
        partial = work / name  # renamed into place whole: a guest on the old one keeps it
        assemble(
            partial,
            [
                ("adm-esp", 256 * MIB, work / "esp.img", ESP_TYPE),
                ("adm-root-a", root_size, work / "root.img", ROOT_TYPE),
                ("adm-root-b", root_size, None, ROOT_TYPE),
                ("adm-data", data_size, work / "data.img", DATA_TYPE),
            ],
        )
        partial.replace(image)
        used = int(run("du", "-sb", tree).stdout.split()[0])
        info = {
            "image": str(image),
            "rig": rig,
            "package": deb.name,
            "version": version,
            "disk_bytes": image.stat().st_size,
            "allocated_bytes": image.stat().st_blocks * 512,
            "root_tree_bytes": used,
            "bootstrap_seconds": round(bootstrapped - started, 1),
            "build_seconds": round(time.monotonic() - started, 1),
            "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (out / (name + ".json")).write_text(json.dumps(info, indent=2) + "\n")
        return info
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--deb", help="the kiosk package (default: the newest in dist/)")
    p.add_argument("--out", default=str(ROOT / "dist"))
    p.add_argument("--rig", action="store_true", help="the test rig's image (vpcd, guest agent)")
    p.add_argument("--root-size", default="3G")
    p.add_argument("--data-size", default="2G")
    p.add_argument("--version", help="the image's version (default: the project's)")
    p.add_argument(
        "--ca-dir",
        default=str(ROOT / "dist" / "release-ca"),
        help="the release CA whose certificate is the image's RAUC keyring (made if absent)",
    )
    args = p.parse_args()
    if os.geteuid() != 0:
        print("build_image: run as root (mmdebstrap --mode=root, file ownership)")
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        deb = Path(args.deb) if args.deb else latest_deb(out)
        version = args.version or project_version()
        info = build(
            deb,
            out,
            args.rig,
            size_bytes(args.root_size),
            size_bytes(args.data_size),
            version,
            Path(args.ca_dir),
        )
    except ImageError as exc:
        print(f"build_image: {exc}")
        return 1
    print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
