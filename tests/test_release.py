"""A release's bundle (scripts/build_release.py) as a kiosk's RAUC sees it: Debian's
rauc verifies it with the appliance's keyring and purpose (the release CA alone,
code signing), and refuses one signed by another CA, one signed with a TLS certificate
of the deployment CA, and one altered after signing.  The whole release is built by
``make release`` and installed in the booted guest by ``make update-test``."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
_spec = importlib.util.spec_from_file_location("build_release", ROOT / "scripts/build_release.py")
assert _spec is not None and _spec.loader is not None
br = importlib.util.module_from_spec(_spec)
sys.modules["build_release"] = br
_spec.loader.exec_module(br)

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("rauc", "mksquashfs", "mkfs.ext4")),
    reason="rauc and squashfs-tools (scripts/setup.sh installs them)",
)


def kiosk_conf(tmp: Path, keyring: Path) -> Path:
    """The keyring part of the image's /etc/rauc/system.conf, on this machine."""
    conf = tmp / "system.conf"
    text = br.img.SYSTEM_CONF.format(compatible=br.img.COMPATIBLE)
    text = text.replace("bootloader=custom", "bootloader=noop")  # no ESP here
    text = "\n".join(x for x in text.splitlines() if "custom-backend" not in x) + "\n"
    text = text.replace("path=/etc/rauc/keyring.pem", f"path={keyring}")
    conf.write_text(text)
    return conf


def tree(tmp: Path) -> Path:
    root = tmp / "tree"
    (root / "usr/lib").mkdir(parents=True)
    (root / "usr/lib/os-release").write_text('PRETTY_NAME="Debian GNU/Linux 12"\nID=debian\n')
    (root / "etc").mkdir()
    (root / "etc/hostname").write_text("adm-kiosk\n")
    return root


def info(conf: Path, bundle: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["rauc", f"--conf={conf}", "info", "--output-format=json", str(bundle)],
        capture_output=True,
        text=True,
    )


def test_a_release_verifies_with_the_kiosks_keyring_and_no_other(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    root = tree(tmp_path)
    bundle = br.bundle(root, "1.4.0", out, tmp_path / "ca")
    assert bundle.name == "adm-kiosk-1.4.0.raucb"
    # The tree now says which release it is; the bundle is what the kiosk accepts.
    assert "IMAGE_ID=adm-kiosk\nIMAGE_VERSION=1.4.0" in (root / "usr/lib/os-release").read_text()
    conf = kiosk_conf(tmp_path, tmp_path / "ca" / "ca.pem")
    ok = info(conf, bundle)
    assert ok.returncode == 0, ok.stderr
    assert '"version":"1.4.0"' in ok.stdout and '"compatible":"adm-kiosk-x86_64"' in ok.stdout
    # Another release CA's bundle is refused by this kiosk.
    other = br.bundle(root, "1.4.1", out, tmp_path / "other-ca")
    refused = info(conf, other)
    assert refused.returncode != 0 and "signature" in refused.stderr.lower()
    # One byte of the signed part (the manifest with the payload's verity root hash, at
    # the end) changed: refused.  A changed payload block is refused by dm-verity when
    # the kiosk's RAUC reads it, which only a booted kiosk shows (make update-test).
    altered = out / "altered.raucb"
    data = bytearray(bundle.read_bytes())
    data[-200] ^= 0xFF
    altered.write_bytes(bytes(data))
    assert info(conf, altered).returncode != 0


def test_a_tls_certificate_cannot_sign_a_release(tmp_path: Path) -> None:
    """The deployment CA's server certificate (serverAuth) signs a bundle that a kiosk
    trusting that very CA still refuses: the release purpose is code signing."""
    from server.pki import ServerHome

    home = ServerHome(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "--home", str(home.path), "pki", "init",
         "--hostname", "127.0.0.1"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    ca = tmp_path / "tls-as-release"
    ca.mkdir()
    for name, src in (
        ("ca", home.path / "ca.pem"),
        ("ca-key", home.path / "ca.key"),
        ("signing", home.path / "server.pem"),
        ("signing-key", home.path / "server.key"),
    ):
        assert src.is_file(), f"{src} (the server's key folder changed?)"
        shutil.copy(src, ca / f"{name}.pem")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(br.img.ImageError, match="purpose"):
        br.bundle(tree(tmp_path), "1.4.0", out, ca)
