"""Request and answer models of the kiosk API: the server validates with them and the
kiosk checks the answers it gets against them (a malformed 200 is a fault, not a refusal).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from protocol.nik import NIK_PATTERN

JOB_ID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
# Identifiers fit every database the server runs on (PostgreSQL's integer is 32 bits).
MAX_ID = 2**31 - 1
# The longest a kiosk waits for one print job before it gives up and releases it
# (kiosk.print_service.PrintTimes' ceiling).  A reservation's lease on the server must
# outlast it plus a restart and reconciliation: the server refuses a shorter lease.
PRINT_DEADLINE_CEILING = 300.0
LEASE_FLOOR = dt.timedelta(seconds=2 * PRINT_DEADLINE_CEILING)


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# A moment in an answer always carries its UTC offset, as OpenAPI's date-time promises.
UtcDateTime = Annotated[dt.datetime, AfterValidator(_utc)]
# Free text from a kiosk is one line of printable characters: no NUL (PostgreSQL refuses
# it in text and JSON, which made a release reason with one a 500), no control codes.
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
# A heartbeat's device and supply names (kept in a JSON column, which takes any text).
Short = Annotated[str, StringConstraints(max_length=64)]


def line(most: int) -> Any:
    """A field of one line of at most ``most`` characters."""
    return Annotated[str, StringConstraints(max_length=most, pattern=ONE_LINE)]


class Request(BaseModel):
    """A request from a kiosk: strict types (no "1" or 1.0 for an id, no false for a
    score), every number and string bounded, no field the API does not know (the
    schema says ``additionalProperties: false``, so what it allows is what is accepted)."""

    model_config = ConfigDict(strict=True, extra="forbid")


# The parts a kiosk can name as not its own real device (kiosk.app.KioskApp.build).
PART_NAMES = ("card", "sam", "fingerprint", "qr", "printer", "server")


class KioskBuild(Request):
    """What the kiosk is made of, reported with every session opening and heartbeat: its
    configured mode and the parts that are simulators (or were handed in rather than
    built from a production configuration).  A server trusts an e-KTP session only from
    a kiosk reporting ``production`` and none."""

    mode: Literal["production", "demo"]
    simulated: list[Literal["card", "sam", "fingerprint", "qr", "printer", "server"]] = Field(
        default_factory=list, max_length=len(PART_NAMES)
    )

    @property
    def trusted(self) -> bool:
        return self.mode == "production" and not self.simulated

    @property
    def label(self) -> str:
        """The compact form the server's alert and audit keep ("demo", "simulated:card")."""
        if self.simulated:
            return "simulated:" + ",".join(sorted(set(self.simulated)))
        return self.mode


class CardAssertion(Request):
    """What the kiosk asserts after reading an e-KTP: chip authenticated, finger matched,
    and the evidence of the chip read (recorded by the server's audit, so a session from
    a read card can be told from one with a typed NIK; no personal data in it)."""

    chip_authenticated: Literal[True]
    fingerprint_matched: Literal[True]
    finger_score: float = Field(ge=0, le=1)
    # SHA-256 of the chip's signed files and their signature, as read.
    signed_data_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    # The SAM's authentication session with the chip (a digest of both challenges).
    sam_session: str = Field(pattern=r"^[0-9a-f]{32}$")


class EktpLogin(Request):
    method: Literal["ektp"]
    nik: str = Field(pattern=NIK_PATTERN)
    card: CardAssertion
    build: KioskBuild | None = None


class PinLogin(Request):
    method: Literal["pin"]
    nik: str = Field(pattern=NIK_PATTERN)
    pin: str = Field(pattern=r"^[0-9]{6}$")
    build: KioskBuild | None = None


class QrLogin(Request):
    method: Literal["qr"]
    token: str = Field(min_length=8, max_length=64)
    build: KioskBuild | None = None


# One shape per way in: what each needs is required, so the schema says exactly what the
# server accepts (a ``method`` with the fields of another is refused as invalid).
OpenSession = Annotated[EktpLogin | PinLogin | QrLogin, Field(discriminator="method")]


class SessionOpened(BaseModel):
    session: str
    method: str
    expires_at: UtcDateTime
    name: str | None  # for the greeting; None when the registry does not know the NIK


class DocumentSummary(BaseModel):
    id: int
    kind: str
    title: str
    medium: str
    number: str


class DocumentList(BaseModel):
    documents: list[DocumentSummary]


class ReserveRequest(Request):
    job_id: str = Field(pattern=JOB_ID)
    document_id: int = Field(ge=1, le=MAX_ID)
    print_code: str = Field(pattern=r"^[0-9]{8}$")


class ReservationState(BaseModel):
    job_id: str
    document_id: int
    # expired: the lease ended and another kiosk or an officer took the document.
    # held: the kiosk cannot tell whether it printed; the office decides (no lease).
    state: Literal["reserved", "confirmed", "released", "expired", "held"]


class SignedDocument(ReservationState):
    # Until when the reservation holds the document for this job (the lease).
    lease_until: UtcDateTime | None = None
    payload: dict[str, Any]
    signature: str
    key_id: str


class ReleaseRequest(Request):
    reason: line(200) = ""  # type: ignore[valid-type]


class HoldRequest(Request):
    """Why the kiosk cannot tell whether the document came out (said to the office)."""

    reason: line(200)  # type: ignore[valid-type]


# A release's version as the fleet names it (the package's version: "1.4.0", "1.4.0+fix1").
VERSION = r"^[0-9A-Za-z][0-9A-Za-z.+~-]{0,39}$"
# idle: nothing to do; waiting: a target, but not now (outside the window, or a citizen
# is being served); booted: the new version runs and its health gate is being passed; ok:
# it passed; rolled_back: it did not, and the previous version runs again.
UpdateState = Literal[
    "idle", "waiting", "downloading", "installing", "booted", "ok", "rolled_back", "failed"
]


class UpdateReport(Request):
    """What the kiosk's updater last did, told with every heartbeat: the version it was
    asked for (``target``), where it stands, and why an update did not take (a rollback
    says what failed: "health gate: printer not ready in 300 s")."""

    target: Annotated[str, StringConstraints(pattern=VERSION)] | None = None
    state: UpdateState = "idle"
    why: line(200) = ""  # type: ignore[valid-type]
    # The A/B slot the kiosk runs from ("a", "b"; "" where there is none).
    slot: Literal["a", "b", ""] = ""


class HeartbeatRequest(Request):
    state: line(40)  # type: ignore[valid-type]
    devices: dict[Short, Short] = Field(default_factory=dict, max_length=32)
    supplies: dict[Short, Annotated[int, Field(ge=-1, le=100_000)]] = Field(
        default_factory=dict, max_length=32
    )
    audit_head: line(64) | None = None  # type: ignore[valid-type]
    # The audit chain's record count (records are numbered 1..count), and the hash of
    # record number ``HeartbeatAnswer.audit_count`` of the last answer: the proof that
    # the chain the server knows is a prefix of this one (a log cut or rewritten since
    # cannot give it).  Absent after a restart; the answer then names the count to prove.
    audit_count: int | None = Field(default=None, ge=0, le=2**53)
    audit_anchor: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    # Why the kiosk does not serve ("" when it does) and whether a technician closed it.
    reason: line(200) = ""  # type: ignore[valid-type]
    closed: bool = False
    version: line(40) = ""  # type: ignore[valid-type]
    build: KioskBuild | None = None
    update: UpdateReport | None = None


class UpdateTarget(BaseModel):
    """The version the fleet's rollout wants this kiosk to run, and where its signed
    bundle is.  Only a hint: the kiosk's updater installs nothing whose signature its own
    keyring does not verify, so a forged answer can at worst name a real older release."""

    rollout: int
    version: str
    url: str  # the bundle, fetched with the kiosk's client certificate
    sha256: str
    size: int
    # The office's maintenance window in local time ("22:00", "05:00"; None: any time).
    window_start: str | None = None
    window_end: str | None = None


# What the office can ask of a kiosk from its console page (server.commands).
CommandAction = Literal["out_of_service", "in_service", "notice", "restart", "diagnostics"]


class KioskCommand(BaseModel):
    """An office's action for this kiosk, delivered with the heartbeat's answer until the
    kiosk posts its result.  ``force``: a supervisor's, done even while a citizen is
    being served (otherwise refused then)."""

    id: int
    action: CommandAction
    text: str = ""  # the reason, or the notice
    force: bool = False


class HeartbeatAnswer(BaseModel):
    server_time: UtcDateTime
    # The audit record count the server holds for this kiosk (None: none yet).
    audit_count: int | None = None
    target: UpdateTarget | None = None
    commands: list[KioskCommand] = Field(default_factory=list)


class DiagnosticCheck(Request):
    name: line(64)  # type: ignore[valid-type]
    ok: bool
    detail: line(300) = ""  # type: ignore[valid-type]


class DiagnosticsBundle(Request):
    """What a technician would look at first, collected by the kiosk for the office:
    its checks, its last errors, supplies and versions.  No personal data: the checks
    and log lines a kiosk writes carry masked NIKs at most, and no name, photo or
    finger ever reaches its log."""

    state: line(40)  # type: ignore[valid-type]
    checks: list[DiagnosticCheck] = Field(default_factory=list, max_length=64)
    errors: list[line(300)] = Field(default_factory=list, max_length=50)  # type: ignore[valid-type]
    supplies: dict[Short, Annotated[int, Field(ge=-1, le=100_000)]] = Field(
        default_factory=dict, max_length=32
    )
    versions: dict[Short, line(80)] = Field(default_factory=dict, max_length=16)  # type: ignore[valid-type]


class CommandResult(Request):
    outcome: Literal["done", "refused", "failed"]
    detail: line(200) = ""  # type: ignore[valid-type]
    diagnostics: DiagnosticsBundle | None = None


class CommandState(BaseModel):
    id: int
    state: Literal["pending", "sent", "done", "refused", "failed", "expired"]


class Verification(BaseModel):
    status: Literal["active", "superseded", "revoked", "unknown"]
    kind: str | None = None
    title: str | None = None
    number: str | None = None
    issued: dt.date | None = None
    superseded_by: str | None = None


class IssuerKey(BaseModel):
    key_id: str
    public_key_pem: str


class EnrolmentRequest(Request):
    """A kiosk's certificate request (PKCS#10, PEM), made with a key that never leaves
    the kiosk."""

    csr: str = Field(min_length=1, max_length=4096)


ENROLMENT_ID = r"^[A-Za-z0-9_-]{43}$"


class EnrolmentState(BaseModel):
    request: str
    kiosk_id: str
    fingerprint: str  # SHA-256 of the kiosk's public key, hex
    status: Literal["pending", "signed", "rejected"]
    cert: str | None = None  # PEM, once signed
    issuer_key: str | None = None  # the document-signing key (PEM), once signed


class Problem(BaseModel):
    detail: Any
