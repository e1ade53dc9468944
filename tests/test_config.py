"""Configuration: the demo file is valid, the production template is the models'
defaults, a production kiosk refuses simulators and demo secrets; bad files fail with the
key named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.config import DEFAULT_FILE, DEMO_FILE, ConfigError, load, template
from kiosk.technician import DEMO_PIN, hash_pin

KEYS = DEFAULT_FILE.parent / "keys"
DEMO = '[kiosk]\nmode = "demo"\n'
REAL_PIN = hash_pin("975310")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(text)
    (tmp_path / "keys").symlink_to(KEYS)
    return path


def test_demo_file_is_valid() -> None:
    cfg = load(DEMO_FILE)
    assert cfg.kiosk.mode == "demo" and Path(cfg.card.issuer_key).is_file()
    # Only the embedded server is a simulator: the fingerprint module and the QR scanner
    # are the real serial drivers, against the rig's emulators.
    assert set(cfg.simulated) == {"server.backend"}
    assert (cfg.fingerprint.backend, cfg.qr.backend) == ("serial", "serial")


def test_shipped_template_is_generated_from_the_models() -> None:
    """One source of defaults: config/kiosk.toml is what the models say, key for key."""
    assert DEFAULT_FILE.read_text(encoding="utf-8") == template()


def test_shipped_template_is_refused_until_filled_in() -> None:
    with pytest.raises(ConfigError, match=r"card\.issuer_key: .* does not exist"):
        load(DEFAULT_FILE)


def production(tmp_path: Path, creds: Path, extra: str = "", pin: str = REAL_PIN) -> Path:
    """A complete production file; ``extra`` TOML is merged in by table."""
    for name in ("ca.pem", "kiosk.pem", "kiosk.key", "issuer.pub", "ektp-issuer.pem"):
        (creds / name).write_text("PEM")
    tables: dict[str, dict[str, str]] = {
        "kiosk": {"id": '"adm-bgr-001"', "mode": '"production"'},
        "card": {
            "reader": '"ACS ACR1252 PICC"',
            "sam_reader": '"ACS ACR1252 SAM"',
            "issuer_key": f'"{creds / "ektp-issuer.pem"}"',
        },
        "server": {
            "url": '"https://adm.example.go.id"',
            "ca": f'"{creds / "ca.pem"}"',
            "cert": f'"{creds / "kiosk.pem"}"',
            "key": f'"{creds / "kiosk.key"}"',
            "issuer_key": f'"{creds / "issuer.pub"}"',
        },
        "technician": {"pin_hash": f'"{pin}"'},
    }
    table = ""
    for line in extra.splitlines():
        if line.startswith("["):
            table = line.strip("[]")
            tables.setdefault(table, {})
        elif "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            tables[table][key] = value
    text = "".join(
        f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in values.items())
        for name, values in tables.items()
    )
    path = tmp_path / "kiosk.toml"
    path.write_text(text)
    return path


def test_a_complete_production_file_is_accepted(tmp_path: Path) -> None:
    cfg = load(production(tmp_path, tmp_path))
    assert cfg.kiosk.mode == "production" and cfg.simulated == []
    assert cfg.fingerprint.backend == "none" and cfg.qr.backend == "none"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[card]\nbackend = "sim"', "card.backend: 'sim' is a simulator"),
        ('[fingerprint]\nbackend = "sim"', "fingerprint.backend: 'sim' is a simulator"),
        ('[qr]\nbackend = "sim"', "qr.backend: 'sim' is a simulator"),
        ('[qr]\nbackend = "serial"', 'qr.port: required with qr.backend = "serial"'),
        ('[fingerprint]\nbackend = "serial"', "fingerprint.port: required"),
        ('[fingerprint]\nbackend = "serial"\nport = "/dev/ttyACM0"\nattempts = 0', "attempts"),
        ('[printer]\nbackend = "sim"', "printer.backend: 'sim' is a simulator"),
        ('[server]\nbackend = "embedded"', "server.backend: 'embedded' is a simulator"),
        (f'[card]\nissuer_key = "{KEYS / "ektp-issuer-test.pem"}"', "card.issuer_key: is the"),
        ('[kiosk]\nid = ""', "kiosk.id: required"),
        ('[card]\nreader = ""', "card.reader: required"),
        ('[technician]\npin_hash = ""', "technician.pin_hash: required"),
    ],
)
def test_production_refuses_simulators_and_demo_secrets(
    tmp_path: Path, extra: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        load(production(tmp_path, tmp_path, extra))


def test_production_refuses_the_demo_pin(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"technician\.pin_hash: is the demo PIN"):
        load(production(tmp_path, tmp_path, pin=hash_pin(DEMO_PIN)))


def test_production_refuses_a_copy_of_the_test_key_under_another_name(tmp_path: Path) -> None:
    copy = tmp_path / "issuer-real.pem"
    copy.write_bytes((KEYS / "ektp-issuer-test.pem").read_bytes())
    with pytest.raises(ConfigError, match=r"card\.issuer_key: is the simulator's test key"):
        load(production(tmp_path, tmp_path, f'[card]\nissuer_key = "{copy}"'))


@pytest.mark.parametrize("form", ["pem-rewrapped", "der"])
def test_the_test_key_is_refused_by_its_fingerprint_without_the_source_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    """As in the installed package, where no config/keys folder is beside the code: the
    test key, re-encoded under another name, is still refused (its fingerprint is in
    the code), and the fingerprint is that of the simulator's own key."""
    import base64
    import hashlib

    from cryptography.hazmat.primitives import serialization

    from kiosk import config as kconfig
    from sim.keys import issuer_public_pem

    monkeypatch.setattr(kconfig, "CONFIG_DIR", tmp_path / "no-source-tree")
    der = serialization.load_pem_public_key(issuer_public_pem()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert hashlib.sha256(der).hexdigest() in kconfig.TEST_ISSUER_KEY_SHA256
    copy = tmp_path / "dukcapil-issuer.key"
    if form == "der":
        copy.write_bytes(der)
    else:
        b64 = base64.b64encode(der).decode()
        lines = [b64[i : i + 40] for i in range(0, len(b64), 40)]  # not the usual 64
        copy.write_text(
            "\n".join(["-----BEGIN PUBLIC KEY-----", *lines, "-----END PUBLIC KEY-----"])
        )
    with pytest.raises(ConfigError, match=r"card\.issuer_key: is the simulator's test key"):
        load(production(tmp_path, tmp_path, f'[card]\nissuer_key = "{copy}"'))


@pytest.mark.parametrize("table", ["server", "technician"])
def test_production_requires_the_server_and_technician_tables(tmp_path: Path, table: str) -> None:
    path = production(tmp_path, tmp_path)
    text = path.read_text()
    start = text.index(f"[{table}]")
    end = text.find("\n[", start + 1)
    path.write_text(text[:start] + (text[end + 1 :] if end != -1 else ""))
    with pytest.raises(ConfigError, match=f"{table}: required"):
        load(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (DEMO + '[card]\nbackend = "usb"\n', "card.backend: must be one of pcsc, sim"),
        ('[card]\nreadr = "x"\n', "card.readr: unknown key"),
        ("[cards]\n", "cards: unknown key"),
        ('[card]\nextended_apdu = "yes"\n', "card.extended_apdu: must be a bool"),
        ("[kiosk]\nid = 7\n", "kiosk.id: must be a str"),
        ("card = 3\n", "card: must be a table"),
        ('[printer]\ncard_serials = "B2..A1"\n', "printer.card_serials: not a serial range"),
        ('[card]\nissuer_key = "keys/none.pem"\n', "card.issuer_key:"),
        ("[card\n", "not valid TOML"),
        ('[technician]\npin_hash = "123456"\n', "technician.pin_hash: must be scrypt$"),
        ('[technician]\npin_sha256 = "ab"\n', "technician.pin_sha256: unknown key"),
        ("[technician]\nmax_attempts = 0\n", "technician.max_attempts: "),
        ('[kiosk]\nmode = "test"\n', "kiosk.mode: must be one of production, demo"),
        (DEMO + '[server]\nbackend = "http"\n', "server.ca: required with server.backend"),
        (
            DEMO
            + '[server]\nbackend = "http"\nurl = "http://x"\nca = "keys/ektp-issuer-test.pem"\n'
            'cert = "keys/ektp-issuer-test.pem"\nkey = "keys/ektp-issuer-test.pem"\n'
            'issuer_key = "keys/ektp-issuer-test.pem"\n',
            "server.url: must be an https:// URL",
        ),
        (DEMO + '[server]\nbackend = "http"\nca = "keys/nope.pem"\n', "server.ca: "),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    # Every file names an issuer key that exists, unless the key itself is the subject.
    key = 'issuer_key = "keys/ektp-issuer-test.pem"\n'
    if "[card]\n" in text and "issuer_key" not in text.split("[card]\n", 1)[1].split("[")[0]:
        text = text.replace("[card]\n", "[card]\n" + key, 1)
    elif "[card" not in text and "card = " not in text:
        text += "\n[card]\n" + key
    with pytest.raises(
        ConfigError,
        match=message.replace(".", r"\.").replace("(", r"\(").replace("$", r"\$"),
    ):
        load(write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "absent.toml")


def test_config_check_command(tmp_path: Path) -> None:
    good = subprocess.run(
        [sys.executable, "-m", "cli.kiosk", "config", "check", str(DEMO_FILE)],
        capture_output=True,
        text=True,
    )
    assert good.returncode == 0 and "OK" in good.stdout
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.kiosk",
            "config",
            "check",
            str(write(tmp_path, '[server]\nbackend = "ftp"\n')),
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "server.backend" in bad.stderr
