"""What an officer at the Dukcapil office does: register an application, approve it
(issuing the document and its single-use print code), issue kiosk PINs and QR login
tokens, revoke or supersede documents, look at documents and kiosks.

Messages to citizens (codes, PINs, tokens) go into the ``outbox`` table, where an SMS or
e-mail gateway would pick them up; the clear values are returned once to the caller and
never stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from protocol.kinds import KINDS
from protocol.nik import mask_nik
from server.db import (
    Application,
    AuditEntry,
    Citizen,
    Document,
    Kiosk,
    Outbox,
    QrToken,
    Reservation,
    utcnow,
)
from server.sealing import seal
from server.security import keyed_hash, new_print_code, new_token


class OfficerError(Exception):
    """The request cannot be done; the message says why."""


PREFIX = {
    "kartu_keluarga": "KK",
    "akta_kelahiran": "AKL",
    "akta_kematian": "AKM",
    "surat_pindah": "SKPWNI",
    "ktp_el": "KTP",
    "kia": "KIA",
    "akta_perkawinan": "AKW",
    "akta_perceraian": "AKC",
    "akta_pengakuan_anak": "APA",
    "akta_pengesahan_anak": "APS",
    "surat_pindah_datang": "SKPD",
    "biodata": "BIO",
}


@dataclass(frozen=True)
class Approved:
    document: Document
    print_code: str


def _message(nik: str, text: str, secret: str, sender: X25519PublicKey | None) -> Outbox:
    """An outbox message whose secret is sealed to the sender (never stored in clear).
    Without a sender key (the demo seed) the message says the secret is given at the
    office instead."""
    if sender is None:
        return Outbox(nik=nik, text=text.replace("{secret}", "(diberikan di kantor Dukcapil)"))
    return Outbox(nik=nik, text=text, sealed=seal(sender, secret))


def _audit(db: Session, officer: str, action: str, subject: str, **detail: Any) -> None:
    db.add(AuditEntry(actor=officer, action=action, subject=subject, detail=detail))


def register(
    db: Session,
    kind: str,
    owner_nik: str,
    data: dict[str, Any] | None = None,
    *,
    officer: str = "officer",
) -> Application:
    if kind not in KINDS:
        raise OfficerError(f"unknown document kind {kind!r}; one of {', '.join(KINDS)}")
    owner = db.get(Citizen, owner_nik)
    if owner is None:
        raise OfficerError(f"no citizen with NIK {mask_nik(owner_nik)} in the registry")
    if kind == "kartu_keluarga" and owner.kk_number is None:
        raise OfficerError("the citizen belongs to no family card")
    application = Application(
        kind=kind, owner_nik=owner_nik, kk_number=owner.kk_number, data=data or {}
    )
    db.add(application)
    db.flush()
    _audit(db, officer, "application_registered", str(application.id), kind=kind)
    db.commit()
    return application


def approve(
    db: Session,
    pepper: bytes,
    application_id: int,
    official: dict[str, Any],
    *,
    officer: str = "officer",
    number: str | None = None,
    print_code: str | None = None,
    now: dt.datetime | None = None,
    sender: X25519PublicKey | None = None,
) -> Approved:
    """Issue the document; its print code goes to the outbox and is returned once."""
    app = db.get(Application, application_id)
    if app is None:
        raise OfficerError(f"no application {application_id}")
    if app.status != "submitted":
        raise OfficerError(f"application {application_id} is already {app.status}")
    now = now or utcnow()
    code = print_code or new_print_code()
    number = number or f"{PREFIX[app.kind]}-{app.owner_nik[:4]}-{now:%Y%m%d}-{app.id:06d}"
    doc = Document(
        application_id=app.id,
        kind=app.kind,
        number=number,
        owner_nik=app.owner_nik,
        kk_number=app.kk_number if app.kind == "kartu_keluarga" else None,
        status="approved",
        approved_at=now,
        official=official,
        data=app.data,
        verify_code=new_token()[:16],
        code_hash=keyed_hash(pepper, "code", code),
    )
    db.add(doc)
    app.status, app.decided_at, app.officer = "approved", now, officer
    db.add(
        _message(
            app.owner_nik,
            f"Dukcapil: {KINDS[app.kind][0]} {number} siap dicetak di ADM. "
            "Kode cetak: {secret}. Jangan berikan kode ini kepada siapa pun.",
            code,
            sender,
        )
    )
    db.flush()
    _audit(db, officer, "approved", number, application=app.id)
    db.commit()
    return Approved(doc, code)


def reissue_code(
    db: Session,
    pepper: bytes,
    number: str,
    *,
    officer: str = "officer",
    sender: X25519PublicKey | None = None,
) -> str:
    """A new print code for a document that is still printable (the old one stops working)."""
    doc = _printable(db, _doc(db, number), officer)
    if doc.status != "approved":
        raise OfficerError(f"document {number} is {doc.status}")
    code = new_print_code()
    doc.code_hash = keyed_hash(pepper, "code", code)
    db.add(
        _message(doc.owner_nik, f"Dukcapil: kode cetak baru {number}: {{secret}}.", code, sender)
    )
    _audit(db, officer, "code_reissued", number)
    db.commit()
    return code


def _doc(db: Session, number: str) -> Document:
    doc = db.scalar(select(Document).where(Document.number == number))
    if doc is None:
        raise OfficerError(f"no document {number}")
    return doc


def _unreserve(db: Session, doc: Document, state: str, reason: str) -> bool:
    """End the reservation holding ``doc`` (as ``state``: expired | released) and make the
    document approved again; False if its job settled first (a confirm won the race).

    Reservation first, then document: the order a kiosk's confirm takes the rows in, so
    the two never deadlock and exactly one of them decides."""
    job, now = doc.reserved_job, utcnow()
    ended = db.execute(
        update(Reservation)
        .where(Reservation.job_id == job, Reservation.state == "reserved")
        .values(state=state, settled_at=now, reason=reason[:200])
    )
    if ended.rowcount != 1:  # type: ignore[attr-defined]
        db.refresh(doc)  # nothing changed; what the job's settlement made of it
        return False
    db.execute(
        update(Document)
        .where(Document.id == doc.id, Document.reserved_job == job, Document.status == "reserved")
        .values(status="approved", reserved_job=None, reserved_until=None)
    )
    db.refresh(doc)
    return True


def _printable(db: Session, doc: Document, officer: str) -> Document:
    """``doc`` free of a reservation whose lease has ended (that job is ``expired``); a
    reservation still in its lease is refused with when it ends."""
    if doc.status != "reserved":
        return doc
    until = doc.reserved_until
    if until is None:
        raise OfficerError(
            f"document {doc.number} is held for the office (a kiosk could not tell whether "
            f"it printed); decide first with 'officer resolve {doc.number}'"
        )
    if until > utcnow():
        raise OfficerError(
            f"document {doc.number} is held for a print job until {until:%Y-%m-%d %H:%M} UTC; "
            f"wait, or end it with 'officer release {doc.number}'"
        )
    job = doc.reserved_job
    if _unreserve(db, doc, "expired", f"lease ended; taken back by {officer}"):
        _audit(db, officer, "reservation_expired", doc.number, job=job)
    return doc


def release(db: Session, what: str, *, officer: str = "officer") -> Reservation:
    """End a reservation now, whatever its lease (a kiosk that died for good): ``what``
    is a job id or a document number.  A late confirm of that job is then refused."""
    res = db.get(Reservation, what)
    if res is None:
        doc = db.scalar(select(Document).where(Document.number == what))
        if doc is None or doc.status != "reserved" or doc.reserved_job is None:
            raise OfficerError(f"no open reservation for {what}")
        res = db.get(Reservation, doc.reserved_job)
        assert res is not None
    if res.state != "reserved":
        raise OfficerError(f"print job {res.job_id} is already {res.state}")
    doc = db.get(Document, res.document_id)
    assert doc is not None
    if not _unreserve(db, doc, "released", f"released by {officer}"):
        raise OfficerError(f"print job {res.job_id} settled meanwhile: document is {doc.status}")
    _audit(db, officer, "reservation_released", doc.number, job=res.job_id, kiosk=res.kiosk_id)
    db.commit()
    db.refresh(res)
    return res


def held(db: Session) -> list[Reservation]:
    """Print jobs held for the office (a kiosk could not tell whether they printed),
    oldest first."""
    return list(
        db.scalars(
            select(Reservation).where(Reservation.state == "held").order_by(Reservation.settled_at)
        )
    )


def resolve_hold(db: Session, what: str, *, printed: bool, officer: str = "officer") -> Reservation:
    """The office's decision on a held print job (``what``: its job id or the document
    number), after looking at the kiosk's printer and tray: ``printed`` → the document
    counts as printed by that job; otherwise it is offered again with its print code."""
    res = db.get(Reservation, what)
    if res is None:
        doc = db.scalar(select(Document).where(Document.number == what))
        res = db.get(Reservation, doc.reserved_job) if doc and doc.reserved_job else None
    if res is None or res.state != "held":
        raise OfficerError(f"no print job held for {what}")
    doc = db.get(Document, res.document_id)
    assert doc is not None
    now = utcnow()
    to = "confirmed" if printed else "released"
    moved = db.execute(
        update(Reservation)
        .where(Reservation.job_id == res.job_id, Reservation.state == "held")
        .values(state=to, settled_at=now, reason=f"office: {officer}")
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise OfficerError(f"print job {res.job_id} was decided meanwhile")
    values: dict[str, object] = {"reserved_job": None, "reserved_until": None}
    if printed:
        values.update(
            status="printed",
            printed_at=now,
            printed_job=res.job_id,
            printed_kiosk=res.kiosk_id,
            code_hash=None,
        )
    else:
        values.update(status="approved")
    db.execute(
        update(Document)
        .where(Document.id == doc.id, Document.reserved_job == res.job_id)
        .values(**values)
    )
    action = "hold_found_printed" if printed else "hold_offered_again"
    _audit(db, officer, action, doc.number, job=res.job_id, kiosk=res.kiosk_id)
    db.commit()
    db.refresh(res)
    return res


def revoke(db: Session, number: str, *, reason: str, officer: str = "officer") -> Document:
    """Revoke ``number`` for good: the public check says so (and when) from now on, a
    kiosk no longer offers it.  ``reason`` is required, kept with the document and in
    the audit log, and never shown to the public."""
    reason = " ".join(reason.split())
    if not 3 <= len(reason) <= 200:
        raise OfficerError("a revocation needs a reason of 3 to 200 characters")
    doc = _printable(db, _doc(db, number), officer)
    if doc.status in ("revoked", "superseded"):
        raise OfficerError(f"document {number} is already {doc.status}")
    doc.status, doc.code_hash = "revoked", None
    doc.revoked_at, doc.revoked_reason = utcnow(), reason
    _audit(db, officer, "revoked", number, reason=reason)
    db.commit()
    return doc


def supersede(db: Session, old: str, new: str, *, officer: str = "officer") -> Document:
    """Mark ``old`` superseded by ``new`` (e.g. a KK after a member moved)."""
    before, after = _doc(db, old), _doc(db, new)
    if before.id == after.id:
        raise OfficerError("a document cannot supersede itself")
    before = _printable(db, before, officer)
    before.status, before.superseded_by, before.code_hash = "superseded", after.id, None
    _audit(db, officer, "superseded", old, by=new)
    db.commit()
    return before


def set_pin(db: Session, pepper: bytes, nik: str, pin: str, *, officer: str = "officer") -> None:
    if not (len(pin) == 6 and pin.isdigit()):
        raise OfficerError("a PIN is six digits")
    citizen = db.get(Citizen, nik)
    if citizen is None:
        raise OfficerError(f"no citizen with NIK {mask_nik(nik)} in the registry")
    citizen.pin_hash = keyed_hash(pepper, "pin", pin)
    db.add(Outbox(nik=nik, text="Dukcapil: PIN ADM Anda telah dibuat/diubah."))
    _audit(db, officer, "pin_set", mask_nik(nik))
    db.commit()


def qr_token(
    db: Session,
    pepper: bytes,
    nik: str,
    *,
    ttl: dt.timedelta = dt.timedelta(days=3),
    token: str | None = None,
    officer: str = "officer",
    sender: X25519PublicKey | None = None,
) -> str:
    if db.get(Citizen, nik) is None:
        raise OfficerError(f"no citizen with NIK {mask_nik(nik)} in the registry")
    token = token or new_token()
    db.add(
        QrToken(
            token_hash=keyed_hash(pepper, "qr", token),
            nik=nik,
            expires_at=utcnow() + ttl,
        )
    )
    db.add(
        _message(nik, "Dukcapil: kode QR masuk ADM Anda (sekali pakai): {secret}", token, sender)
    )
    _audit(db, officer, "qr_token_issued", mask_nik(nik))
    db.commit()
    return token


def register_kiosk(db: Session, kiosk_id: str, cert_serial: str, *, officer: str = "pki") -> None:
    """Record (or replace) the one certificate this kiosk may use."""
    kiosk = db.get(Kiosk, kiosk_id)
    if kiosk is None:
        db.add(Kiosk(id=kiosk_id, cert_serial=cert_serial, status="active"))
    else:
        kiosk.cert_serial, kiosk.status, kiosk.revoked_at = cert_serial, "active", None
    _audit(db, officer, "kiosk_certificate_issued", kiosk_id, serial=cert_serial)
    db.commit()


def revoke_kiosk(db: Session, kiosk_id: str, *, officer: str = "pki") -> None:
    kiosk = db.get(Kiosk, kiosk_id)
    if kiosk is None:
        raise OfficerError(f"no kiosk {kiosk_id!r}")
    kiosk.status, kiosk.revoked_at = "revoked", utcnow()
    # Its open reservations end with it: their documents are printable again elsewhere
    # (a revoked kiosk's confirmation would be refused anyway).
    open_jobs = db.scalars(
        select(Reservation).where(Reservation.kiosk_id == kiosk_id, Reservation.state == "reserved")
    ).all()
    released = []
    for res in open_jobs:
        doc = db.get(Document, res.document_id)
        mine = doc is not None and doc.reserved_job == res.job_id
        if mine and _unreserve(db, doc, "released", "kiosk revoked"):  # type: ignore[arg-type]
            released.append(res.job_id)
    _audit(db, officer, "kiosk_revoked", kiosk_id, released=released)
    db.commit()


def documents(db: Session, nik: str | None = None) -> list[Document]:
    query = select(Document).order_by(Document.id)
    if nik:
        query = query.where(Document.owner_nik == nik)
    return list(db.scalars(query))


def kiosks(db: Session) -> list[Kiosk]:
    return list(db.scalars(select(Kiosk).order_by(Kiosk.id)))


def demo_secret(kind: str, key: str, digits: int) -> str:
    """Deterministic demo codes so the simulated kiosk and the README can use them."""
    n = int.from_bytes(hashlib.sha256(f"adm-demo:{kind}:{key}".encode()).digest()[:8], "big")
    return f"{n % 10**digits:0{digits}d}"
