"""The reference central server's HTTP API (FastAPI); the OpenAPI spec is the contract.

Kiosk API (``/api/v1``, client certificate required): open a citizen session (e-KTP
assertion, NIK + PIN, or QR token), list the session's printable documents, reserve one
for a print job with its single-use print code (idempotent on the kiosk's job id; the
answer carries the payload signed with the issuer's Ed25519 key), confirm or release the
job (both idempotent), heartbeat.  Public: ``/api/v1/health``, ``/api/v1/issuer-key`` and
``/verify/{code}`` (what a printed QR points at).

A document moves approved → reserved → printed with conditional UPDATEs, so of two
kiosks reserving the same document exactly one wins, and a printed document is never
offered or reserved again.

Cost per request is what limits a kiosk fleet on a small server, so the hot path is
lean (measured in docs/benchmarks.md): statements are compiled once and run on the
driver (``server.queries``, ``server.prepared``), authentication is plain calls instead
of a dependency chain, and the database work of a handler runs inline on SQLite and in a
thread pool when configured (``Context.run``).  Throughput comes from worker
processes (``serve --workers N``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NoReturn, TypeVar

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi import Path as FastApiPath
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from protocol import seal
from protocol.api import (
    ENROLMENT_ID,
    JOB_ID,
    LEASE_FLOOR,
    MAX_ID,
    VERSION,
    CommandResult,
    CommandState,
    DocumentList,
    DocumentSummary,
    EktpLogin,
    EnrolmentRequest,
    EnrolmentState,
    HeartbeatAnswer,
    HeartbeatRequest,
    HoldRequest,
    IssuerKey,
    KioskBuild,
    KioskCommand,
    OpenSession,
    PinLogin,
    Problem,
    ReleaseRequest,
    ReservationState,
    ReserveRequest,
    SessionOpened,
    SignedDocument,
    UpdateTarget,
    Verification,
)
from protocol.errors import ErrorCode
from protocol.kinds import KINDS
from protocol.nik import mask_nik
from protocol.signing import canonical
from server import commands, rollout
from server import limits as lim
from server.alerts import AlertRules, audit_check
from server.console.web import metrics_token_ok
from server.console.web import mount as mount_console
from server.db import AuditEntry, Kiosk, KioskRequest, Release, utcnow
from server.dbops import BackupConfig, HealthCache, engine_url
from server.guard import RequestGuard
from server.logthrottle import LogThrottle
from server.metrics import LatencyMiddleware, exposition, registry_for
from server.pki import PkiError, cert_identity, read_request
from server.prepared import (
    Db,
    Pending,
    abort_thread,
    broken_errors,
    connector,
    outcome_known,
)
from server.public import mount as mount_public
from server.queries import Queries
from server.security import Issuer, keyed_hash, new_token
from server.verification import VerificationConfig

API = "/api/v1"
AUDIT_FIELDS = frozenset({"audit_head", "audit_count"})
log = logging.getLogger("adm.server")
AUDIT_LOG = LogThrottle(log, logging.ERROR)
TRUST_LOG = LogThrottle(log, logging.WARNING)
T = TypeVar("T")


@dataclass
class Settings:
    issuer: Issuer
    pepper: bytes
    session_ttl: dt.timedelta = dt.timedelta(minutes=10)
    # How long a worker trusts its last look at a kiosk's certificate record: a revocation
    # or re-issue takes effect within this time (saves one query per request).
    kiosk_cache_seconds: float = 2.0
    limits: lim.Limits = field(default_factory=lim.Limits)
    # Threads per worker for database work.  None: the measured default for the database
    # (:func:`db_threads_for`); 0: inline on the event loop.
    db_threads: int | None = None
    # Heartbeat history kept per kiosk (the latest is always on the kiosk's record).
    heartbeat_retention: dt.timedelta = dt.timedelta(days=30)
    # The history is compact: a row when the status changes, else one per interval.
    history_interval: dt.timedelta = dt.timedelta(minutes=15)
    # How long a reservation holds its document for the kiosk's print job.  After it the
    # document is printable again (another kiosk, an officer), unless confirmed first.
    reservation_lease: dt.timedelta = dt.timedelta(minutes=30)
    # The office console's alert thresholds (server.alerts).
    alert_rules: AlertRules = field(default_factory=AlertRules)
    # The public check of printed documents (server.verification): host, office, peers.
    verification: VerificationConfig = field(default_factory=VerificationConfig)
    # Backups (server.dbops, [backup] of server.toml): the console's and /metrics' view.
    backup: BackupConfig = field(default_factory=BackupConfig)
    # Hash of the bearer token Prometheus scrapes /metrics with (None: /metrics is off).
    metrics_token_hash: bytes | None = None
    # How long a console login lasts without a new login.
    console_session: dt.timedelta = dt.timedelta(hours=8)
    # A console session unused this long ends (a browser left open at a counter).
    console_idle: dt.timedelta = dt.timedelta(minutes=15)
    # Whether e-KTP sessions are opened for kiosks that report simulated parts or the demo
    # mode.  Only the simulator's embedded server (sim.embedded) sets it: a real server
    # never believes a simulated fingerprint matcher.
    accept_simulated: bool = False
    # The longest a request waits for the database (PostgreSQL, in the thread pool) before
    # its connection is cut and it is answered 503: a host that froze answers nothing and
    # closes nothing, and the failover that replaces it takes seconds.
    db_deadline: float = 5.0
    # From this moment on a kiosk that reports nothing of what it is made of (a kiosk
    # version from before the report) is refused e-KTP sessions too.  Until then it is
    # served, and the console shows it as unreported.
    unreported_refused_from: dt.datetime = dt.datetime(2027, 3, 1)
    # The key folder (server.pki.ServerHome): the console re-issues kiosk certificates
    # and approves with the signing official from it.  None: those actions are off.
    home: Any = None
    # How long a worker trusts its last count of a rollout's canary (server.rollout): the
    # rest of the fleet follows a passed canary at most this much later.
    canary_gate_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.reservation_lease < LEASE_FLOOR:
            raise ValueError(
                f"reservation lease {self.reservation_lease} is shorter than {LEASE_FLOOR}: "
                "a kiosk's slowest print and its restart must fit in it"
            )


# ---------------------------------------------------------------- errors


class ApiError(HTTPException):
    """An error with a machine-readable ``code`` next to a message for the citizen/log."""

    def __init__(self, status: int, code: ErrorCode, message: str, **extra: Any) -> None:
        super().__init__(status, {"code": code, "message": message, **extra})


# ---------------------------------------------------------------- request context


# The citizen session's bearer token.  Declared in the spec as the ``session`` security
# scheme, not as a parameter, and checked by ``Context.token_hash``: missing or malformed
# is the same 401 ``no_session`` as unknown.
Authorization = Annotated[str | None, Header(include_in_schema=False)]
# Path parameters are bounded like the bodies: a job id is the kiosk's UUID, a
# verification code what the server issues (32 characters; a little room for others').
JobId = Annotated[str, FastApiPath(pattern=JOB_ID)]
EnrolmentId = Annotated[str, FastApiPath(pattern=ENROLMENT_ID)]
VerifyCode = Annotated[str, FastApiPath(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
BEARER = re.compile(r"Bearer ([A-Za-z0-9_-]{16,64})")
SESSION: dict[str, Any] = {"security": [{"session": []}]}


@functools.lru_cache(maxsize=1024)
def _identity(der: bytes) -> tuple[str, str]:
    return cert_identity(der)


def client_cert(request: Request) -> bytes:
    tls = request.scope.get("extensions", {}).get("tls") or {}
    der: bytes | None = tls.get("client_cert_der")
    if not der:
        raise ApiError(401, ErrorCode.NO_CERTIFICATE, "a kiosk client certificate is required")
    return der


async def require_certificate(request: Request) -> None:
    """Runs before the body is validated: a caller without a certificate learns nothing
    about the API but that it needs one."""
    client_cert(request)


KIOSK_ONLY = [Depends(require_certificate)]


@dataclass(frozen=True)
class OpenCitizenSession:
    token_hash: bytes
    nik: str


def db_threads_for(configured: int | None, dialect: str) -> int:
    """Threads per worker for database work, unless configured.

    SQLite (a local file, one writer at a time): inline on the event loop; threads would
    only queue on its write lock and the GIL.  PostgreSQL: two, so that while one request
    waits for its commit to reach the disk (a WAL flush) the worker's event loop and a
    second request go on.  Measured with the database on the same 2-core machine, paced
    at 250 tx/s (docs/benchmarks.md, 2026-12-04): transaction p99 53-74 ms with two
    threads against 42-148 ms inline, capacity 333-383 against 292-379 tx/s.  A database
    across a network, where every round trip waits, may want more (``--db-threads``).
    """
    if configured is not None:
        return configured
    return 2 if dialect == "postgresql" else 0


class Context:
    """What every handler needs: settings, statements, connections, the kiosk cache.

    Authentication is plain calls at the top of each handler rather than a chain of
    FastAPI dependencies: resolving the chain per request cost more than the queries.
    """

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.settings = settings
        self.engine = engine  # the console's ORM sessions (the API uses ``connect``)
        with engine.connect():  # the dialect learns the server's features (RETURNING)
            pass
        self.q = Queries(engine.dialect)
        self.connect = connector(engine)
        self.kiosks: dict[str, tuple[float, str, str]] = {}
        threads = db_threads_for(settings.db_threads, engine.dialect.name)
        self.pool = ThreadPoolExecutor(threads, "adm-db") if threads else None
        self.broken = broken_errors(engine)
        # The database's health (nodes, replication, archiving, backups), asked at most
        # every 30 s per worker by the console and /metrics.
        self.db_health = HealthCache(engine_url(engine), settings.backup)
        self.canary_gate = rollout.CanaryGate(lambda: settings.canary_gate_seconds)

    async def run(self, work: Callable[[], T]) -> T:
        """A handler's database work: inline, or in the pool (``Settings.db_threads``) so
        the event loop serves other kiosks while one waits on a distant database.

        A connection that breaks (a failover: the primary gone, the standby promoted)
        before the work sent its commit is retried once on a new connection, which the
        multi-host URL makes to whichever node now takes writes; nothing was written, so
        nothing is done twice.  A break during the commit, or a second break, is answered
        503 with Retry-After, and the kiosk's own retries finish the work."""
        try:
            return await self._run(work)
        except self.broken as exc:
            if not outcome_known(exc):
                raise
            log.warning("database connection broke; retrying the request once")
            return await self._run(work)

    async def _run(self, work: Callable[[], T]) -> T:
        if self.pool is None:
            return work()
        ran_on: list[int] = []

        def tracked() -> T:
            ran_on.append(threading.get_ident())
            return work()

        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self.pool, tracked)
        # A database that stops answering without closing anything (a frozen host): at
        # the deadline the connection's socket is cut, so the work fails as a broken
        # connection (retried once if it had not sent its commit, else 503) and the thread
        # is free.  A timer, not wait_for: nothing more per request than the handle.
        timer = loop.call_later(self.settings.db_deadline, self._stalled, ran_on)
        try:
            return await future
        finally:
            timer.cancel()

    def _stalled(self, ran_on: list[int]) -> None:
        if abort_thread(ran_on[0] if ran_on else None):
            log.warning(
                "database did not answer in %.1f s; connection cut", self.settings.db_deadline
            )

    def kiosk(self, request: Request, db: Db) -> str:
        """The kiosk behind the verified client certificate, or 401/403."""
        cn, serial = _identity(client_cert(request))
        now = time.monotonic()
        hit = self.kiosks.get(cn)
        if hit is None or hit[0] < now:
            row = db.one(self.q.kiosk, id=cn)
            ttl = self.settings.kiosk_cache_seconds
            hit = (now + ttl, row.cert_serial, row.status) if row else (now, "", "")
            self.kiosks[cn] = hit
        if hit[1] != serial:
            self._refused(db, cn, serial, ErrorCode.UNKNOWN_KIOSK)
            raise ApiError(403, ErrorCode.UNKNOWN_KIOSK, f"certificate of {cn!r} is not registered")
        if hit[2] != "active":
            self._refused(db, cn, serial, ErrorCode.KIOSK_REVOKED)
            raise ApiError(403, ErrorCode.KIOSK_REVOKED, f"kiosk {cn!r} has been revoked")
        return cn

    def _refused(self, db: Db, cn: str, serial: str, reason: ErrorCode) -> None:
        """Record a refused certificate for the office's alerts, in a transaction of its
        own (the request itself goes no further)."""
        db.rollback()
        db.send(
            self.q.cert_refusal, at=utcnow(), kiosk_id=cn[:64], serial=serial[:64], reason=reason
        )
        db.commit()

    def token_hash(self, authorization: str | None) -> bytes:
        match = BEARER.fullmatch(authorization or "")
        if match is None:
            raise ApiError(401, ErrorCode.NO_SESSION, "session token required")
        return keyed_hash(self.settings.pepper, "session", match.group(1))

    def citizen(self, session: Pending, token_hash: bytes, kiosk: str) -> OpenCitizenSession:
        """The open session the bearer token names, on this kiosk, or 401.  ``session``
        is the sent ``q.session`` statement: what depends on it may be sent with it and
        is used only after this check."""
        row = session.one()
        if row is None or row.kiosk_id != kiosk or row.ended_at is not None:
            raise ApiError(401, ErrorCode.NO_SESSION, "session unknown or ended")
        if row.expires_at <= utcnow():
            raise ApiError(401, ErrorCode.SESSION_EXPIRED, "session expired")
        return OpenCitizenSession(token_hash, row.nik)

    def audit(self, db: Db, actor: str, action: str, subject: str = "", **detail: Any) -> None:
        db.send(
            self.q.audit, at=utcnow(), actor=actor, action=action, subject=subject, detail=detail
        )


# ---------------------------------------------------------------- helpers


def summary(doc: Any) -> DocumentSummary:
    title, medium = KINDS[doc.kind]
    return DocumentSummary(id=doc.id, kind=doc.kind, title=title, medium=medium, number=doc.number)


HOST = re.compile(r"[A-Za-z0-9.-]{1,63}(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]{2,45}\](:[0-9]{1,5})?")


def seal_host(settings: Settings, request: Request) -> str:
    """The host printed in every seal link: the configured one, else the host the kiosk
    called (the same listener serves the public page), else ``localhost``."""
    if settings.verification.host:
        return settings.verification.host
    called = request.headers.get("host", "")
    return called if HOST.fullmatch(called) else "localhost"


def payload_of(ctx: Context, db: Db, doc: Any, job_id: str, kiosk: str, host: str) -> dict:
    """Everything the kiosk needs to render ``doc``, bound to this job and kiosk."""
    title, medium = KINDS[doc.kind]
    issuer = ctx.settings.issuer
    payload: dict[str, Any] = {
        "id": doc.id,
        "kind": doc.kind,
        "title": title,
        "medium": medium,
        "number": doc.number,
        "issued_at": doc.approved_at.date().isoformat(),
        "official": doc.official,
        "verification": seal.url(host, issuer.seal(doc.kind, doc.approved_at.date(), doc.number)),
        "job_id": job_id,
        "kiosk_id": kiosk,
    }
    if doc.data:
        payload["data"] = doc.data
    if doc.kind == "kartu_keluarga" and doc.kk_number:
        address = db.scalar(ctx.q.family_address, kk=doc.kk_number)
        members = db.all(ctx.q.family_members, kk=doc.kk_number)
        payload["family"] = {
            "kk_number": doc.kk_number,
            "address": address or {},
            "members": [m.details for m in members],
        }
    return payload


def signed(ctx: Context, db: Db, res: Any, doc: Any, host: str) -> SignedDocument:
    payload = payload_of(ctx, db, doc, res.job_id, res.kiosk_id, host)
    issuer = ctx.settings.issuer
    return SignedDocument(
        job_id=res.job_id,
        document_id=res.document_id,
        state=res.state,
        lease_until=res.expires_at,
        payload=payload,
        signature=issuer.sign(payload),
        key_id=issuer.key_id,
    )


def state_of(res: Any) -> ReservationState:
    return ReservationState(job_id=res.job_id, document_id=res.document_id, state=res.state)


def own_reservation(ctx: Context, db: Db, job_id: str, kiosk: str) -> Any:
    res = db.one(ctx.q.reservation, job_id=job_id)
    if res is None or res.kiosk_id != kiosk:
        raise ApiError(404, ErrorCode.NO_RESERVATION, f"no reservation {job_id} for this kiosk")
    return res


@dataclass(frozen=True)
class NewReservation:
    job_id: str
    document_id: int
    kiosk_id: str
    expires_at: dt.datetime
    state: str = "reserved"


# ---------------------------------------------------------------- the app


ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": Problem} for s in (400, 401, 403, 404, 409, 413, 422, 423, 429)
}


def create_app(engine: Engine, settings: Settings) -> FastAPI:
    ctx = Context(engine, settings)
    q = ctx.q
    app = FastAPI(title="ADM central server", version="1.0.0", responses=ERRORS)
    app.state.context = ctx
    app.add_middleware(RequestGuard)  # certificate and body cap before anything is read
    app.add_middleware(LatencyMiddleware)  # outermost: the whole time of each request
    registry = registry_for(ctx)

    @app.get("/metrics", include_in_schema=False)
    def metrics(authorization: Authorization = None) -> Response:
        """Prometheus text format, for the holder of the metrics token only."""
        if settings.metrics_token_hash is None:
            raise HTTPException(404, "Not Found")
        if not metrics_token_ok(settings, authorization):
            raise HTTPException(401, "metrics token required", {"WWW-Authenticate": "Bearer"})
        body, content_type = exposition(registry)
        return Response(body, media_type=content_type)

    mount_console(app, ctx)
    mount_public(app, ctx)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        """The spec, with the citizen session's bearer token as a security scheme."""
        if app.openapi_schema is None:
            spec = generate()
            spec.setdefault("components", {}).setdefault("securitySchemes", {})["session"] = {
                "type": "http",
                "scheme": "bearer",
                "description": "the token of an open citizen session (POST /api/v1/sessions)",
            }
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get(f"{API}/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(f"{API}/issuer-key", response_model=IssuerKey)
    async def issuer_key() -> IssuerKey:
        from cryptography.hazmat.primitives import serialization

        pem = settings.issuer.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return IssuerKey(key_id=settings.issuer.key_id, public_key_pem=pem.decode())

    @app.post(
        f"{API}/sessions", response_model=SessionOpened, status_code=201, dependencies=KIOSK_ONLY
    )
    async def open_session(req: OpenSession, request: Request) -> SessionOpened:
        def work() -> SessionOpened:
            with ctx.connect() as db:
                kiosk = ctx.kiosk(request, db)
                now = utcnow()
                nik, name = _authenticate(ctx, db, req, kiosk, now)
                evidence = (
                    {
                        "signed_data_sha256": req.card.signed_data_sha256,
                        "sam_session": req.card.sam_session,
                        "finger_score": req.card.finger_score,
                    }
                    if isinstance(req, EktpLogin)
                    else None
                )
                token = new_token()
                expires = now + settings.session_ttl
                db.send(
                    q.open_session,
                    token_hash=keyed_hash(settings.pepper, "session", token),
                    kiosk_id=kiosk,
                    nik=nik,
                    method=req.method,
                    created_at=now,
                    expires_at=expires,
                    evidence=evidence,
                )
                ctx.audit(
                    db,
                    kiosk,
                    "session_opened",
                    mask_nik(nik),
                    method=req.method,
                    **({"chip": evidence} if evidence else {}),
                )
                db.commit()
            return SessionOpened(session=token, method=req.method, expires_at=expires, name=name)

        return await ctx.run(work)

    @app.delete(
        f"{API}/sessions/current", status_code=204, dependencies=KIOSK_ONLY, openapi_extra=SESSION
    )
    async def end_session(request: Request, authorization: Authorization = None) -> Response:
        def work() -> Response:
            with ctx.connect() as db:
                kiosk = ctx.kiosk(request, db)
                token_hash = ctx.token_hash(authorization)
                ctx.citizen(db.send(q.session, token_hash=token_hash), token_hash, kiosk)
                db.send(q.end_session, token_hash=token_hash, at=utcnow())
                db.commit()
            return Response(status_code=204)

        return await ctx.run(work)

    @app.get(
        f"{API}/documents",
        response_model=DocumentList,
        dependencies=KIOSK_ONLY,
        openapi_extra=SESSION,
    )
    async def list_documents(request: Request, authorization: Authorization = None) -> DocumentList:
        def work() -> DocumentList:
            with ctx.connect() as db:
                kiosk = ctx.kiosk(request, db)
                token_hash = ctx.token_hash(authorization)
                session = db.send(q.session, token_hash=token_hash)
                documents = db.send(q.session_documents, token_hash=token_hash, now=utcnow())
                db.commit()  # read only: ends the transaction and the one round trip
                ctx.citizen(session, token_hash, kiosk)
                rows = documents.all()
            return DocumentList(documents=[summary(d) for d in rows])

        return await ctx.run(work)

    @app.post(
        f"{API}/reservations",
        response_model=SignedDocument,
        dependencies=KIOSK_ONLY,
        openapi_extra=SESSION,
    )
    async def reserve(
        req: ReserveRequest, request: Request, authorization: Authorization = None
    ) -> SignedDocument:
        def work() -> SignedDocument:
            with ctx.connect() as db:
                kiosk = ctx.kiosk(request, db)
                host = seal_host(settings, request)
                answer = _reserve(ctx, db, req, ctx.token_hash(authorization), kiosk, host)
                db.commit()
            return answer

        return await ctx.run(work)

    @app.get(
        f"{API}/reservations/{{job_id}}", response_model=ReservationState, dependencies=KIOSK_ONLY
    )
    async def reservation(job_id: JobId, request: Request) -> ReservationState:
        def work() -> ReservationState:
            with ctx.connect() as db:
                res = own_reservation(ctx, db, job_id, ctx.kiosk(request, db))
                db.commit()
            return state_of(res)

        return await ctx.run(work)

    @app.post(
        f"{API}/reservations/{{job_id}}/confirm",
        response_model=ReservationState,
        dependencies=KIOSK_ONLY,
    )
    async def confirm(job_id: JobId, request: Request) -> ReservationState:
        def work() -> ReservationState:
            with ctx.connect() as db:
                return settle(ctx, db, job_id, ctx.kiosk(request, db), "confirmed", None)

        return await ctx.run(work)

    @app.post(
        f"{API}/reservations/{{job_id}}/release",
        response_model=ReservationState,
        dependencies=KIOSK_ONLY,
    )
    async def release(job_id: JobId, req: ReleaseRequest, request: Request) -> ReservationState:
        def work() -> ReservationState:
            with ctx.connect() as db:
                kiosk = ctx.kiosk(request, db)
                return settle(ctx, db, job_id, kiosk, "released", req.reason or None)

        return await ctx.run(work)

    @app.post(
        f"{API}/reservations/{{job_id}}/hold",
        response_model=ReservationState,
        dependencies=KIOSK_ONLY,
    )
    async def hold(job_id: JobId, req: HoldRequest, request: Request) -> ReservationState:
        """The kiosk cannot tell whether the document came out (neither the print system
        nor the printer remembers the job): the office decides, and until then the
        document is neither offered again nor printable elsewhere."""

        def work() -> ReservationState:
            with ctx.connect() as db:
                kiosk = ctx.kiosk(request, db)
                return settle(ctx, db, job_id, kiosk, "held", req.reason)

        return await ctx.run(work)

    @app.post(f"{API}/heartbeat", response_model=HeartbeatAnswer, dependencies=KIOSK_ONLY)
    async def heartbeat(req: HeartbeatRequest, request: Request) -> HeartbeatAnswer:
        def work() -> HeartbeatAnswer:
            with ctx.connect() as db:
                kiosk = ctx.kiosk(request, db)
                now = utcnow()
                status = req.model_dump(exclude={"audit_anchor"})
                # What the history is about: state, devices, supplies (the audit head
                # moves with every session and would make each heartbeat a change).
                digest = hashlib.sha256(
                    canonical({k: v for k, v in status.items() if k not in AUDIT_FIELDS})
                ).hexdigest()
                since = now - settings.history_interval
                seen = db.one(
                    q.kiosk_seen, id=kiosk, at=now, status=status, digest=digest, since=since
                )
                if seen.history_at == now:
                    db.send(q.heartbeat, kiosk_id=kiosk, at=now, status=status)
                before = now - settings.heartbeat_retention
                db.send(q.heartbeats_purge, kiosk_id=kiosk, before=before)
                stored = (
                    (seen.audit_count, seen.audit_head) if seen.audit_count is not None else None
                )
                pair, alert = audit_check(stored, req.audit_count, req.audit_head, req.audit_anchor)
                if pair is not None and pair != stored:
                    db.send(
                        q.kiosk_audit,
                        id=kiosk,
                        was=seen.audit_count,
                        count=pair[0],
                        head=pair[1],
                    )
                if alert is not None:
                    # The console's alert is raised (it stays until acknowledged) and
                    # audited when it is new; the log says it once per kiosk and period
                    # with a count, so one stolen certificate cannot flood it.
                    AUDIT_LOG.emit(f"{kiosk}|{alert}", "kiosk %s: audit chain %s", kiosk, alert)
                    raised = db.send(q.kiosk_audit_alert, id=kiosk, what=alert, at=now)
                    if raised.count() == 1:
                        ctx.audit(db, kiosk, "audit_chain_" + alert, kiosk, stored=stored)
                distrust = untrusted(settings, req.build, now) if req.build else None
                if distrust is not None:
                    db.send(q.kiosk_trust_alert, id=kiosk, what=distrust, at=now)
                db.commit()
            target, asked = fleet_update(kiosk, req, now)
            return HeartbeatAnswer(
                server_time=now,
                audit_count=pair[0] if pair else None,
                target=target,
                commands=asked,
            )

        def fleet_update(
            kiosk: str, req: HeartbeatRequest, now: dt.datetime
        ) -> tuple[UpdateTarget | None, list[KioskCommand]]:
            """The kiosk's version and updater state kept, the rollout's answer given
            (server.rollout), the office's actions handed over (server.commands): their
            own transaction after the heartbeat's."""
            with Session(ctx.engine) as orm:
                row = orm.get(Kiosk, kiosk)
                if row is None:  # pragma: no cover - authenticated kiosks exist
                    return None, []
                rollout.record_report(orm, row, req.version, req.update, now)
                target = rollout.target_for(orm, row, ctx.canary_gate)
                asked = commands.deliver(orm, kiosk, now)
                orm.commit()
            return target, asked

        return await ctx.run(work)

    @app.post(
        f"{API}/commands/{{command_id}}", response_model=CommandState, dependencies=KIOSK_ONLY
    )
    async def command_result(
        req: CommandResult,
        request: Request,
        command_id: Annotated[int, FastApiPath(ge=1, le=MAX_ID)],
    ) -> CommandState:
        """The kiosk's result of an office's action (idempotent: a repeated post is
        answered with the state it left)."""

        def work() -> CommandState:
            with ctx.connect() as db:
                kiosk = ctx.kiosk(request, db)
            with Session(ctx.engine) as orm:
                row = commands.settle(orm, kiosk, command_id, req, utcnow())
                if row is None:
                    raise ApiError(404, ErrorCode.NO_COMMAND, "no such command for this kiosk")
                orm.commit()
                return CommandState(id=row.id, state=row.state)

        return await ctx.run(work)

    @app.get(f"{API}/releases/{{version}}/bundle", dependencies=KIOSK_ONLY)
    async def bundle(
        request: Request, version: Annotated[str, FastApiPath(pattern=VERSION)]
    ) -> Response:
        """A published release's signed bundle, for enrolled kiosks only (the bundle is
        not secret, but a server is no public mirror).  The kiosk's updater checks the
        digest from the heartbeat answer and the bundle's own signature."""

        def work() -> Release | None:
            with ctx.connect() as db:
                ctx.kiosk(request, db)
            with Session(ctx.engine) as orm:
                return orm.get(Release, version)

        release = await ctx.run(work)
        home = settings.home
        path = home.releases_dir / f"{version}.bundle" if home is not None else None
        if release is None or path is None or not path.is_file():
            raise ApiError(404, ErrorCode.NO_RELEASE, "no such release")
        return FileResponse(path, media_type="application/octet-stream")

    @app.post(f"{API}/enrolments", response_model=EnrolmentState, status_code=202)
    async def enrol(req: EnrolmentRequest) -> EnrolmentState:
        """A kiosk's certificate request, kept until the office signs it where the CA key
        is (``adm-server pki sign-kiosk``).  No certificate is asked for (the kiosk has
        none yet) and nothing is signed here: this process never holds the CA key.  The
        office compares the key's fingerprint with the one the kiosk shows, so a request
        in a kiosk's name from anyone else is never signed; the number waiting is
        bounded, so requests cannot fill the database."""

        def work() -> EnrolmentState:
            try:
                parsed = read_request(req.csr)
            except PkiError as exc:
                raise ApiError(422, ErrorCode.BAD_CERTIFICATE_REQUEST, str(exc)) from None
            with Session(ctx.engine) as db:
                waiting = (
                    db.scalar(select(func.count()).where(KioskRequest.status == "pending")) or 0
                )
                mine = (
                    db.scalar(
                        select(func.count()).where(
                            KioskRequest.status == "pending",
                            KioskRequest.kiosk_id == parsed.kiosk_id,
                        )
                    )
                    or 0
                )
                if waiting >= settings.limits.enrolments_waiting or mine >= 3:
                    raise ApiError(
                        429, ErrorCode.RATE_LIMITED, "too many certificate requests waiting"
                    )
                row = KioskRequest(
                    id=request_id(),
                    kiosk_id=parsed.kiosk_id,
                    csr=req.csr,
                    fingerprint=parsed.fingerprint,
                    created_at=utcnow(),
                    status="pending",
                )
                db.add(row)
                db.add(
                    AuditEntry(
                        actor="public",
                        action="kiosk_key_requested",
                        subject=parsed.kiosk_id,
                        detail={"request": row.id[:8], "fingerprint": parsed.fingerprint},
                    )
                )
                db.commit()
                return _enrolment_state(row, settings)

        return await ctx.run(work)

    @app.get(f"{API}/enrolments/{{request_id}}", response_model=EnrolmentState)
    async def enrolment(request_id: EnrolmentId) -> EnrolmentState:
        """The state of a certificate request, and the certificate once signed (public:
        the request id is the kiosk's own secret, and a certificate is no secret)."""

        def work() -> EnrolmentState:
            with Session(ctx.engine) as db:
                row = db.get(KioskRequest, request_id)
                if row is None:
                    raise ApiError(404, ErrorCode.NO_ENROLMENT, "no such certificate request")
                return _enrolment_state(row, settings)

        return await ctx.run(work)

    @app.get("/verify/{code}", response_model=Verification)
    async def verify(code: VerifyCode) -> Verification:
        def work() -> Verification:
            with ctx.connect() as db:
                doc = db.one(q.document_by_code, code=code[:32])
                newer = (
                    db.one(q.document, id=doc.superseded_by) if doc and doc.superseded_by else None
                )
                db.commit()
            if doc is None or doc.status in ("approved", "reserved"):
                # Never printed: nothing with this code can legitimately exist on paper.
                return Verification(status="unknown")
            title, _ = KINDS[doc.kind]
            status: Literal["active", "superseded", "revoked"] = (
                "active" if doc.status == "printed" else doc.status
            )
            return Verification(
                status=status,
                kind=doc.kind,
                title=title,
                number=doc.number,
                issued=doc.approved_at.date(),
                superseded_by=newer.number if newer else None,
            )

        return await ctx.run(work)

    def _conflict(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"detail": {"code": ErrorCode.CONFLICT, "message": "conflicting concurrent change"}},
            409,
        )

    def _invalid(_request: Request, exc: Exception) -> JSONResponse:
        """Invalid input, answered in the spec's shape without echoing the input: an echo
        can be unencodable (NaN, lone surrogates: the handler itself would fail) and can
        carry personal data back.  A missing session token is a 401, as a wrong one is."""
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        for error in errors:
            if tuple(error.get("loc", ()))[:2] == ("header", "authorization"):
                return JSONResponse(
                    {"detail": {"code": ErrorCode.NO_SESSION, "message": "session token required"}},
                    401,
                )
        names = schema_names()
        detail = [
            {
                "loc": [_position(p, names) for p in error.get("loc", ())],
                "msg": _message(error),
                "type": str(error.get("type", "")),
            }
            for error in errors
        ]
        return JSONResponse({"detail": detail}, 422)

    @functools.cache
    def schema_names() -> frozenset[str]:
        """Every name the spec itself gives a position (fields, tags, where a value goes):
        a 422 names a position only in these words, never in the client's own."""
        names = {"body", "query", "path", "header", "cookie"}
        tags: set[str] = set()

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                names.update(
                    node.get("properties", {}) if isinstance(node.get("properties"), dict) else ()
                )
                if isinstance(node.get("discriminator"), dict):
                    tags.add(str(node["discriminator"].get("propertyName")))
                    names.update(node["discriminator"].get("mapping", {}))
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        spec = app.openapi()
        walk(spec)
        # The discriminator's values name the branch a position is in ("ektp").
        for schema in spec.get("components", {}).get("schemas", {}).values():
            for tag in tags:
                prop = schema.get("properties", {}).get(tag, {})
                names.update(v for v in [prop.get("const"), *prop.get("enum", [])] if v)
        return frozenset(names)

    def _unavailable(_request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc)
        return JSONResponse(
            {"detail": {"code": ErrorCode.DATABASE_UNAVAILABLE, "message": "database unavailable"}},
            503,
            headers={"Retry-After": "1"},
        )

    for error in (*broken_errors(engine), OperationalError):
        app.add_exception_handler(error, _unavailable)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(IntegrityError, _conflict)
    app.add_exception_handler(engine.dialect.dbapi.IntegrityError, _conflict)  # type: ignore[union-attr]
    return app


def _enrolment_state(row: KioskRequest, settings: Settings) -> EnrolmentState:
    from cryptography.hazmat.primitives import serialization

    signed = row.status == "signed"
    issuer = settings.issuer.public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return EnrolmentState(
        request=row.id,
        kiosk_id=row.kiosk_id,
        fingerprint=row.fingerprint,
        status=row.status,
        cert=row.cert if signed else None,
        issuer_key=issuer.decode() if signed else None,
    )


def _position(part: Any, names: frozenset[str]) -> int | str:
    """One step of an error's ``loc`` as the schema names it: a list index, a field or
    tag the spec declares, or ``*`` for anything the client named (a key of a map, an
    unknown field): those are the client's words and may carry a NIK or a name."""
    if isinstance(part, int) and not isinstance(part, bool):
        return part
    return part if isinstance(part, str) and part in names else "*"


def _message(error: Any) -> str:
    """pydantic's message, unless it quotes the input (a wrong tag is quoted back): then
    the error's type, which says as much about the schema and nothing of the input."""
    msg = str(error.get("msg", ""))
    given = error.get("input")
    quoted = [str(v) for v in (given, (error.get("ctx") or {}).get("tag")) if v is not None]
    if error.get("type") == "union_tag_invalid" or any(
        len(q) >= 2 and q in msg for q in quoted if not isinstance(q, dict)
    ):
        return str(error.get("type", "invalid"))
    return msg


def _locked(until: dt.datetime) -> ApiError:
    return ApiError(
        423,
        ErrorCode.LOCKED,
        "Terlalu banyak percobaan yang salah. Coba lagi nanti.",
        locked_until=until.isoformat() + "Z",
    )


def _authenticate(
    ctx: Context, db: Db, req: OpenSession, kiosk: str, now: dt.datetime
) -> tuple[str, str | None]:
    """(NIK, name) the session is for, or an error that does not tell whether it exists."""
    q, cfg = ctx.q, ctx.settings
    if isinstance(req, EktpLogin):
        _believe_ektp(ctx, db, req, kiosk, now)
        limit = cfg.limits.ektp_sessions
        again = lim.take_one(db, q, cfg.limits, kiosk, "ektp", limit, now)
        if again is not None:
            ctx.audit(db, kiosk, "ektp_rate_limited", mask_nik(req.nik))
            db.commit()
            raise ApiError(
                429,
                ErrorCode.RATE_LIMITED,
                f"more than {limit} e-KTP sessions from this kiosk; try again later",
                retry_at=_utc_text(again),
            )
        return req.nik, db.scalar(q.citizen_name, nik=req.nik)
    if isinstance(req, PinLogin):
        attempts = db.send(q.attempts, path="pin", citizen=req.nik, kiosk=kiosk)
        citizen = db.send(q.citizen_pin, nik=req.nik)
        check = lim.verdict(attempts.all(), now)
        if check.until is not None:
            raise _locked(check.until)
        row = citizen.one()
        stored, name = (row.pin_hash, row.name) if row else (None, None)
        given = keyed_hash(cfg.pepper, "pin", req.pin)
        # Compare against a dummy for an unknown NIK so timing does not tell either.
        if not hmac.compare_digest(stored or b"\0" * 32, given) or stored is None:
            failure = lim.fail(db, q, cfg.limits, req.nik, kiosk, "pin", now)
            _guessed(ctx, db, failure, "pin", mask_nik(req.nik), kiosk=kiosk)
        if not lim.succeed(db, q, cfg.limits, check, req.nik, "pin", now):
            db.rollback()
            raise _locked(now + cfg.limits.lock)
        return req.nik, name
    # QR token: single use, short-lived.  Only the kiosk can be counted (no NIK is known).
    until = lim.verdict(db.all(q.attempts, path="qr", citizen=None, kiosk=kiosk), now).until
    if until is not None:
        raise _locked(until)
    token_hash = keyed_hash(cfg.pepper, "qr", req.token)
    if db.run(q.use_qr, token_hash=token_hash, now=now) != 1:
        db.rollback()
        _guessed(ctx, db, lim.fail(db, q, cfg.limits, None, kiosk, "qr", now), "qr", kiosk=kiosk)
    nik = db.scalar(q.qr_nik, token_hash=token_hash)
    assert nik is not None
    return nik, db.scalar(q.citizen_name, nik=nik)


def untrusted(settings: Settings, build: KioskBuild | None, now: dt.datetime) -> str | None:
    """Why an e-KTP assertion from a kiosk reporting ``build`` is not believed (the trust
    alert's text), or None.  A simulated matcher says MATCH for any finger, so a session
    opened on its word would be one no finger ever checked."""
    if build is None:
        return "unreported" if now >= settings.unreported_refused_from else None
    if build.trusted or settings.accept_simulated:
        return None
    return build.label


def request_id() -> str:
    """A certificate request's id: 43 URL-safe characters (ENROLMENT_ID) that never
    begin with "-", since the office types it as an argument of ``pki sign-kiosk``
    (argparse took "-gZcQ..." for an option)."""
    return "r" + secrets.token_urlsafe(32)[1:]


def _believe_ektp(ctx: Context, db: Db, req: EktpLogin, kiosk: str, now: dt.datetime) -> None:
    """Refuse (403 ``untrusted_kiosk``) an e-KTP session from a kiosk that reports a
    simulated part or the demo mode, or nothing after the cut-over: audited, and the
    console's alert raised for the kiosk."""
    why = untrusted(ctx.settings, req.build, now)
    if why is None:
        return
    db.rollback()
    ctx.audit(db, kiosk, "ektp_refused_untrusted", mask_nik(req.nik), build=why)
    db.send(ctx.q.kiosk_trust_alert, id=kiosk, what=why, at=now)
    db.commit()
    TRUST_LOG.emit(
        f"{kiosk}|{why}", "kiosk %s: e-KTP session refused, the kiosk reports %s", kiosk, why
    )
    raise ApiError(
        403,
        ErrorCode.UNTRUSTED_KIOSK,
        "this kiosk reports simulated parts or no build; e-KTP sessions are refused",
        build=why,
    )


GUESSES = {
    "pin": ("wrong_pin", 401, ErrorCode.WRONG_PIN, "NIK atau PIN tidak cocok."),
    "code": ("wrong_print_code", 403, ErrorCode.WRONG_CODE, "Kode cetak salah."),
    "qr": ("bad_qr_token", 401, ErrorCode.BAD_TOKEN, "Kode QR tidak berlaku atau sudah dipakai."),
}


def _guessed(
    ctx: Context, db: Db, failure: lim.Failure, path: str, subject: str = "", **detail: Any
) -> NoReturn:
    """Answer a counted wrong guess: "wrong" (with the guesses left) only if it was
    counted within the limits, else "locked"; audited when answered as a guess."""
    action, status, code, message = GUESSES[path]
    kiosk = str(detail.pop("kiosk"))
    if failure.answered:
        ctx.audit(db, kiosk, action, subject, **detail)
    db.commit()
    if failure.locked_until is not None:
        raise _locked(failure.locked_until)
    if not failure.answered:  # counted past a limit (its lock then ended already)
        raise _locked(utcnow())
    extra = {} if path == "qr" else {"attempts_left": failure.left}
    raise ApiError(status, code, message, **extra)


def _utc_text(moment: dt.datetime) -> str:
    return moment.replace(tzinfo=dt.UTC).isoformat()


def _reserve(
    ctx: Context, db: Db, req: ReserveRequest, token_hash: bytes, kiosk: str, host: str
) -> SignedDocument:
    q, cfg = ctx.q, ctx.settings
    now = utcnow()
    # One round trip: the session, an earlier reservation of this job and the document
    # (through the session's NIK); used in order.
    session = db.send(q.session, token_hash=token_hash)
    earlier = db.send(q.reservation, job_id=req.job_id)
    attempts = db.send(q.session_attempts, path="code", kiosk=kiosk, token_hash=token_hash)
    document = db.send(q.session_document, id=req.document_id, token_hash=token_hash)
    sess = ctx.citizen(session, token_hash, kiosk)
    existing = earlier.one()
    if existing is not None:
        return _repeat_reservation(ctx, db, existing, req, kiosk, token_hash, host)
    doc = document.one()
    if doc is None:
        raise ApiError(404, ErrorCode.NO_DOCUMENT, "no such document for this citizen")
    lapsed = doc.status == "reserved" and doc.reserved_until and doc.reserved_until <= now
    if doc.status != "approved" and not lapsed:
        # Not printable, whatever the code: said without comparing or counting it (the
        # citizen may ask again for a document already printed; that is not a guess).
        if doc.status == "printed":
            raise ApiError(409, ErrorCode.ALREADY_PRINTED, "Dokumen ini sudah dicetak.")
        raise ApiError(
            409, ErrorCode.NOT_AVAILABLE, f"document is {doc.status}", document_status=doc.status
        )
    check = lim.verdict(attempts.all(), now)
    if check.until is not None:
        raise _locked(check.until)
    good = doc.code_hash is not None and hmac.compare_digest(
        doc.code_hash, keyed_hash(cfg.pepper, "code", req.print_code)
    )
    if not good:
        failure = lim.fail(db, q, cfg.limits, sess.nik, kiosk, "code", now)
        _guessed(ctx, db, failure, "code", doc.number, kiosk=kiosk, citizen=mask_nik(sess.nik))
    # The answer is built (family read, payload signed) before the first write: the
    # writes below hold SQLite's write lock until the commit, and other workers wait.
    lease_until = now + cfg.reservation_lease
    answer = signed(ctx, db, NewReservation(req.job_id, doc.id, kiosk, lease_until), doc, host)
    if not lim.succeed(db, q, cfg.limits, check, sess.nik, "code", now):
        db.rollback()
        raise _locked(now + cfg.limits.lock)
    db.send(q.expire_holder, id=doc.id, now=now)
    taken = db.send(q.take_document, id=doc.id, job_id=req.job_id, until=lease_until, now=now)
    try:
        db.send(
            q.reserve,
            job_id=req.job_id,
            document_id=doc.id,
            kiosk_id=kiosk,
            at=now,
            until=lease_until,
            session_hash=token_hash,
        )
        won = taken.count() == 1
    except db.IntegrityError:
        # The same job id raced itself (a retried request): answer as the winner did.
        db.rollback()
        again = db.one(q.reservation, job_id=req.job_id)
        if again is None:
            raise
        return _repeat_reservation(ctx, db, again, req, kiosk, token_hash, host)
    if not won:
        db.rollback()
        status = db.scalar(q.document_status, id=doc.id)
        raise ApiError(
            409, ErrorCode.NOT_AVAILABLE, f"document is {status}", document_status=status
        )
    ctx.audit(db, kiosk, "reserved", doc.number, job=req.job_id, citizen=mask_nik(sess.nik))
    return answer


SETTLED_ELSEWHERE = {
    "confirmed": {
        "released": (ErrorCode.RELEASED, "this job was released; its document was not kept"),
        "expired": (
            ErrorCode.EXPIRED,
            "this job's lease ended and the document was taken by another print job",
        ),
    },
    "released": {
        "confirmed": (ErrorCode.CONFIRMED, "this job was confirmed as printed"),
        "held": (ErrorCode.HELD, "this job is held for the office, which decides"),
    },
    "held": {
        "confirmed": (ErrorCode.CONFIRMED, "this job was confirmed as printed"),
        "released": (ErrorCode.RELEASED, "this job was released; its document was not kept"),
        "expired": (
            ErrorCode.EXPIRED,
            "this job's lease ended and the document was taken by another print job",
        ),
    },
}
SETTLED_ELSEWHERE["confirmed"]["held"] = (
    ErrorCode.HELD,
    "this job is held for the office, which decides",
)


def settle(
    ctx: Context, db: Db, job_id: str, kiosk: str, to: str, reason: str | None
) -> ReservationState:
    """Move this kiosk's reserved job to ``to`` (confirmed | released | held) once;
    repeating it answers the same, and another settlement is refused.  The conditional UPDATE
    comes first (one round trip in the common case): of a confirm and a release racing,
    exactly one changes the rows, and the other reads what it decided.

    A lapsed lease does not stop a confirm (the paper came out) until another job took
    the document: then the job is ``expired``, which a release accepts as its answer."""
    q = ctx.q
    now = utcnow()
    moved = db.one(q.settle, job_id=job_id, to=to, at=now, reason=reason)
    if moved is not None and moved.kiosk_id != kiosk:
        db.rollback()  # another kiosk's job: not ours to settle (answered below)
        moved = None
    if moved is not None:
        if to == "confirmed":
            db.send(q.document_printed, id=moved.document_id, job_id=job_id, at=now, kiosk_id=kiosk)
        elif to == "held":
            db.send(q.document_held, id=moved.document_id, job_id=job_id)
        else:
            db.send(q.document_released, id=moved.document_id, job_id=job_id)
        action = {"confirmed": "printed", "held": "held"}.get(to, "released")
        extra = {"reason": reason} if to == "held" and reason else {}
        ctx.audit(db, kiosk, action, str(moved.document_id), job=job_id, **extra)
        db.commit()
        return ReservationState(job_id=job_id, document_id=moved.document_id, state=to)
    res = own_reservation(ctx, db, job_id, kiosk)
    db.commit()
    if res.state == to or (to == "released" and res.state == "expired"):
        return state_of(res)
    code, message = SETTLED_ELSEWHERE[to][res.state]
    raise ApiError(409, code, message)


def _repeat_reservation(
    ctx: Context,
    db: Db,
    res: Any,
    req: ReserveRequest,
    kiosk: str,
    token_hash: bytes,
    host: str,
) -> SignedDocument:
    """A repeated reserve with the same job id: the same answer, or 409 if it differs.
    The repeat must come from the session that made it (the same citizen): a job id is
    not a key to another citizen's payload."""
    if (
        res.kiosk_id != kiosk
        or res.document_id != req.document_id
        or res.session_hash is None
        or not hmac.compare_digest(res.session_hash, token_hash)
    ):
        raise ApiError(409, ErrorCode.JOB_ID_REUSED, "this job id belongs to another reservation")
    if res.state == "released":
        raise ApiError(409, ErrorCode.RELEASED, "this job was released; reserve with a new job id")
    if res.state == "expired":
        raise ApiError(409, ErrorCode.EXPIRED, "this job's lease ended; reserve with a new job id")
    doc = db.one(ctx.q.document, id=res.document_id)
    assert doc is not None
    return signed(ctx, db, res, doc, host)
