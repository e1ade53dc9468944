"""Configuration: the defaults file is valid; bad files fail with the key named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.config import DEFAULT_FILE, ConfigError, load

KEYS = DEFAULT_FILE.parent / "keys"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(text)
    (tmp_path / "keys").symlink_to(KEYS)
    return path


def test_defaults_file_is_valid() -> None:
    cfg = load()
    assert cfg.card.backend == "pcsc" and Path(cfg.card.issuer_key).is_file()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[card]\nbackend = "usb"\n', "card.backend: must be one of pcsc, sim"),
        ('[card]\nreadr = "x"\n', "card.readr: unknown key"),
        ("[cards]\n", "cards: unknown key"),
        ('[card]\nextended_apdu = "yes"\n', "card.extended_apdu: must be a bool"),
        ("[kiosk]\nid = 7\n", "kiosk.id: must be a str"),
        ("card = 3\n", "card: must be a table"),
        ('[printer]\ncard_serials = "B2..A1"\n', "printer.card_serials: not a serial range"),
        ('[card]\nissuer_key = "keys/none.pem"\n', "card.issuer_key:"),
        ("[card\n", "not valid TOML"),
        ('[technician]\npin_sha256 = "123456"\n', "technician.pin_sha256: must be 64 hex"),
        ('[server]\nbackend = "http"\n', "server.ca: required with server.backend"),
        (
            '[server]\nbackend = "http"\nurl = "http://x"\nca = "keys/ektp-issuer-test.pem"\n'
            'cert = "keys/ektp-issuer-test.pem"\nkey = "keys/ektp-issuer-test.pem"\n'
            'issuer_key = "keys/ektp-issuer-test.pem"\n',
            "server.url: must be an https:// URL",
        ),
        ('[server]\nbackend = "http"\nca = "keys/nope.pem"\n', "server.ca: "),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        load(write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "absent.toml")


def test_config_check_command(tmp_path: Path) -> None:
    good = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "config", "check", str(DEFAULT_FILE)],
        capture_output=True,
        text=True,
    )
    assert good.returncode == 0 and "OK" in good.stdout
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "kiosk.cli",
            "config",
            "check",
            str(write(tmp_path, '[server]\nbackend = "ftp"\n')),
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "server.backend" in bad.stderr
