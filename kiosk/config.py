"""Kiosk configuration: one TOML file, validated at start, declared once (pydantic).

The models below are the single source of every key's type, default and meaning; the
shipped ``config/kiosk.toml`` is generated from them (``adm-kiosk config template``) and a
test keeps the two equal.  Errors name the key and the problem
(``card.backend: must be one of pcsc, sim``); keys the kiosk does not know are rejected
rather than ignored.

``kiosk.mode`` decides what may be composed.  ``production`` (the default) refuses every
simulated backend, the embedded demo server, the test issuer key and the demo technician
PIN, and requires the ``[server]`` and ``[technician]`` tables to be written out in the
file.  ``demo`` (``config/demo.toml``) is what ``adm-kiosk simulate`` runs; only the
simulator layer can compose it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kiosk.technician import DEMO_PIN, PinHashError, check_pin_hash, pin_matches
from protocol.identity import key_fingerprint

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
DEFAULT_FILE = CONFIG_DIR / "kiosk.toml"  # the production template
DEMO_FILE = CONFIG_DIR / "demo.toml"  # what `adm-kiosk simulate` runs
SYSTEM_FILE = Path("/etc/adm/kiosk.toml")  # where a provisioned kiosk keeps its own
# The e-KTP issuer test key of the simulator (config/keys/ in the source tree): pinned on
# a production kiosk it would accept cards signed by anyone holding the test key, whose
# private half is public in this repository.  Refused by its name and, wherever the file
# was copied and however it was re-encoded, by the SHA-256 of its SubjectPublicKeyInfo:
# the installed package carries no copy of the key to compare with, so the fingerprint
# lives here (a test ties it to the simulator's key).
TEST_ISSUER_KEYS = frozenset({"ektp-issuer-test.pem"})
TEST_ISSUER_KEY_SHA256 = frozenset(
    {"b0d8419a4b355a76f327e23c58281f17b788e376111939fef22444e80df86789"}
)

# Backend names that are simulators: only the sim layer can build them.
SIMULATED = {
    "card.backend": "sim",
    "fingerprint.backend": "sim",
    "qr.backend": "sim",
    "printer.backend": "sim",
    "server.backend": "embedded",
}


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True)


class KioskSection(_Section):
    id: str = Field(
        "",
        max_length=64,
        description="this kiosk's identity at the central server (the CN of its certificate)",
    )
    mode: Literal["production", "demo"] = Field(
        "production",
        description="production | demo (demo composes simulators; never on a real kiosk)",
    )
    language: Literal["id", "en"] = Field("id", description="interface language: id | en")
    store: str = Field(
        "/var/lib/adm-kiosk/kiosk.db",
        description='local SQLite store (print jobs, outbox, card ledger, audit); "" keeps '
        "records in memory (tests only)",
    )


class CardSection(_Section):
    backend: Literal["pcsc", "sim"] = Field(
        "pcsc", description="pcsc (pyscard through pcscd) | sim (in-process; demo only)"
    )
    reader: str = Field(
        "",
        description="substring of the PC/SC name of the contactless e-KTP reader (pcsc_scan "
        "lists them); required",
    )
    sam_reader: str = Field(
        "", description="substring of the PC/SC name of the SAM (contact) slot; required"
    )
    issuer_key: str = Field(
        "/etc/adm/keys/ektp-issuer.pem",
        description="pinned e-KTP issuer public key (PEM; relative to this file's folder)",
    )
    extended_apdu: bool = Field(
        True, description="read files with extended-length APDUs (fewer, larger reads)"
    )


class FingerprintSection(_Section):
    backend: Literal["none", "serial", "sim"] = Field(
        "none",
        description="none (no scanner: the e-KTP path is not offered) | serial (an R30x/"
        "ZFM/AS608-family module) | sim (in-process stub; demo only)",
    )
    port: str = Field("", description="serial device of the module (udev's stable name)")
    baud: int = Field(57600, ge=9600, le=115200, description="must be the module's own")
    packet_size: Literal[32, 64, 128, 256] = Field(
        128, description="data packet size; must be the module's own"
    )
    threshold: int = Field(
        50, ge=1, le=1000, description="match score at or above which the finger matches"
    )
    attempts: int = Field(
        4, ge=1, le=10, description="finger attempts per session before NIK + PIN is offered"
    )


class QrSection(_Section):
    backend: Literal["none", "serial", "sim"] = Field(
        "none",
        description="none (no scanner: the QR path is not offered) | serial | sim (demo only)",
    )
    port: str = Field("", description="serial device of the scanner")
    baud: int = Field(115200, ge=1200, le=921600, description="the scanner's baud rate")
    eol: Literal["cr", "crlf"] = Field("cr", description="how the scanner ends a code")


def _serial_range(text: str) -> tuple[str, str] | None:
    """``FIRST..LAST`` of the blank cards in the hopper (None when empty)."""
    if not text:
        return None
    from printing.card_stock import serial_range

    first, _, last = text.partition("..")
    serial_range(first.strip(), last.strip())  # raises ValueError with the reason
    return first.strip(), last.strip()


class PrinterSection(_Section):
    backend: Literal["cups", "sim"] = Field(
        "cups", description="cups (pycups) | sim (in-process; demo only)"
    )
    server: str = Field(
        "", description='CUPS server: socket path or host; "" = $CUPS_SERVER or the system'
    )
    queue_a4: str = Field("adm-a4", min_length=1, description="CUPS queue of the A4 printer")
    queue_card: str = Field(
        "adm-card", min_length=1, description="CUPS queue of the CR80 card printer"
    )
    card_serials: str = Field(
        "",
        description='blank cards in the card printer\'s hopper, "FIRST..LAST" fed in order '
        '("" = none loaded)',
    )
    job_memory: float = Field(
        0.0,
        ge=0,
        le=7 * 86400,
        description="seconds the printers keep a finished job in their own IPP job list "
        "(a property of the model); a job CUPS lost and the printer does not list counts "
        "as never printed only within it. 0 = unknown: such a job is held for the office",
    )

    @field_validator("card_serials")
    @classmethod
    def _serials(cls, value: str) -> str:
        _serial_range(value)
        return value

    @property
    def card_range(self) -> tuple[str, str] | None:
        return _serial_range(self.card_serials)

    @property
    def queues(self) -> dict[str, str]:
        """Medium -> CUPS queue."""
        return {"a4": self.queue_a4, "card": self.queue_card}


class ServerSection(_Section):
    backend: Literal["http", "embedded"] = Field(
        "http", description="http (the central server) | embedded (in-process demo; demo only)"
    )
    url: str = Field("https://127.0.0.1:8443", description="the kiosk API (mTLS only)")
    ca: str = Field("", description="the deployment CA that signed the server (PEM)")
    cert: str = Field(
        "", description="this kiosk's client certificate, from 'adm-server pki issue-kiosk ID'"
    )
    key: str = Field("", description="its private key")
    issuer_key: str = Field("", description="pinned Ed25519 key that signs documents (PEM)")
    database: str = Field(
        "sqlite:///adm-server.db",
        description='with "embedded": the demo server\'s database (with cert set: the '
        "simulator's server already running at url, not started here)",
    )
    home: str = Field(
        "adm-server-home", description='with "embedded": its key folder (CA, certificates)'
    )


class TechnicianSection(_Section):
    pin_hash: str = Field(
        "",
        description="scrypt hash of the technician PIN that opens diagnostics (tap the header "
        "five times); make one with 'adm-kiosk pin-hash'; \"\" disables the screen entry",
    )
    max_attempts: int = Field(5, ge=1, le=20, description="wrong PINs before the lockout")
    lockout_minutes: int = Field(
        15, ge=1, le=1440, description="how long the screen entry stays locked after them"
    )

    @field_validator("pin_hash")
    @classmethod
    def _pin_hash(cls, value: str) -> str:
        if value:
            try:
                check_pin_hash(value)
            except PinHashError as exc:
                raise ValueError(str(exc)) from None
        return value


class UiSection(_Section):
    dpi: int = Field(
        102,
        ge=50,
        le=400,
        description="the panel's pixels per inch (a 21.5-inch 1920x1080 panel: 102); every "
        "touch target is at least 15 mm at it",
    )
    office_notice: str = Field(
        "",
        max_length=200,
        description="a notice of the office shown on the idle screen as written (opening "
        'hours, a closure); "" for none',
    )
    orientation: Literal["portrait", "landscape"] = Field(
        "portrait",
        description="the panel: portrait (1080x1920) | landscape (1920x1080); the window "
        "is exactly the panel",
    )
    voice: Literal["espeak", "none"] = Field(
        "espeak",
        description="voice guidance when a citizen turns it on: espeak (espeak-ng, Indonesian "
        "and English voices) | none (no voice output on this kiosk)",
    )
    audio_device: str = Field(
        "",
        max_length=200,
        description='where the voice goes: "" espeak-ng\'s own output, an ALSA device name '
        "(played with aplay -D), or wav:FOLDER (files, for a headless kiosk)",
    )


class UpdatesSection(_Section):
    """The talk with the privileged updater (kiosk.update_link)."""

    kiosk_dir: str = Field(
        "",
        description="where the kiosk tells the updater its target, that it is idle, that it "
        'is ready (the appliance: /run/adm-kiosk/update); "" this kiosk is updated by hand',
    )
    updater_dir: str = Field(
        "/var/lib/adm-update",
        description="where the updater asks the kiosk to stand idle and reports what it did",
    )
    gate_seconds: int = Field(
        300,
        ge=30,
        le=3600,
        description="after an update, how long the new version has to reach READY with its "
        "self-checks before the updater marks its slot bad and boots the previous one",
    )


class Config(_Section):
    kiosk: KioskSection = Field(default_factory=KioskSection)
    card: CardSection = Field(default_factory=CardSection)
    fingerprint: FingerprintSection = Field(default_factory=FingerprintSection)
    qr: QrSection = Field(default_factory=QrSection)
    printer: PrinterSection = Field(default_factory=PrinterSection)
    server: ServerSection = Field(default_factory=ServerSection)
    technician: TechnicianSection = Field(default_factory=TechnicianSection)
    ui: UiSection = Field(default_factory=UiSection)
    updates: UpdatesSection = Field(default_factory=UpdatesSection)

    @property
    def simulated(self) -> list[str]:
        """The keys that name a simulator (empty for a kiosk of real parts)."""
        return [key for key, name in SIMULATED.items() if _get(self, key) == name]


def _get(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _message(err: Any) -> str:
    key = ".".join(str(p) for p in err["loc"])
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "extra_forbidden":
        return f"{key}: unknown key"
    if kind == "literal_error":
        expected = ctx.get("expected", "").replace("'", "").replace(" or ", ", ")
        return f"{key}: must be one of {expected}, not {err['input']!r}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{key}: must be a table"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        want = {"string_type": "str", "bool_type": "bool", "int_type": "int"}.get(kind, kind)
        return f"{key}: must be a {want}, not {err['input']!r}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{key}: {msg}"


def parse(data: dict[str, Any]) -> Config:
    """Validate a TOML document already read (types, choices, unknown keys)."""
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_message(exc.errors()[0])) from None


def _resolve(base: Path, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else base / path


def issuer_key_path(config: Config, base: Path | None = None) -> Path:
    """The pinned e-KTP issuer key file; a relative path is relative to the config folder."""
    return _resolve(base or CONFIG_DIR, config.card.issuer_key)


def _production(config: Config, data: dict[str, Any]) -> None:
    """What a production kiosk must have and must not have; raises naming the key."""
    for key in config.simulated:
        raise ConfigError(
            f"{key}: {_get(config, key)!r} is a simulator; refused with "
            'kiosk.mode = "production" (simulators run only with kiosk.mode = "demo")'
        )
    for table in ("server", "technician"):
        if table not in data:
            raise ConfigError(f'{table}: required with kiosk.mode = "production"')
    for key in ("kiosk.id", "card.reader", "card.sam_reader"):
        if not _get(config, key):
            raise ConfigError(f'{key}: required with kiosk.mode = "production"')
    for device in ("fingerprint", "qr"):
        if _get(config, f"{device}.backend") == "serial" and not _get(config, f"{device}.port"):
            raise ConfigError(f'{device}.port: required with {device}.backend = "serial"')
    if not config.technician.pin_hash:
        raise ConfigError(
            'technician.pin_hash: required with kiosk.mode = "production" '
            "(make one with 'adm-kiosk pin-hash')"
        )
    if pin_matches(DEMO_PIN, config.technician.pin_hash):
        raise ConfigError("technician.pin_hash: is the demo PIN; choose the kiosk's own")
    key_file = Path(config.card.issuer_key)
    if key_file.name in TEST_ISSUER_KEYS or _same_file_as_test_key(key_file):
        raise ConfigError("card.issuer_key: is the simulator's test key; pin the real issuer key")


def _same_file_as_test_key(key: Path) -> bool:
    """Whether ``key`` holds the simulator's test issuer key, in any PEM or DER form."""
    return public_key_sha256(key) in TEST_ISSUER_KEY_SHA256


def public_key_sha256(key: Path) -> str:
    """The SHA-256 of the SubjectPublicKeyInfo in ``key`` (PEM or DER; "" when it holds
    none): the same key gives the same value however the file is encoded."""
    from cryptography.hazmat.primitives import serialization

    try:
        data = key.read_bytes()
    except OSError:
        return ""
    try:
        if b"-----BEGIN" in data:
            public = serialization.load_pem_public_key(data)
        else:
            public = serialization.load_der_public_key(data)
    except (ValueError, TypeError):
        return ""
    return key_fingerprint(public)


def demo_against_real_server(config: Config) -> None:
    """A demo composes simulators whose answers the central server must not believe (a
    simulated matcher says MATCH for any finger): it runs only against the embedded
    server the simulator starts, never a real one."""
    if config.kiosk.mode == "demo" and config.server.backend != "embedded":
        raise ConfigError(
            f"server.backend: {config.server.backend!r} is refused with kiosk.mode = "
            '"demo" (a demo kiosk talks only to the embedded server, backend = "embedded")'
        )


def load(path: Path | None = None) -> Config:
    """Read and validate ``path`` (the production template when None); relative file
    names in it are resolved against its folder."""
    path = path or DEFAULT_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    config = parse(data)
    base = path.resolve().parent
    key = issuer_key_path(config, base)
    if not key.is_file():
        raise ConfigError(f"card.issuer_key: {key} does not exist")
    config.card.issuer_key = str(key)
    if config.kiosk.mode == "production":
        _production(config, data)
    # "embedded" with credentials: the simulator's server already running (a test's, a
    # second demo kiosk's), reached over the same mTLS.
    if config.server.backend == "http" or config.server.cert:
        for name in ("ca", "cert", "key", "issuer_key"):
            value = getattr(config.server, name)
            if not value:
                raise ConfigError(
                    f"server.{name}: required with server.backend = {config.server.backend!r}"
                    + (" and server.cert" if config.server.backend == "embedded" else "")
                )
            file = _resolve(base, value)
            if not file.is_file():
                raise ConfigError(f"server.{name}: {file} does not exist")
            setattr(config.server, name, str(file))
        if not config.server.url.startswith("https://"):
            raise ConfigError("server.url: must be an https:// URL (the kiosk API is mTLS only)")
    demo_against_real_server(config)
    return config


def template() -> str:
    """The production configuration file with every key, its default and its meaning:
    what ``config/kiosk.toml`` holds (a test keeps them equal)."""
    lines = [
        "# ADM kiosk configuration (production).  Generated from kiosk/config.py by",
        "# 'adm-kiosk config template'; every key is listed with its default.  Unknown keys",
        "# are rejected at start, so a typo never falls back to a default silently.",
        '# Required with kiosk.mode = "production": kiosk.id, the [server] credentials,',
        "# card.issuer_key (the real issuer key) and technician.pin_hash.",
    ]
    for name, field in Config.model_fields.items():
        section = field.default_factory() if field.default_factory else None  # type: ignore[call-arg]
        assert isinstance(section, BaseModel)
        lines += ["", f"[{name}]"]
        for key, info in type(section).model_fields.items():
            if info.description:
                lines.append(f"# {info.description}")
            lines.append(f"{key} = {_toml(getattr(section, key))}")
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def simulated_backend(key: str, name: str) -> ConfigError:
    """The refusal of a simulator name by the kiosk's own (production) composition."""
    return ConfigError(
        f"{key}: {name!r} is a simulator; only the simulator (adm-kiosk simulate, "
        'kiosk.mode = "demo") can compose it'
    )
