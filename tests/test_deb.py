"""The Debian package on this machine: built once, installed, its units verified by
systemd-analyze, upgraded to a newer version (the edited conffile and the kiosk store
kept), purged (nothing left).  Runs as root, as the README's test command does."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VERSION, NEWER = "0.1.0", "0.1.1"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("dpkg-deb") is None,
    reason="installing a package needs root and dpkg (the README's test command has both)",
)


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if check:
        assert done.returncode == 0, f"{' '.join(cmd)}: {done.stdout}{done.stderr}"
    return done


def _purge() -> None:
    sh("dpkg", "--purge", "adm-kiosk", check=False)


@pytest.fixture(scope="module")
def debs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """The package built once (uncompressed: the test's time is not spent in xz), as two
    versions from the one staged tree."""
    out = tmp_path_factory.mktemp("debs")
    build = [sys.executable, str(ROOT / "scripts/build_deb.py"), "--out", str(out)]
    sh(*build, "--version", VERSION, "--also-version", NEWER, "--compression", "none")
    first = out / f"adm-kiosk_{VERSION}_amd64.deb"
    newer = out / f"adm-kiosk_{NEWER}_amd64.deb"
    _purge()
    yield first, newer
    _purge()


def _mode(path: str) -> tuple[int, str, str]:
    st = os.stat(path)
    import grp
    import pwd

    return (
        stat.S_IMODE(st.st_mode),
        pwd.getpwuid(st.st_uid).pw_name,
        grp.getgrgid(st.st_gid).gr_name,
    )


def _secrets() -> dict[str, bytes]:
    """Every test secret of the simulator, in each form it could be stored in."""
    from cryptography.hazmat.primitives import serialization

    from sim import keys

    scalar = keys._ISSUER_SCALAR.to_bytes(32, "big")
    public = serialization.load_pem_public_key(keys.issuer_public_pem())
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    body = b"".join(keys.issuer_public_pem().splitlines()[1:-1])
    found = {
        "SAM master key": keys.SAM_MASTER_KEY,
        "SAM master key (hex)": keys.SAM_MASTER_KEY.hex().encode(),
        "wrong SAM key": keys.WRONG_MASTER_KEY,
        "wrong SAM key (hex)": keys.WRONG_MASTER_KEY.hex().encode(),
        "issuer scalar": scalar,
        "issuer scalar (hex)": scalar.hex().encode(),
        "test issuer key (DER)": der,
        "test issuer key (PEM body)": body[:64],
    }
    return found


def test_the_package_carries_no_simulator_and_no_secret(
    debs: tuple[Path, Path], tmp_path: Path
) -> None:
    """GIVEN the production package WHEN its files are read THEN no module of ``sim``, no
    ``adm-sim``, no private key material, no SAM key and no test issuer key is in it."""
    import re

    first, _ = debs
    tree = tmp_path / "tree"
    sh("dpkg-deb", "-x", str(first), str(tree))
    site = next(tree.glob("opt/adm-kiosk/venv/lib/python3*/site-packages"))
    assert not (site / "sim").exists()
    assert not (tree / "opt/adm-kiosk/venv/bin/adm-sim").exists()
    for info in site.glob("adm_kiosk*.dist-info"):
        assert "adm-sim" not in (info / "entry_points.txt").read_text()
        assert "sim/" not in (info / "RECORD").read_text()
    assert list(tree.rglob("ektp-issuer*")) == []  # (the CA bundles are certificates)
    private = re.compile(rb"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----\s*[A-Za-z0-9+/=\r\n]{60}")
    secrets = _secrets()
    found = []
    for path in tree.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()
        if private.search(data):
            found.append(f"{path}: private key material")
        found += [f"{path}: {name}" for name, value in secrets.items() if value in data]
    assert found == []


def test_install_upgrade_and_purge(debs: tuple[Path, Path]) -> None:
    first, newer = debs
    sh("dpkg", "-i", str(first))
    assert _mode("/var/lib/adm-kiosk") == (0o750, "adm-kiosk", "adm-kiosk")
    assert _mode("/var/log/adm-kiosk") == (0o750, "adm-kiosk", "adm-kiosk")
    assert _mode("/etc/adm/kiosk.toml") == (0o640, "root", "adm-kiosk")
    assert _mode("/etc/adm/keys") == (0o750, "root", "adm-kiosk")
    groups = sh("id", "-Gn", "adm-kiosk").stdout.split()
    assert "dialout" in groups  # the serial scanners
    # The installed application runs as its user, on Debian's python3 (not the build's).
    cfg = sh(
        "runuser",
        "-u",
        "adm-kiosk",
        "--",
        "/opt/adm-kiosk/venv/bin/adm-kiosk",
        "config",
        "check",
        "/etc/adm/kiosk.toml",
        check=False,
    )
    assert cfg.returncode == 2 and "card.issuer_key" in cfg.stdout + cfg.stderr, cfg
    # Every device backend and the screens load in the installed (stripped) venv.
    imports = "import smartcard, cups, serial; from PySide6 import QtWidgets; import ui.main"
    sh(
        "runuser",
        "-u",
        "adm-kiosk",
        "--",
        "env",
        "QT_QPA_PLATFORM=offscreen",
        "/opt/adm-kiosk/venv/bin/python",
        "-c",
        imports,
    )
    # No simulator to import, and the demo says where it runs instead of a traceback.
    no_sim = sh(
        "runuser", "-u", "adm-kiosk", "--",
        "/opt/adm-kiosk/venv/bin/python", "-I", "-c", "import sim", check=False,
    )  # fmt: skip
    assert no_sim.returncode == 1 and "No module named 'sim'" in no_sim.stderr
    demo = sh(
        "runuser", "-u", "adm-kiosk", "--", "env", "QT_QPA_PLATFORM=offscreen",
        "/opt/adm-kiosk/venv/bin/adm-kiosk", "simulate", "--headless", "--out", "/tmp/adm-x",
        check=False,
    )  # fmt: skip
    assert demo.returncode == 2 and "carries no simulator" in demo.stderr, demo
    assert "Traceback" not in demo.stderr
    # The CA key stays its holder's: the serving user can open what serving needs, not it.
    home = Path("/var/lib/adm-server/test-home")
    sh("/opt/adm-kiosk/venv/bin/adm-server", "--home", str(home), "pki", "init",
       "--owner", "adm-server")  # fmt: skip
    probe = (
        "import sys\nfor p in sys.argv[1:]:\n    try:\n        open(p).close(); print(p, 'open')"
        "\n    except PermissionError:\n        print(p, 'refused')"
    )
    opened = sh(
        "runuser", "-u", "adm-server", "--", "/usr/bin/python3", "-c", probe,
        str(home / "ca.key"), str(home / "server.key"), str(home / "issuer.key"),
        str(home / "pepper"),
    ).stdout.split()  # fmt: skip
    assert opened[1::2] == ["refused", "open", "open", "open"], opened
    shutil.rmtree(home)
    head = Path("/opt/adm-kiosk/venv/bin/adm-server").read_text().splitlines()[0]
    assert head == "#!/opt/adm-kiosk/venv/bin/python3"
    assert Path("/opt/adm-kiosk/venv/bin/python3").resolve().parent == Path("/usr/bin")
    units = ["/lib/systemd/system/adm-kiosk.service", "/lib/systemd/system/adm-server.service"]
    verify = sh("systemd-analyze", "verify", *units, check=False)
    assert verify.returncode == 0 and not verify.stderr.strip(), verify.stderr
    assert Path("/lib/udev/rules.d/60-adm-kiosk.rules").is_file()
    # The technician edits the configuration; the kiosk has a store.
    with open("/etc/adm/kiosk.toml", "a") as conf:
        conf.write("\n# edited on site\n")
    Path("/var/lib/adm-kiosk/kiosk.db").write_bytes(b"the kiosk's records")
    sh("dpkg", "-i", str(newer))
    status = sh("dpkg-query", "-W", "-f=${Version} ${Status}", "adm-kiosk").stdout
    assert status == f"{NEWER} install ok installed"
    assert Path("/etc/adm/kiosk.toml").read_text().endswith("# edited on site\n")
    assert Path("/var/lib/adm-kiosk/kiosk.db").read_bytes() == b"the kiosk's records"
    # Purge: the application, its configuration, store and logs are gone.
    sh("apt-get", "purge", "-y", "-q", "adm-kiosk")
    for gone in ("/opt/adm-kiosk", "/etc/adm", "/var/lib/adm-kiosk", "/var/log/adm-kiosk"):
        assert not Path(gone).exists(), gone
    left = sh("dpkg-query", "-W", "-f=${Status}", "adm-kiosk", check=False)
    assert left.returncode != 0 or left.stdout.startswith("unknown ok not-installed"), left
