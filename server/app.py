"""The reference central server's HTTP API (FastAPI).

Skeleton scope: list a citizen's approved documents, hand out a document's printable
payload, confirm a print (idempotent on the kiosk's job id).  A confirmed document is
never offered again.  Every route is versioned under ``/api/v1``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from server.db import Citizen, Document, Family, make_engine, session_factory

KINDS = {
    "kartu_keluarga": ("Kartu Keluarga", "a4"),
    "akta_kelahiran": ("Kutipan Akta Kelahiran", "a4"),
    "akta_kematian": ("Kutipan Akta Kematian", "a4"),
    "surat_pindah": ("Surat Keterangan Pindah WNI", "a4"),
    "ktp_el": ("KTP-el", "card"),
    "kia": ("Kartu Identitas Anak", "card"),
}


class DocumentSummary(BaseModel):
    id: int
    kind: str
    title: str
    medium: str
    number: str


class DocumentList(BaseModel):
    documents: list[DocumentSummary]


class ConfirmRequest(BaseModel):
    job_id: str = Field(min_length=8, max_length=64)
    kiosk_id: str = Field(default="unknown", max_length=64)


class DocumentStatus(BaseModel):
    id: int
    status: str
    printed_job_id: str | None
    printed_kiosk: str | None
    printed_at: dt.datetime | None


def get_db(request: Request) -> Iterator[Session]:
    """One database session per request, from the app's session factory."""
    with request.app.state.sessions() as session:
        yield session


DB = Annotated[Session, Depends(get_db)]


def _summary(doc: Document) -> DocumentSummary:
    title, medium = KINDS[doc.kind]
    return DocumentSummary(id=doc.id, kind=doc.kind, title=title, medium=medium, number=doc.number)


def _payload(session: Session, doc: Document) -> dict[str, Any]:
    """Everything the kiosk needs to render ``doc``; the QR carries its verification code."""
    title, medium = KINDS[doc.kind]
    payload: dict[str, Any] = {
        "id": doc.id,
        "kind": doc.kind,
        "title": title,
        "medium": medium,
        "number": doc.number,
        "issued_at": doc.approved_at.date().isoformat(),
        "official": doc.official,
        "verification": f"ADM1:{doc.number}",
    }
    if doc.data:
        payload["data"] = doc.data
    if doc.kind == "kartu_keluarga" and doc.kk_number:
        family = session.get(Family, doc.kk_number)
        members = session.scalars(
            select(Citizen).where(Citizen.kk_number == doc.kk_number).order_by(Citizen.position)
        ).all()
        payload["family"] = {
            "kk_number": doc.kk_number,
            "address": family.address if family else {},
            "members": [m.details for m in members],
        }
    return payload


def create_app(engine: Engine | None = None, database_url: str | None = None) -> FastAPI:
    """Build the app around one engine (created from ``database_url`` when not given)."""
    engine = engine or make_engine(database_url or "sqlite:///adm-server.db")
    sessions: sessionmaker[Session] = session_factory(engine)
    app = FastAPI(title="ADM central server", version="0.1.0")

    app.state.sessions = sessions

    @app.get("/api/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/v1/citizens/{nik}/documents", response_model=DocumentList)
    def list_documents(nik: str, session: DB) -> DocumentList:
        # An unknown NIK gets the same empty answer as a citizen with nothing to print.
        docs = session.scalars(
            select(Document)
            .where(Document.owner_nik == nik, Document.status == "approved")
            .order_by(Document.id)
        ).all()
        return DocumentList(documents=[_summary(d) for d in docs])

    @app.get("/api/v1/documents/{doc_id}")
    def get_document(doc_id: int, session: DB) -> dict[str, Any]:
        doc = session.get(Document, doc_id)
        if doc is None:
            raise HTTPException(404, "no such document")
        if doc.status != "approved":
            raise HTTPException(409, f"document is {doc.status}")
        return _payload(session, doc)

    @app.post("/api/v1/documents/{doc_id}/confirm", response_model=DocumentStatus)
    def confirm(doc_id: int, req: ConfirmRequest, session: DB) -> DocumentStatus:
        # One conditional UPDATE: of two concurrent confirmations only one changes the row.
        session.execute(
            update(Document)
            .where(Document.id == doc_id, Document.status == "approved")
            .values(
                status="printed",
                printed_job_id=req.job_id,
                printed_kiosk=req.kiosk_id,
                printed_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
            )
        )
        session.commit()
        doc = session.get(Document, doc_id)
        if doc is None:
            raise HTTPException(404, "no such document")
        session.refresh(doc)
        if doc.printed_job_id != req.job_id:
            raise HTTPException(409, "document was already printed by another job")
        return _status(doc)

    @app.get("/api/v1/documents/{doc_id}/status", response_model=DocumentStatus)
    def status(doc_id: int, session: DB) -> DocumentStatus:
        doc = session.get(Document, doc_id)
        if doc is None:
            raise HTTPException(404, "no such document")
        return _status(doc)

    return app


def _status(doc: Document) -> DocumentStatus:
    return DocumentStatus(
        id=doc.id,
        status=doc.status,
        printed_job_id=doc.printed_job_id,
        printed_kiosk=doc.printed_kiosk,
        printed_at=doc.printed_at,
    )
