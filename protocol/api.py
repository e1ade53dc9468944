"""Request and answer models of the kiosk API: the server validates with them and the
kiosk checks the answers it gets against them (a malformed 200 is a fault, not a refusal).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from protocol.nik import NIK_PATTERN

JOB_ID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class CardAssertion(BaseModel):
    """What the kiosk asserts after reading an e-KTP: chip authenticated, finger matched."""

    chip_authenticated: Literal[True]
    fingerprint_matched: Literal[True]
    finger_score: float = Field(ge=0, le=1)


class OpenSession(BaseModel):
    method: Literal["ektp", "pin", "qr"]
    nik: str | None = Field(default=None, pattern=NIK_PATTERN)
    pin: str | None = Field(default=None, pattern=r"^[0-9]{6}$")
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
    print_code: str = Field(pattern=r"^[0-9]{8}$")


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
