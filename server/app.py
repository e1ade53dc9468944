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

Handlers are ``async def`` and call the database synchronously: each request is a few
short queries on a local database, and a hop to the thread pool for every handler and
dependency cost more than the queries themselves (a document list 5.2 → 2.7 ms, see
docs/benchmarks.md).  Throughput comes from worker processes (``serve --workers N``).
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from server import limits as lim
from server.db import (
    AuditEntry,
    Citizen,
    Document,
    Family,
    Heartbeat,
    Kiosk,
    KioskSession,
    QrToken,
    Reservation,
    session_factory,
    utcnow,
)
from server.pki import cert_identity
from server.security import Issuer, keyed_hash, new_token

API = "/api/v1"

KINDS = {
    "kartu_keluarga": ("Kartu Keluarga", "a4"),
    "akta_kelahiran": ("Kutipan Akta Kelahiran", "a4"),
    "akta_kematian": ("Kutipan Akta Kematian", "a4"),
    "surat_pindah": ("Surat Keterangan Pindah WNI", "a4"),
    "ktp_el": ("KTP-el", "card"),
    "kia": ("Kartu Identitas Anak", "card"),
}

NIK = Field(pattern=r"^\d{16}$")
JOB_ID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


@dataclass
class Settings:
    issuer: Issuer
    pepper: bytes
    session_ttl: dt.timedelta = dt.timedelta(minutes=10)
    # How long a worker trusts its last look at a kiosk's certificate record: a revocation
    # or re-issue takes effect within this time (saves one query per request).
    kiosk_cache_seconds: float = 2.0
    limits: lim.Limits = field(default_factory=lim.Limits)


# ---------------------------------------------------------------- request/response models


class CardAssertion(BaseModel):
    """What the kiosk asserts after reading an e-KTP: chip authenticated, finger matched."""

    chip_authenticated: Literal[True]
    fingerprint_matched: Literal[True]
    finger_score: float = Field(ge=0, le=1)


class OpenSession(BaseModel):
    method: Literal["ektp", "pin", "qr"]
    nik: str | None = Field(default=None, pattern=r"^\d{16}$")
    pin: str | None = Field(default=None, pattern=r"^\d{6}$")
    token: str | None = Field(default=None, min_length=8, max_length=64)
    card: CardAssertion | None = None


class SessionOpened(BaseModel):
    session: str
    method: str
    expires_at: dt.datetime
    name: str | None  # for the greeting; None when the registry does not know the NIK


class DocumentSummary(BaseModel):
    id: int
    kind: str
    title: str
    medium: str
    number: str


class DocumentList(BaseModel):
    documents: list[DocumentSummary]


class ReserveRequest(BaseModel):
    job_id: str = Field(pattern=JOB_ID)
    document_id: int = Field(ge=1)
    print_code: str = Field(pattern=r"^\d{8}$")


class ReservationState(BaseModel):
    job_id: str
    document_id: int
    state: Literal["reserved", "confirmed", "released"]


class SignedDocument(ReservationState):
    payload: dict[str, Any]
    signature: str
    key_id: str


class ReleaseRequest(BaseModel):
    reason: str = Field(default="", max_length=200)


class HeartbeatRequest(BaseModel):
    state: str = Field(max_length=40)
    devices: dict[str, str] = Field(default_factory=dict)
    supplies: dict[str, int] = Field(default_factory=dict)
    audit_head: str | None = Field(default=None, max_length=64)


class HeartbeatAnswer(BaseModel):
    server_time: dt.datetime


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


class Problem(BaseModel):
    detail: Any


# ---------------------------------------------------------------- errors


class ApiError(HTTPException):
    """An error with a machine-readable ``code`` next to a message for the citizen/log."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(status, {"code": code, "message": message, **extra})


def _locked(until: dt.datetime) -> ApiError:
    return ApiError(
        423,
        "locked",
        "Terlalu banyak percobaan yang salah. Coba lagi nanti.",
        locked_until=until.isoformat() + "Z",
    )


# ---------------------------------------------------------------- dependencies


async def get_db(request: Request) -> AsyncIterator[Session]:
    with request.app.state.sessions() as session:
        yield session


DB = Annotated[Session, Depends(get_db)]


@functools.lru_cache(maxsize=1024)
def _identity(der: bytes) -> tuple[str, str]:
    return cert_identity(der)


async def kiosk_id(request: Request, db: DB) -> str:
    """The kiosk behind the verified client certificate, or 401/403."""
    tls = request.scope.get("extensions", {}).get("tls") or {}
    der = tls.get("client_cert_der")
    if not der:
        raise ApiError(401, "no_certificate", "a kiosk client certificate is required")
    cn, serial = _identity(der)
    cache: dict[str, tuple[float, str, str]] = request.app.state.kiosk_cache
    ttl = request.app.state.settings.kiosk_cache_seconds
    now = time.monotonic()
    hit = cache.get(cn)
    if hit is None or hit[0] < now:
        row = db.execute(select(Kiosk.cert_serial, Kiosk.status).where(Kiosk.id == cn)).first()
        hit = (now + ttl, row.cert_serial, row.status) if row else (now, "", "")
        cache[cn] = hit
    if hit[1] != serial:
        raise ApiError(403, "unknown_kiosk", f"certificate of {cn!r} is not registered")
    if hit[2] != "active":
        raise ApiError(403, "kiosk_revoked", f"kiosk {cn!r} has been revoked")
    return cn


KioskId = Annotated[str, Depends(kiosk_id)]


async def settings(request: Request) -> Settings:
    s: Settings = request.app.state.settings
    return s


Cfg = Annotated[Settings, Depends(settings)]


@dataclass(frozen=True)
class OpenCitizenSession:
    token_hash: bytes
    nik: str


async def citizen_session(
    kiosk: KioskId,
    db: DB,
    cfg: Cfg,
    authorization: Annotated[str, Header(pattern=r"^Bearer [A-Za-z0-9_-]{16,64}$")],
) -> OpenCitizenSession:
    token_hash = keyed_hash(cfg.pepper, "session", authorization.removeprefix("Bearer "))
    row = db.execute(
        select(
            KioskSession.kiosk_id, KioskSession.nik, KioskSession.ended_at, KioskSession.expires_at
        ).where(KioskSession.token_hash == token_hash)
    ).first()
    if row is None or row.kiosk_id != kiosk or row.ended_at is not None:
        raise ApiError(401, "no_session", "session unknown or ended")
    if row.expires_at <= utcnow():
        raise ApiError(401, "session_expired", "session expired")
    return OpenCitizenSession(token_hash, row.nik)


CitizenSession = Annotated[OpenCitizenSession, Depends(citizen_session)]


# ---------------------------------------------------------------- helpers


def audit(db: Session, actor: str, action: str, subject: str = "", **detail: Any) -> None:
    db.execute(
        insert(AuditEntry).values(
            at=utcnow(), actor=actor, action=action, subject=subject, detail=detail
        )
    )


def mask(nik: str) -> str:
    return nik[:6] + "******" + nik[-4:] if len(nik) == 16 else "****"


def summary(doc: Any) -> DocumentSummary:
    title, medium = KINDS[doc.kind]
    return DocumentSummary(id=doc.id, kind=doc.kind, title=title, medium=medium, number=doc.number)


def visible_to(nik: str) -> Any:
    """Documents a citizen may print: their own, and their family's KK (one statement)."""
    family = select(Citizen.kk_number).where(Citizen.nik == nik).scalar_subquery()
    return or_(
        Document.owner_nik == nik,
        (Document.kind == "kartu_keluarga") & (Document.kk_number == family),
    )


def qr_fields(doc: Document) -> dict[str, Any]:
    return {"v": doc.verify_code, "k": doc.kind, "n": doc.number}


def payload_of(db: Session, doc: Document, issuer: Issuer, job_id: str, kiosk: str) -> dict:
    """Everything the kiosk needs to render ``doc``, bound to this job and kiosk."""
    title, medium = KINDS[doc.kind]
    payload: dict[str, Any] = {
        "id": doc.id,
        "kind": doc.kind,
        "title": title,
        "medium": medium,
        "number": doc.number,
        "issued_at": doc.approved_at.date().isoformat(),
        "official": doc.official,
        "verification": issuer.qr_text(qr_fields(doc)),
        "job_id": job_id,
        "kiosk_id": kiosk,
    }
    if doc.data:
        payload["data"] = doc.data
    if doc.kind == "kartu_keluarga" and doc.kk_number:
        family = db.get(Family, doc.kk_number)
        members = db.scalars(
            select(Citizen).where(Citizen.kk_number == doc.kk_number).order_by(Citizen.position)
        ).all()
        payload["family"] = {
            "kk_number": doc.kk_number,
            "address": family.address if family else {},
            "members": [m.details for m in members],
        }
    return payload


def signed(db: Session, res: Any, doc: Document, issuer: Issuer) -> SignedDocument:
    payload = payload_of(db, doc, issuer, res.job_id, res.kiosk_id)
    return SignedDocument(
        job_id=res.job_id,
        document_id=res.document_id,
        state=res.state,
        payload=payload,
        signature=issuer.sign(payload),
        key_id=issuer.key_id,
    )


def state_of(res: Any) -> ReservationState:
    return ReservationState(job_id=res.job_id, document_id=res.document_id, state=res.state)


def reservation_row(db: Session, job_id: str) -> Any:
    """(job_id, document_id, kiosk_id, state) of a reservation, or None."""
    return db.execute(
        select(
            Reservation.job_id, Reservation.document_id, Reservation.kiosk_id, Reservation.state
        ).where(Reservation.job_id == job_id)
    ).first()


def own_reservation(db: Session, job_id: str, kiosk: str) -> Any:
    res = reservation_row(db, job_id)
    if res is None or res.kiosk_id != kiosk:
        raise ApiError(404, "no_reservation", f"no reservation {job_id} for this kiosk")
    return res


# ---------------------------------------------------------------- the app


ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": Problem} for s in (400, 401, 403, 404, 409, 422, 423)
}


def create_app(
    engine: Engine,
    settings: Settings,
) -> FastAPI:
    sessions: sessionmaker[Session] = session_factory(engine)
    app = FastAPI(title="ADM central server", version="1.0.0", responses=ERRORS)
    app.state.sessions = sessions
    app.state.settings = settings
    app.state.kiosk_cache = {}

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

    @app.post(f"{API}/sessions", response_model=SessionOpened, status_code=201)
    async def open_session(req: OpenSession, kiosk: KioskId, db: DB, cfg: Cfg) -> SessionOpened:
        now = utcnow()
        nik, name = _authenticate(req, kiosk, db, cfg, now)
        token = new_token()
        expires = now + cfg.session_ttl
        db.execute(
            insert(KioskSession).values(
                token_hash=keyed_hash(cfg.pepper, "session", token),
                kiosk_id=kiosk,
                nik=nik,
                method=req.method,
                created_at=now,
                expires_at=expires,
            )
        )
        audit(db, kiosk, "session_opened", mask(nik), method=req.method)
        db.commit()
        return SessionOpened(session=token, method=req.method, expires_at=expires, name=name)

    @app.delete(f"{API}/sessions/current", status_code=204)
    async def end_session(sess: CitizenSession, db: DB) -> Response:
        db.execute(
            update(KioskSession)
            .where(KioskSession.token_hash == sess.token_hash)
            .values(ended_at=utcnow())
        )
        db.commit()
        return Response(status_code=204)

    @app.get(f"{API}/documents", response_model=DocumentList)
    async def list_documents(sess: CitizenSession, db: DB) -> DocumentList:
        rows = db.execute(
            select(Document.id, Document.kind, Document.number)
            .where(visible_to(sess.nik), Document.status == "approved")
            .order_by(Document.id)
        ).all()
        return DocumentList(documents=[summary(d) for d in rows])

    @app.post(f"{API}/reservations", response_model=SignedDocument)
    async def reserve(
        req: ReserveRequest, sess: CitizenSession, kiosk: KioskId, db: DB, cfg: Cfg
    ) -> SignedDocument:
        existing = reservation_row(db, req.job_id)
        if existing is not None:
            return _repeat_reservation(db, existing, req, kiosk, cfg)
        now = utcnow()
        subjects = [("citizen", sess.nik), ("kiosk", kiosk)]
        check = lim.check(db, subjects, "code", now)
        if check.until is not None:
            raise _locked(check.until)
        doc = db.scalar(
            select(Document).where(Document.id == req.document_id, visible_to(sess.nik))
        )
        if doc is None:
            raise ApiError(404, "no_document", "no such document for this citizen")
        good = doc.code_hash is not None and hmac.compare_digest(
            doc.code_hash, keyed_hash(cfg.pepper, "code", req.print_code)
        )
        if not good:
            db.rollback()
            left, lock_end = lim.record_failure(db, cfg.limits, subjects, "code", now)
            audit(db, kiosk, "wrong_print_code", doc.number, citizen=mask(sess.nik))
            db.commit()
            if lock_end is not None:
                raise _locked(lock_end)
            raise ApiError(403, "wrong_code", "Kode cetak salah.", attempts_left=left)
        if ("citizen", sess.nik) in check.counted:
            lim.clear(db, "citizen", sess.nik, "code")
        won = db.execute(
            update(Document)
            .where(Document.id == doc.id, Document.status == "approved")
            .values(status="reserved", reserved_job=req.job_id)
        )
        if won.rowcount != 1:  # type: ignore[attr-defined]
            db.rollback()
            db.refresh(doc)
            raise ApiError(
                409, "not_available", f"document is {doc.status}", document_status=doc.status
            )
        res = Reservation(
            job_id=req.job_id, document_id=doc.id, kiosk_id=kiosk, state="reserved", created_at=now
        )
        try:
            db.execute(
                insert(Reservation).values(
                    job_id=req.job_id,
                    document_id=doc.id,
                    kiosk_id=kiosk,
                    state="reserved",
                    created_at=now,
                )
            )
            audit(db, kiosk, "reserved", doc.number, job=req.job_id, citizen=mask(sess.nik))
            db.commit()
        except IntegrityError:
            # The same job id raced itself (a retried request): answer as the winner did.
            db.rollback()
            again = reservation_row(db, req.job_id)
            if again is None:
                raise
            return _repeat_reservation(db, again, req, kiosk, cfg)
        doc.status = "reserved"
        return signed(db, res, doc, cfg.issuer)

    @app.get(f"{API}/reservations/{{job_id}}", response_model=ReservationState)
    async def reservation(job_id: str, kiosk: KioskId, db: DB) -> ReservationState:
        return state_of(own_reservation(db, job_id, kiosk))

    @app.post(f"{API}/reservations/{{job_id}}/confirm", response_model=ReservationState)
    async def confirm(job_id: str, kiosk: KioskId, db: DB) -> ReservationState:
        now = utcnow()
        printed = {
            "status": "printed",
            "printed_at": now,
            "printed_job": job_id,
            "printed_kiosk": kiosk,
            "reserved_job": None,
            "code_hash": None,
        }
        return settle(db, job_id, kiosk, "confirmed", printed, {"settled_at": now})

    @app.post(f"{API}/reservations/{{job_id}}/release", response_model=ReservationState)
    async def release(job_id: str, req: ReleaseRequest, kiosk: KioskId, db: DB) -> ReservationState:
        back = {"status": "approved", "reserved_job": None}
        extra = {"settled_at": utcnow(), "reason": req.reason or None}
        return settle(db, job_id, kiosk, "released", back, extra)

    @app.post(f"{API}/heartbeat", response_model=HeartbeatAnswer)
    async def heartbeat(req: HeartbeatRequest, kiosk: KioskId, db: DB) -> HeartbeatAnswer:
        now = utcnow()
        status = req.model_dump()
        db.execute(update(Kiosk).where(Kiosk.id == kiosk).values(last_seen=now, last_status=status))
        db.add(Heartbeat(kiosk_id=kiosk, at=now, status=status))
        db.commit()
        return HeartbeatAnswer(server_time=now)

    @app.get("/verify/{code}", response_model=Verification)
    async def verify(code: str, db: DB) -> Verification:
        doc = db.scalar(select(Document).where(Document.verify_code == code[:32]))
        if doc is None or doc.status in ("approved", "reserved"):
            # Never printed: nothing with this code can legitimately exist on paper.
            return Verification(status="unknown")
        title, _ = KINDS[doc.kind]
        status: Literal["active", "superseded", "revoked"] = (
            "active" if doc.status == "printed" else doc.status  # type: ignore[assignment]
        )
        newer = db.get(Document, doc.superseded_by) if doc.superseded_by else None
        return Verification(
            status=status,
            kind=doc.kind,
            title=title,
            number=doc.number,
            issued=doc.approved_at.date(),
            superseded_by=newer.number if newer else None,
        )

    @app.exception_handler(IntegrityError)
    def _conflict(_request: Request, exc: IntegrityError) -> JSONResponse:
        return JSONResponse(
            {"detail": {"code": "conflict", "message": "conflicting concurrent change"}}, 409
        )

    return app


def _authenticate(
    req: OpenSession, kiosk: str, db: Session, cfg: Settings, now: dt.datetime
) -> tuple[str, str | None]:
    """(NIK, name) the session is for, or an error that does not tell whether it exists."""
    if req.method == "ektp":
        if req.nik is None or req.card is None:
            raise ApiError(422, "incomplete", "e-KTP login needs nik and card")
        return req.nik, db.scalar(select(Citizen.name).where(Citizen.nik == req.nik))
    if req.method == "pin":
        if req.nik is None or req.pin is None:
            raise ApiError(422, "incomplete", "PIN login needs nik and pin")
        subjects = [("citizen", req.nik), ("kiosk", kiosk)]
        check = lim.check(db, subjects, "pin", now)
        if check.until is not None:
            raise _locked(check.until)
        row = db.execute(
            select(Citizen.pin_hash, Citizen.name).where(Citizen.nik == req.nik)
        ).first()
        stored, name = (row.pin_hash, row.name) if row else (None, None)
        given = keyed_hash(cfg.pepper, "pin", req.pin)
        # Compare against a dummy for an unknown NIK so timing does not tell either.
        if not hmac.compare_digest(stored or b"\0" * 32, given) or stored is None:
            db.rollback()
            left, lock_end = lim.record_failure(db, cfg.limits, subjects, "pin", now)
            audit(db, kiosk, "wrong_pin", mask(req.nik))
            db.commit()
            if lock_end is not None:
                raise _locked(lock_end)
            raise ApiError(401, "wrong_pin", "NIK atau PIN tidak cocok.", attempts_left=left)
        if ("citizen", req.nik) in check.counted:
            lim.clear(db, "citizen", req.nik, "pin")
        return req.nik, name
    # QR token: single use, short-lived.  Only the kiosk can be counted (no NIK is known).
    if req.token is None:
        raise ApiError(422, "incomplete", "QR login needs token")
    until = lim.check(db, [("kiosk", kiosk)], "qr", now).until
    if until is not None:
        raise _locked(until)
    token_hash = keyed_hash(cfg.pepper, "qr", req.token)
    used = db.execute(
        update(QrToken)
        .where(
            QrToken.token_hash == token_hash,
            QrToken.used_at.is_(None),
            QrToken.expires_at > now,
        )
        .values(used_at=now)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        _left, lock_end = lim.record_failure(db, cfg.limits, [("kiosk", kiosk)], "qr", now)
        audit(db, kiosk, "bad_qr_token")
        db.commit()
        if lock_end is not None:
            raise _locked(lock_end)
        raise ApiError(401, "bad_token", "Kode QR tidak berlaku atau sudah dipakai.")
    nik = db.scalar(select(QrToken.nik).where(QrToken.token_hash == token_hash))
    assert nik is not None
    return nik, db.scalar(select(Citizen.name).where(Citizen.nik == nik))


SETTLED_ELSEWHERE = {
    "confirmed": ("released", "this job was released; its document was not kept"),
    "released": ("confirmed", "this job was confirmed as printed"),
}


def settle(
    db: Session,
    job_id: str,
    kiosk: str,
    to: str,
    document: dict[str, Any],
    reservation: dict[str, Any],
) -> ReservationState:
    """Move a reserved job to ``to`` (confirmed | released) once; repeating it answers the
    same, and the opposite settlement is refused.  Conditional UPDATEs: of a confirm and a
    release racing, exactly one changes the rows."""
    code, message = SETTLED_ELSEWHERE[to]
    res = own_reservation(db, job_id, kiosk)
    if res.state == to:
        return state_of(res)
    if res.state != "reserved":
        raise ApiError(409, code, message)
    done = db.execute(
        update(Reservation)
        .where(Reservation.job_id == job_id, Reservation.state == "reserved")
        .values(state=to, **reservation)
    )
    won = done.rowcount == 1  # type: ignore[attr-defined]
    if won:
        db.execute(
            update(Document)
            .where(Document.id == res.document_id, Document.reserved_job == job_id)
            .values(**document)
        )
        audit(
            db,
            kiosk,
            "printed" if to == "confirmed" else "released",
            str(res.document_id),
            job=job_id,
        )
    db.commit()
    if won:
        return ReservationState(job_id=job_id, document_id=res.document_id, state=to)  # type: ignore[arg-type]
    # A concurrent settlement got there first: answer what it decided.
    return settle(db, job_id, kiosk, to, document, reservation)


def _repeat_reservation(
    db: Session, res: Any, req: ReserveRequest, kiosk: str, cfg: Settings
) -> SignedDocument:
    """A repeated reserve with the same job id: the same answer, or 409 if it differs."""
    if res.kiosk_id != kiosk or res.document_id != req.document_id:
        raise ApiError(409, "job_id_reused", "this job id belongs to another reservation")
    if res.state == "released":
        raise ApiError(409, "released", "this job was released; reserve with a new job id")
    doc = db.get(Document, res.document_id)
    assert doc is not None
    return signed(db, res, doc, cfg.issuer)
