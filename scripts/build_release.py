"""Build a signed release of the appliance (a RAUC bundle) and publish it to a server.

    python scripts/build_release.py --version V [--rig] [--deb DEB] [--out dist/releases]
                                    [--ca-dir dist/release-ca] [--publish HOME --db URL]

A release is the whole root file system of a slot, the same tree the image is built
from (scripts/build_image.py: Debian's packages, the kiosk package, the appliance's
files) with ``IMAGE_VERSION=V``: an ext4 image made only as large as its files (RAUC
grows it to the slot, ``resize=true``), in a *verity* bundle (dm-verity checks every
block as it is read, so the bundle cannot change between the signature check and the
write), signed with the **release CA**.

The release CA is kept apart from the deployment CA that signs the server's and the
kiosks' TLS certificates (``adm-server pki``): stealing the server's keys does not let
anyone sign a release, and the kiosks' RAUC keyring holds the release CA alone.  Here it
is made on first use under ``--ca-dir`` (the CA key and a signing certificate it issued,
with the code-signing purpose RAUC checks); an office keeps that folder offline and
passes it to each build.

``--publish HOME --db URL`` then runs ``adm-server release publish`` (the digest
recorded, the bundle copied where the kiosks fetch it over mTLS).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_image as img

ROOT = img.ROOT
MIB = img.MIB

# The rollback test's release: its kiosk unit can never start, so it never passes the
# health gate (scripts only; never published to a real fleet).
BROKEN_DROPIN = """\
[Service]
ExecStart=
ExecStart=/bin/false
"""


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def release_ca(folder: Path) -> dict[str, Path]:
    """The release CA and its signing certificate under ``folder``, made once."""
    paths = {k: folder / f"{k}.pem" for k in ("ca", "ca-key", "signing", "signing-key")}
    if all(p.is_file() for p in paths.values()):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("ADM kiosk release CA"))
        .issuer_name(_name("ADM kiosk release CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    signing = (
        x509.CertificateBuilder()
        .subject_name(_name("ADM kiosk release signing"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1095))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def secret(k: ec.EllipticCurvePrivateKey) -> bytes:
        return k.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    for path, data in (
        (paths["ca-key"], secret(ca_key)),
        (paths["signing-key"], secret(key)),
        (paths["ca"], ca.public_bytes(serialization.Encoding.PEM)),
        (paths["signing"], signing.public_bytes(serialization.Encoding.PEM)),
    ):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    return paths


def keyring(ca_dir: Path) -> bytes:
    """What the image's /etc/rauc/keyring.pem holds: the release CA's certificate."""
    return release_ca(ca_dir)["ca"].read_bytes()


def rootfs_image(tree: Path, path: Path) -> int:
    """An ext4 image of ``tree`` with a fifth more room than its files (RAUC grows it
    to the slot after writing); its size."""
    used = int(img.run("du", "-sb", tree).stdout.split()[0])
    size = (int(used * 1.2) // MIB + 64) * MIB
    img.ext4_image(path, size, tree, "adm-root")
    img.run("e2fsck", "-fy", path)  # mkfs -d leaves it clean; proven, not assumed
    return size


def bundle(tree: Path, version: str, out: Path, ca_dir: Path, broken: bool = False) -> Path:
    """The signed verity bundle of ``tree`` as release ``version``."""
    import re

    from protocol.api import VERSION

    if not re.match(VERSION, version):
        raise img.ImageError(f"{version!r} is not a release version")
    ca = release_ca(ca_dir)
    img.set_image_version(tree, version)
    dropin = tree / "etc/systemd/system/adm-kiosk.service.d/broken.conf"
    if broken:
        dropin.parent.mkdir(parents=True, exist_ok=True)
        dropin.write_text(BROKEN_DROPIN)
    work = Path(tempfile.mkdtemp(prefix="adm-release-", dir=out))
    try:
        content = work / "content"
        content.mkdir()
        rootfs_image(tree, content / "rootfs.ext4")
        (content / "manifest.raucm").write_text(
            "[update]\n"
            f"compatible={img.COMPATIBLE}\n"
            f"version={version}\n"
            f"description=ADM kiosk {version}\n"
            f"build={time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}\n\n"
            "[bundle]\nformat=verity\n\n"
            "[image.rootfs]\nfilename=rootfs.ext4\n"
        )
        target = out / f"adm-kiosk-{version}.raucb"
        partial = work / target.name
        # rauc checks the new signature as a kiosk will: the code-signing purpose.
        conf = work / "system.conf"
        conf.write_text(
            f"[system]\ncompatible={img.COMPATIBLE}\nbootloader=noop\n\n"
            f"[keyring]\npath={ca['ca']}\ncheck-purpose=codesign\n"
        )
        img.run(
            "rauc",
            f"--conf={conf}",
            "bundle",
            f"--cert={ca['signing']}",
            f"--key={ca['signing-key']}",
            f"--keyring={ca['ca']}",
            "--mksquashfs-args=-comp zstd -Xcompression-level 6",
            content,
            partial,
        )
        partial.replace(target)
        return target
    finally:
        dropin.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)


def publish(bundle_path: Path, version: str, home: Path, db: str) -> None:
    """``adm-server release publish``: the digest recorded, the bundle served."""
    server = Path(sys.executable).with_name("adm-server")
    img.run(
        server,
        "--db",
        db,
        "--home",
        home,
        "release",
        "publish",
        bundle_path,
        "--version",
        version,
    )


def build(
    deb: Path,
    out: Path,
    versions: list[str],
    rig: bool,
    ca_dir: Path,
    broken: tuple[str, ...] = (),
) -> dict[str, object]:
    """One root tree, one bundle per version (``broken``: the rollback test's)."""
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="adm-tree-", dir=out))
    try:
        tree = work / "root"
        img.bootstrap(tree, deb, rig)
        img.configure(tree, rig, keyring(ca_dir), versions[0] if versions else broken[0])
        made = {}
        for version in (*versions, *broken):
            path = bundle(tree, version, out, ca_dir, broken=version in broken)
            made[version] = {"bundle": str(path), "bytes": path.stat().st_size}
        return {
            "releases": made,
            "package": deb.name,
            "rig": rig,
            "build_seconds": round(time.monotonic() - started, 1),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--version", action="append", default=[], help="a release to build")
    p.add_argument("--broken", action="append", default=[], help="a release that never serves")
    p.add_argument("--deb", help="the kiosk package (default: the newest in dist/)")
    p.add_argument("--out", default=str(ROOT / "dist" / "releases"))
    p.add_argument("--rig", action="store_true", help="the test rig's slot (vpcd, guest agent)")
    p.add_argument("--ca-dir", default=str(ROOT / "dist" / "release-ca"))
    p.add_argument("--publish", metavar="HOME", help="publish to the server with this home")
    p.add_argument("--db", help="the server's database URL (with --publish)")
    args = p.parse_args()
    if not args.version and not args.broken:
        p.error("name at least one --version")
    if os.geteuid() != 0:
        print("build_release: run as root (mmdebstrap --mode=root, file ownership)")
        return 2
    out = Path(args.out)
    try:
        deb = Path(args.deb) if args.deb else img.latest_deb(ROOT / "dist")
        info = build(deb, out, args.version, args.rig, Path(args.ca_dir), tuple(args.broken))
        if args.publish:
            if not args.db:
                p.error("--publish needs --db")
            for version in args.version:
                made = info["releases"][version]  # type: ignore[index]
                publish(Path(made["bundle"]), version, Path(args.publish), args.db)
    except (img.ImageError, subprocess.CalledProcessError) as exc:
        print(f"build_release: {exc}")
        return 1
    print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
