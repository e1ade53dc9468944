"""Kiosk configuration: one TOML file, validated at start.

Errors name the key and the problem (``card.backend: must be one of pcsc, sim``); keys
the kiosk does not know are rejected rather than ignored.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "config" / "kiosk.toml"


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key."""


@dataclass
class KioskSection:
    id: str = "adm-sim-001"
    language: str = "id"
    store: str = ""  # the local SQLite store; "" keeps records in memory (tests only)


@dataclass
class CardSection:
    backend: str = "pcsc"
    reader: str = "Virtual PCD 00 00"
    sam_reader: str = "Virtual PCD 00 01"
    issuer_key: str = "keys/ektp-issuer-test.pem"
    extended_apdu: bool = True


@dataclass
class FingerprintSection:
    backend: str = "sim"


@dataclass
class PrinterSection:
    backend: str = "cups"
    server: str = ""
    card_serials: str = ""


@dataclass
class ServerSection:
    backend: str = "embedded"
    url: str = "https://127.0.0.1:8443"
    # backend = "http": the kiosk's TLS credentials and the pinned issuer key (PEM files;
    # relative paths are relative to the config file's folder).
    ca: str = ""
    cert: str = ""
    key: str = ""
    issuer_key: str = ""
    # backend = "embedded": the demo server's database and key folder.
    database: str = "sqlite:///adm-server.db"
    home: str = "adm-server-home"


@dataclass
class TechnicianSection:
    # SHA-256 (hex) of the technician PIN that opens diagnostics from the screen; ""
    # disables it (diagnostics stay available through `adm-kiosk diagnostics`).
    pin_sha256: str = ""


@dataclass
class Config:
    kiosk: KioskSection = field(default_factory=KioskSection)
    card: CardSection = field(default_factory=CardSection)
    fingerprint: FingerprintSection = field(default_factory=FingerprintSection)
    printer: PrinterSection = field(default_factory=PrinterSection)
    server: ServerSection = field(default_factory=ServerSection)
    technician: TechnicianSection = field(default_factory=TechnicianSection)


CHOICES = {
    "card.backend": ("pcsc", "sim"),
    "fingerprint.backend": ("sim",),
    "printer.backend": ("cups", "sim"),
    "server.backend": ("http", "embedded"),
    "kiosk.language": ("id", "en"),
}


def _fill(obj: Any, data: dict[str, Any], prefix: str) -> None:
    known = {f.name: f for f in fields(obj)}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key not in known:
            raise ConfigError(f"{path}: unknown key")
        current = getattr(obj, key)
        if is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: must be a table")
            _fill(current, value, f"{path}.")
            continue
        if not isinstance(value, type(current)) or isinstance(value, bool) != isinstance(
            current, bool
        ):
            raise ConfigError(f"{path}: must be a {type(current).__name__}, not {value!r}")
        if path in CHOICES and value not in CHOICES[path]:
            raise ConfigError(f"{path}: must be one of {', '.join(CHOICES[path])}, not {value!r}")
        setattr(obj, key, value)


def parse(data: dict[str, Any]) -> Config:
    config = Config()
    _fill(config, data, "")
    return config


def issuer_key_path(config: Config, base: Path | None = None) -> Path:
    """The pinned issuer key file; a relative path is relative to the config directory."""
    path = Path(config.card.issuer_key)
    return path if path.is_absolute() else (base or DEFAULT_FILE.parent) / path


def load(path: Path | None = None) -> Config:
    """Read and validate ``path`` (the defaults file when None)."""
    path = path or DEFAULT_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    config = parse(data)
    if config.printer.card_serials:
        from printing.card_stock import serial_range

        first, _, last = config.printer.card_serials.partition("..")
        try:
            serial_range(first.strip(), last.strip())
        except ValueError as exc:
            raise ConfigError(f"printer.card_serials: {exc}") from None
    key = issuer_key_path(config, path.resolve().parent)
    if not key.is_file():
        raise ConfigError(f"card.issuer_key: {key} does not exist")
    config.card.issuer_key = str(key)
    pin = config.technician.pin_sha256
    if pin and (len(pin) != 64 or any(c not in "0123456789abcdefABCDEF" for c in pin)):
        raise ConfigError("technician.pin_sha256: must be 64 hex digits (sha256sum of the PIN)")
    if config.server.backend == "http":
        for name in ("ca", "cert", "key", "issuer_key"):
            value = getattr(config.server, name)
            if not value:
                raise ConfigError(f'server.{name}: required with server.backend = "http"')
            file = Path(value) if Path(value).is_absolute() else path.resolve().parent / value
            if not file.is_file():
                raise ConfigError(f"server.{name}: {file} does not exist")
            setattr(config.server, name, str(file))
        if not config.server.url.startswith("https://"):
            raise ConfigError("server.url: must be an https:// URL (the kiosk API is mTLS only)")
    return config
