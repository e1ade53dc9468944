"""Build ``adm-kiosk_<version>_amd64.deb``: the kiosk and the reference server in one
package with its own virtualenv under /opt, both units, the default configuration as a
conffile, udev rules, and maintainer scripts that create the users and folders.

Why ``dpkg-deb`` on a staged tree rather than dh-virtualenv: the venv must be built on
Debian's own python3 (a venv on an interpreter elsewhere cannot be used by the service
users), from the same pinned ranges the test suite runs; dh-virtualenv would need the
whole debhelper source-package machinery for what is, here, one virtualenv and a dozen
files.  The venv is built in the staging folder and its scripts' interpreter lines are
rewritten to /opt/adm-kiosk/venv, where it is installed.

    python scripts/build_deb.py [--version V] [--out DIR] [--compression xz|gzip|none]
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PREFIX = Path("/opt/adm-kiosk")
VENV = PREFIX / "venv"

CONTROL = """Package: adm-kiosk
Version: {version}
Architecture: amd64
Maintainer: ADM kiosk maintainers <maintainers@adm-kiosk.example.org>
Section: misc
Priority: optional
Installed-Size: {size}
Depends: {depends}
Recommends: cups
Description: Anjungan Dukcapil Mandiri self-service kiosk
 The kiosk where citizens print their approved civil-registration documents
 (KTP-el, KIA, Kartu Keluarga, certificates): e-KTP reading through PC/SC,
 fingerprint and QR scanners on serial lines, printing through CUPS, a
 fullscreen touch UI supervised by systemd. Also ships the reference central
 server (adm-server.service, not enabled on kiosks).
"""

DEPENDS = (
    "libc6",
    "python3 (>= 3.11)",
    "python3-venv",
    "adduser",
    "pcscd",
    "cups-client",
    "libpcsclite1",
    "libcups2",
    "libgl1",
    "libegl1",
    "libxkbcommon0",
    "libfontconfig1",
    # Qt's Wayland platform plugin (the kiosk under cage), found missing by the first boot
    "libwayland-client0",
    "libwayland-cursor0",
    "libwayland-egl1",
    # the compositor the unit runs, its seat (display and input devices handed to the
    # kiosk's user) and Xwayland, without which Debian's cage 0.1.4 does not start
    "cage",
    "seatd",
    "xwayland",
    # the documents' fonts and their verification QR code (printing.fonts, printing.qrmatrix)
    "fonts-dejavu-core",
    "libqrencode4",
)

# What lintian reports about a self-contained virtualenv under /opt, and why it stays.
OVERRIDES = """\
# The application lives in its own virtualenv under /opt (a self-contained appliance,
# never mixed with Debian's python3-* packages).
adm-kiosk: dir-or-file-in-opt *
# The venv's scripts run its own interpreter.
adm-kiosk: wrong-path-for-interpreter *
# Wheels bring their libraries (Qt, OpenSSL pieces, zlib) and their rpaths.
adm-kiosk: embedded-library *
adm-kiosk: custom-library-search-path *
# Fonts shipped inside upstream wheels (reportlab, Qt), under their upstream licences.
adm-kiosk: license-problem-font-adobe-copyrighted-fragment *
adm-kiosk: license-problem-font-adobe-copyrighted-fragment-no-credit *
"""

POSTINST = """#!/bin/sh
set -e
if [ "$1" = configure ]; then
    for user in adm-kiosk adm-server; do
        if ! getent passwd "$user" >/dev/null; then
            adduser --system --group --no-create-home --home /nonexistent "$user" >/dev/null 2>&1
        fi
    done
    for group in dialout video input render plugdev; do
        if getent group "$group" >/dev/null; then adduser adm-kiosk "$group" >/dev/null; fi
    done
    install -d -o adm-kiosk -g adm-kiosk -m 0750 /var/lib/adm-kiosk
    install -d -o adm-kiosk -g adm-kiosk -m 0750 /var/log/adm-kiosk
    install -d -o adm-server -g adm-server -m 0750 /var/lib/adm-server
    install -d -o root -g adm-kiosk -m 0750 /etc/adm/keys
    chgrp adm-kiosk /etc/adm/kiosk.toml && chmod 0640 /etc/adm/kiosk.toml
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload >/dev/null || true
    fi
    if command -v udevadm >/dev/null && [ -d /run/udev ]; then
        udevadm control --reload >/dev/null 2>&1 || true
        udevadm trigger --subsystem-match=tty --subsystem-match=usb >/dev/null 2>&1 || true
    fi
fi
exit 0
"""

PRERM = """#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
    systemctl stop adm-kiosk.service adm-server.service >/dev/null 2>&1 || true
fi
exit 0
"""

POSTRM = """#!/bin/sh
set -e
if [ "$1" = purge ]; then
    # The kiosk's store and logs, the server's data and the keys go with a purge (the
    # system users stay, as Debian recommends: files they owned elsewhere keep a name).
    rm -rf /var/lib/adm-kiosk /var/log/adm-kiosk /var/lib/adm-server /etc/adm/keys
    rmdir /etc/adm 2>/dev/null || true
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
"""


COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: adm-kiosk
Source: https://example.invalid/adm-kiosk

Files: *
Copyright: ADM kiosk contributors
License: Apache-2.0
 On Debian systems, the full text of the Apache License 2.0 can be found in
 /usr/share/common-licenses/Apache-2.0.
"""


def run(*cmd: str, **kw: object) -> None:
    subprocess.run(cmd, check=True, **kw)  # type: ignore[call-overload]


def build(version: str, out: Path, compression: str, also: tuple[str, ...] = ()) -> Path:
    """The package of ``version``, and of each version in ``also`` from the same staged
    tree (what an upgrade test installs second)."""
    stage = Path(tempfile.mkdtemp(prefix="adm-deb-"))
    try:
        venv = stage / VENV.relative_to("/")
        run("/usr/bin/python3", "-m", "venv", str(venv))
        env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        run(str(venv / "bin/pip"), "install", "-q", "--no-compile", str(ROOT), env=env)
        _without_simulator(venv)
        _relocate(venv)
        _tidy_binaries(venv)
        for junk in venv.rglob("__pycache__"):
            shutil.rmtree(junk, ignore_errors=True)
        _install(stage, "lib/systemd/system", ROOT / "systemd", "*.service", 0o644)
        _install(stage, "lib/systemd/system-preset", ROOT / "systemd", "*.preset", 0o644)
        (stage / "etc/adm").mkdir(parents=True)
        shutil.copy(ROOT / "config/kiosk.toml", stage / "etc/adm/kiosk.toml")
        (stage / "lib/udev/rules.d").mkdir(parents=True)
        shutil.copy(ROOT / "packaging/60-adm-kiosk.rules", stage / "lib/udev/rules.d/")
        docs = stage / "opt/adm-kiosk/share/doc"
        docs.mkdir(parents=True)
        for doc in ("README.md", "docs/server.md", "docs/serial-devices.md"):
            shutil.copy(ROOT / doc, docs)
        overrides = stage / "usr/share/lintian/overrides"
        overrides.mkdir(parents=True)
        (overrides / "adm-kiosk").write_text(OVERRIDES)
        usr_doc = stage / "usr/share/doc/adm-kiosk"
        usr_doc.mkdir(parents=True)
        (usr_doc / "copyright").write_text(COPYRIGHT)
        changelog = (
            f"adm-kiosk ({version}) stable; urgency=medium\n\n"
            f"  * Release {version}.\n\n"
            " -- ADM kiosk maintainers <maintainers@adm-kiosk.example.org>  "
            "Mon, 30 Nov 2026 00:00:00 +0000\n"
        )
        (usr_doc / "changelog.Debian.gz").write_bytes(gzip.compress(changelog.encode(), 9, mtime=0))
        debian = stage / "DEBIAN"
        debian.mkdir()
        size = sum(p.stat().st_size for p in stage.rglob("*") if p.is_file()) // 1024
        depends = ", ".join(DEPENDS)
        (debian / "conffiles").write_text("/etc/adm/kiosk.toml\n")
        for name, text in (("postinst", POSTINST), ("prerm", PRERM), ("postrm", POSTRM)):
            (debian / name).write_text(text)
            (debian / name).chmod(0o755)
        for path in stage.rglob("*"):
            if path.is_dir():
                path.chmod(0o755)
        out.mkdir(parents=True, exist_ok=True)
        z = {"xz": ["-Zxz"], "gzip": ["-Zgzip", "-z1"], "none": ["-Znone"]}[compression]
        for v in (*also, version):  # the same tree as each version (an upgrade test's pair)
            control = CONTROL.format(version=v, size=size, depends=depends)
            (debian / "control").write_text(control)
            deb = out / f"adm-kiosk_{v}_amd64.deb"
            run("dpkg-deb", "--root-owner-group", *z, "--build", str(stage), str(deb))
        return deb
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _without_simulator(venv: Path) -> None:
    """The production package carries no simulator: ``sim/`` holds the test issuer's
    private scalar and the SAM master key, and builds simulated backends a real server
    must never meet.  A demo runs from a source clone (``make demo``); a second, demo
    package would only be one more way for the test keys to reach a kiosk."""
    for site in venv.glob("lib/python3*/site-packages"):
        shutil.rmtree(site / "sim", ignore_errors=True)
        for info in site.glob("adm_kiosk*.dist-info"):
            entry = info / "entry_points.txt"
            if entry.is_file():
                lines = entry.read_text().splitlines()
                entry.write_text("\n".join(x for x in lines if not x.startswith("adm-sim")) + "\n")
            record = info / "RECORD"
            if record.is_file():
                rows = record.read_text().splitlines()
                keep = [r for r in rows if not r.startswith(("sim/", "../../../bin/adm-sim"))]
                record.write_text("\n".join(keep) + "\n")
    (venv / "bin/adm-sim").unlink(missing_ok=True)


def _relocate(venv: Path) -> None:
    """Scripts of a venv name its interpreter by absolute path: the installed one."""
    staged = str(venv).encode()
    for script in (venv / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            data = script.read_bytes()
            if staged in data[:512] or b"VIRTUAL_ENV" in data:
                script.write_bytes(data.replace(staged, str(VENV).encode()))
    cfg = venv / "pyvenv.cfg"
    cfg.write_text(cfg.read_text().replace(str(venv), str(VENV)))


def _tidy_binaries(venv: Path) -> None:
    """Shared objects are not executables, and carry no debugging symbols (as dh_strip
    leaves them): smaller, and what lintian expects."""
    for path in venv.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        with path.open("rb") as f:
            elf = f.read(4) == b"\x7fELF"
        if not elf:
            continue
        if ".so" in path.name:
            path.chmod(0o644)
        subprocess.run(
            ["strip", "--strip-unneeded", "--remove-section=.comment", str(path)],
            capture_output=True,
        )


def _install(stage: Path, target: str, source: Path, pattern: str, mode: int) -> None:
    folder = stage / target
    folder.mkdir(parents=True, exist_ok=True)
    for f in sorted(source.glob(pattern)):
        shutil.copy(f, folder / f.name)
        (folder / f.name).chmod(mode)


def main() -> int:
    p = argparse.ArgumentParser()
    default = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    p.add_argument("--version", default=default)
    p.add_argument("--out", default=str(ROOT / "dist"))
    p.add_argument("--compression", choices=("xz", "gzip", "none"), default="xz")
    p.add_argument("--also-version", action="append", default=[], help="another package")
    args = p.parse_args()
    deb = build(args.version, Path(args.out), args.compression, tuple(args.also_version))
    print(deb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
