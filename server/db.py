"""The central server's schema and engine (SQLAlchemy 2).

The same schema runs on SQLite (the default, one file) and PostgreSQL (deployments);
Alembic migrations in ``server/migrations`` create and evolve it, and a test checks that
the migrations and these models agree.  Secrets (print codes, PINs, QR tokens, session
tokens) are only ever stored as keyed hashes (see ``server.security``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

DEFAULT_URL = "sqlite:///adm-server.db"


def utcnow() -> dt.datetime:
    """Naive UTC (both databases store it the same way)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        dt.datetime: DateTime(),
    }


class Family(Base):
    __tablename__ = "families"

    kk_number: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[dict[str, Any]]


class Citizen(Base):
    __tablename__ = "citizens"

    nik: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kk_number: Mapped[str | None] = mapped_column(ForeignKey("families.kk_number"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # order on the KK
    details: Mapped[dict[str, Any]]
    # The kiosk login PIN (keyed hash); None until the office issues one.
    pin_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)


class Application(Base):
    """What a citizen asked the office for; approving it issues a document."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    owner_nik: Mapped[str] = mapped_column(ForeignKey("citizens.nik"), index=True)
    kk_number: Mapped[str | None] = mapped_column(ForeignKey("families.kk_number"))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="submitted")  # → approved
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    officer: Mapped[str | None] = mapped_column(String(64), default=None)


class Document(Base):
    """One approved document.

    ``status``: approved (printable) → reserved (a kiosk holds it for one print job) →
    printed (for good), or back to approved on release; revoked / superseded by an officer.
    """

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    kind: Mapped[str] = mapped_column(String(40))
    number: Mapped[str] = mapped_column(String(60), unique=True)
    owner_nik: Mapped[str] = mapped_column(ForeignKey("citizens.nik"), index=True)
    # Indexed: a citizen's list is "own OR the family's KK", and without this index the
    # OR scans the whole table (measured: most of a worker's time at 15 000 documents).
    kk_number: Mapped[str | None] = mapped_column(ForeignKey("families.kk_number"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="approved")
    approved_at: Mapped[dt.datetime]
    official: Mapped[dict[str, Any]]
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Printed in the document's QR; /verify answers for it.
    verify_code: Mapped[str] = mapped_column(String(32), unique=True)
    # Single-use print code (keyed hash); cleared once the document is printed.
    code_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), default=None)
    reserved_job: Mapped[str | None] = mapped_column(String(36), default=None)
    # The end of the reservation's lease: after it, another kiosk or an officer may take
    # the document (the holder's late confirm still counts until someone does).
    reserved_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    printed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    printed_job: Mapped[str | None] = mapped_column(String(36), default=None)
    printed_kiosk: Mapped[str | None] = mapped_column(String(64), default=None)
    # The office's revocation: when and why (the public check says when, never why).
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    revoked_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    # How many times the public page checked this document's seal (not who checked).
    checks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Kiosk(Base):
    __tablename__ = "kiosks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cert_serial: Mapped[str] = mapped_column(String(64))  # hex; only this cert is accepted
    status: Mapped[str] = mapped_column(String(20), default="active")  # | revoked
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_seen: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_status: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The compact heartbeat history: a row is kept when the status changes or when
    # ``history_at`` is older than the history interval (see server.app Settings).
    history_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    history_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    # The kiosk's audit chain as the server last accepted it: its record count and head.
    # A heartbeat moves the pair only when it proves the new head extends this one
    # (server.alerts.audit_check); a count that shrinks or a chain that does not extend
    # it sets ``audit_alert`` (kept until a supervisor acknowledges it).
    audit_count: Mapped[int | None] = mapped_column(Integer, default=None)
    audit_head: Mapped[str | None] = mapped_column(String(64), default=None)
    audit_alert: Mapped[str | None] = mapped_column(String(200), default=None)
    audit_alert_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # Where the kiosk stands, for the console's filters (free text, e.g. "Kota Bandung").
    office: Mapped[str] = mapped_column(String(100), default="")
    # Why the server stopped believing this kiosk's e-KTP sessions ("simulated:card,
    # fingerprint", "demo", "unreported"), kept until a supervisor acknowledges it.
    trust_alert: Mapped[str | None] = mapped_column(String(200), default=None)
    trust_alert_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # The version the kiosk runs and what its updater last reported (server.rollout): in
    # columns, not only in ``last_status``, because every rollout decision counts them.
    version: Mapped[str] = mapped_column(String(40), default="", server_default="")
    update_target: Mapped[str | None] = mapped_column(String(40), default=None)
    update_state: Mapped[str] = mapped_column(String(20), default="idle", server_default="idle")
    update_why: Mapped[str] = mapped_column(String(200), default="", server_default="")
    update_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class Release(Base):
    """A kiosk release the fleet can be told to run: its signed bundle's digest and where
    kiosks fetch it (a path on this server, or a plain web server beside it)."""

    __tablename__ = "releases"

    version: Mapped[str] = mapped_column(String(40), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    url: Mapped[str] = mapped_column(String(300))
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    published_by: Mapped[str] = mapped_column(String(64))


class KioskCommandRow(Base):
    """An action the office asked of one kiosk (server.commands): delivered with the
    kiosk's heartbeats until it posts the result; a diagnostics bundle is kept here."""

    __tablename__ = "kiosk_commands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kiosk_id: Mapped[str] = mapped_column(ForeignKey("kiosks.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(String(200), default="")
    force: Mapped[bool] = mapped_column(default=False)
    # pending → sent (delivered at least once) → done | refused | failed; or expired
    state: Mapped[str] = mapped_column(String(20), default="pending")
    detail: Mapped[str] = mapped_column(String(200), default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class Rollout(Base):
    """Which version an office (or the whole fleet: ``office`` "") should run, and how it
    gets there: the canary kiosks first (named, plus ``canary_percent`` of the fleet),
    then ``percent`` of it once every canary runs the version healthy.  Paused by a
    supervisor, or by the server when ``max_failures`` kiosks rolled it back."""

    __tablename__ = "rollouts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(ForeignKey("releases.version"))
    office: Mapped[str] = mapped_column(String(100), default="")
    canary: Mapped[list[Any]] = mapped_column(default=list)
    canary_percent: Mapped[int] = mapped_column(Integer, default=0)
    percent: Mapped[int] = mapped_column(Integer, default=100)
    window_start: Mapped[str | None] = mapped_column(String(5), default=None)
    window_end: Mapped[str | None] = mapped_column(String(5), default=None)
    max_failures: Mapped[int] = mapped_column(Integer, default=1)
    # active | paused | superseded (a newer rollout for the same scope took over)
    state: Mapped[str] = mapped_column(String(20), default="active")
    paused_reason: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class QrToken(Base):
    """A single-use login token shown to the citizen as a QR code."""

    __tablename__ = "qr_tokens"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    nik: Mapped[str] = mapped_column(ForeignKey("citizens.nik"))
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class KioskSession(Base):
    """A citizen's short-lived session at one kiosk."""

    __tablename__ = "kiosk_sessions"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    kiosk_id: Mapped[str] = mapped_column(ForeignKey("kiosks.id"))
    nik: Mapped[str] = mapped_column(String(16))  # may be unknown to the registry
    method: Mapped[str] = mapped_column(String(10))  # ektp | pin | qr
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # e-KTP sessions: the chip's authentication evidence as the kiosk reported it (hash
    # of the signed data, SAM session), so the audit tells a read card from a typed NIK.
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class Reservation(Base):
    """One kiosk print job holding one document (the job id is the kiosk's UUID)."""

    __tablename__ = "reservations"

    job_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    kiosk_id: Mapped[str] = mapped_column(ForeignKey("kiosks.id"), index=True)
    # reserved → confirmed | released | expired (another kiosk or an officer took the
    # document after the lease ended)
    state: Mapped[str] = mapped_column(String(12), default="reserved")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # The citizen session that made it: a repeated reserve must come from the same one.
    session_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    settled_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    reason: Mapped[str | None] = mapped_column(String(200), default=None)


class Attempt(Base):
    """Failed guesses on one path (pin / code / qr) by one subject (citizen or kiosk)."""

    __tablename__ = "attempts"

    scope: Mapped[str] = mapped_column(String(10), primary_key=True)  # citizen | kiosk
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    path: Mapped[str] = mapped_column(String(10), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[dt.datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[dt.datetime | None] = mapped_column(default=None)


class Heartbeat(Base):
    __tablename__ = "heartbeats"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kiosk_id: Mapped[str] = mapped_column(ForeignKey("kiosks.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (Index("ix_heartbeats_kiosk_at", "kiosk_id", "at"),)


class Outbox(Base):
    """Messages to citizens (print codes, QR tokens); a gateway would send them."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    nik: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(String(500))  # "{secret}" marks where it goes
    # The secret (print code, QR token) sealed to the sender's key; deleted once sent.
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class AuditEntry(Base):
    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))  # kiosk id, officer name or "public"
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CertRefusal(Base):
    """A request whose (CA-signed) certificate the server refused: unknown to the kiosk
    table, superseded by a re-issue, or revoked.  Repeated refusals raise an alert."""

    __tablename__ = "cert_refusals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    kiosk_id: Mapped[str] = mapped_column(String(64))  # the certificate's common name
    serial: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(20))  # unknown_kiosk | kiosk_revoked


class ConsoleUser(Base):
    """An account of the office's web console (server.console).

    ``role``: officer (office work), supervisor (also kiosks and certificates),
    technician (the fleet only).  The password is an Argon2id hash; ``totp_secret`` the
    optional second factor's shared secret (RFC 6238)."""

    __tablename__ = "console_users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    disabled: Mapped[bool] = mapped_column(default=False)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Sessions started before this are void (a password change logs everyone out).
    password_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The RFC 6238 time step of the last code accepted: a code (or an earlier one) is
    # accepted once, so a code read over a shoulder is worth nothing after its use.
    totp_last_step: Mapped[int | None] = mapped_column(Integer, default=None)


class ConsoleSession(Base):
    """A logged-in browser: the cookie's token (keyed hash only) and its CSRF token."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("console_users.username"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    # The last request of the browser: idle longer than the console's idle limit ends it.
    active_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class KioskRequest(Base):
    """A kiosk's certificate request: the key was made on the kiosk and never leaves it;
    the request waits here until the office signs it where the CA key is kept
    (``adm-server pki sign-kiosk``), and the kiosk collects the certificate."""

    __tablename__ = "kiosk_requests"

    id: Mapped[str] = mapped_column(String(43), primary_key=True)  # random, unguessable
    kiosk_id: Mapped[str] = mapped_column(String(64), index=True)
    csr: Mapped[str] = mapped_column(Text)
    # SHA-256 of the key (SubjectPublicKeyInfo): read out on the kiosk, compared by the
    # office before signing, so a request in the kiosk's name from anyone else is not.
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    cert: Mapped[str | None] = mapped_column(Text, default=None)
    serial: Mapped[str | None] = mapped_column(String(64), default=None)
    decided_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    decided_by: Mapped[str | None] = mapped_column(String(64), default=None)


class ConsoleLoginFailure(Base):
    """A failed console login, by source address: a source that fails too often is
    throttled before any account counts its guesses (server.console.accounts)."""

    __tablename__ = "console_login_failures"
    __table_args__ = (
        Index("ix_console_login_failures_source", "source", "at"),
        Index("ix_console_login_failures_username", "username", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(64))


def make_engine(url: str = DEFAULT_URL, *, migrate: bool = True) -> Engine:
    """An engine for ``url``, migrated to the newest schema unless ``migrate`` is False.

    SQLite gets WAL, foreign keys and a busy timeout so concurrent writers wait, not fail.
    """
    if url.startswith("sqlite"):
        # Named parameters: the API's precompiled statements pass dicts (server.prepared).
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, paramstyle="named"
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    else:
        # No pre-ping (a round trip per request): a connection that fails with a
        # connection error is invalidated instead (server.prepared.connector).
        engine = create_engine(
            url,
            pool_size=10,
            max_overflow=20,
            pool_recycle=3600,
            # Server-side prepared statements from a statement's first use (psycopg's
            # default waits for the fifth): capacity 194 → 218 tx/s (docs/benchmarks.md).
            connect_args={"prepare_threshold": 0},
        )
    if migrate:
        from server.migrate import upgrade

        upgrade(engine)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Any]:
    return sessionmaker(engine, expire_on_commit=False)
