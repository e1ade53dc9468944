"""Every statement the kiosk API runs, written once against the models and compiled once
per dialect (see ``server.prepared``).  Parameters are named ``bindparam``s; values
written here (statuses, kinds) are part of the compiled statement."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, case, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from server.db import (
    Attempt,
    AuditEntry,
    CertRefusal,
    Citizen,
    Document,
    Family,
    Heartbeat,
    Kiosk,
    KioskSession,
    QrToken,
    Reservation,
)
from server.prepared import Prepared

P = bindparam

DOC_COLUMNS = (
    Document.id,
    Document.kind,
    Document.number,
    Document.owner_nik,
    Document.kk_number,
    Document.status,
    Document.approved_at,
    Document.official,
    Document.data,
    Document.verify_code,
    Document.code_hash,
    Document.superseded_by,
    Document.reserved_until,
)


def _session_nik() -> Any:
    """The NIK of the session whose token hash is ``:token_hash``: lets a request read its
    session and what depends on it in one round trip (the session is checked first)."""
    return (
        select(KioskSession.nik).where(KioskSession.token_hash == P("token_hash")).scalar_subquery()
    )


def _visible_to(nik: Any) -> Any:
    """Documents a citizen may print: their own, and their family's KK (one statement)."""
    family = select(Citizen.kk_number).where(Citizen.nik == nik).scalar_subquery()
    return or_(
        Document.owner_nik == nik,
        and_(Document.kind == "kartu_keluarga", Document.kk_number == family),
    )


def _printable() -> Any:
    """Approved, or reserved by a job whose lease has ended (``:now``)."""
    return or_(
        Document.status == "approved",
        and_(Document.status == "reserved", Document.reserved_until <= P("now")),
    )


def _attempt_key() -> object:
    return and_(
        Attempt.scope == P("scope"), Attempt.subject == P("subject"), Attempt.path == P("path")
    )


class Queries:
    def __init__(self, dialect: Dialect) -> None:
        def c(stmt: object) -> Prepared:
            return Prepared(stmt, dialect)  # type: ignore[arg-type]

        self.dialect = dialect.name
        # kiosks and sessions
        self.kiosk = c(select(Kiosk.cert_serial, Kiosk.status).where(Kiosk.id == P("id")))
        self.session = c(
            select(
                KioskSession.kiosk_id,
                KioskSession.nik,
                KioskSession.ended_at,
                KioskSession.expires_at,
            ).where(KioskSession.token_hash == P("token_hash"))
        )
        self.open_session = c(
            insert(KioskSession).values(
                token_hash=P("token_hash"),
                kiosk_id=P("kiosk_id"),
                nik=P("nik"),
                method=P("method"),
                created_at=P("created_at"),
                expires_at=P("expires_at"),
                evidence=P("evidence"),
            )
        )
        self.end_session = c(
            update(KioskSession)
            .where(KioskSession.token_hash == P("token_hash"))
            .values(ended_at=P("at"))
        )
        self.citizen_name = c(select(Citizen.name).where(Citizen.nik == P("nik")))
        self.citizen_pin = c(select(Citizen.pin_hash, Citizen.name).where(Citizen.nik == P("nik")))
        self.use_qr = c(
            update(QrToken)
            .where(
                QrToken.token_hash == P("token_hash"),
                QrToken.used_at.is_(None),
                QrToken.expires_at > P("now"),
            )
            .values(used_at=P("now"))
        )
        self.qr_nik = c(select(QrToken.nik).where(QrToken.token_hash == P("token_hash")))
        # documents
        self.session_documents = c(
            select(Document.id, Document.kind, Document.number)
            .where(_visible_to(_session_nik()), _printable())
            .order_by(Document.id)
        )
        self.session_document = c(
            select(*DOC_COLUMNS).where(Document.id == P("id"), _visible_to(_session_nik()))
        )
        self.document = c(select(*DOC_COLUMNS).where(Document.id == P("id")))
        self.document_by_code = c(select(*DOC_COLUMNS).where(Document.verify_code == P("code")))
        self.document_status = c(select(Document.status).where(Document.id == P("id")))
        self.family_address = c(select(Family.address).where(Family.kk_number == P("kk")))
        self.family_members = c(
            select(Citizen.details).where(Citizen.kk_number == P("kk")).order_by(Citizen.position)
        )
        self.take_document = c(
            update(Document)
            .where(Document.id == P("id"), _printable())
            .values(status="reserved", reserved_job=P("job_id"), reserved_until=P("until"))
        )
        # The holder of a lapsed lease loses it to the one taking the document (sent
        # before take_document: rows are locked reservation first, then document, in the
        # same order as a confirm, so a late confirm and a takeover never deadlock).
        self.expire_holder = c(
            update(Reservation)
            .where(
                Reservation.job_id
                == select(Document.reserved_job)
                .where(
                    Document.id == P("id"),
                    Document.status == "reserved",
                    Document.reserved_until <= P("now"),
                )
                .scalar_subquery(),
                Reservation.state == "reserved",
            )
            .values(state="expired", settled_at=P("now"), reason="lease ended")
        )
        self.document_printed = c(
            update(Document)
            .where(Document.id == P("id"), Document.reserved_job == P("job_id"))
            .values(
                status="printed",
                printed_at=P("at"),
                printed_job=P("job_id"),
                printed_kiosk=P("kiosk_id"),
                reserved_job=None,
                reserved_until=None,
                code_hash=None,
            )
        )
        # Held for the office: the lease is lifted, so the document is neither offered
        # again nor taken over (both need a lease that ended), until the office decides.
        self.document_held = c(
            update(Document)
            .where(Document.id == P("id"), Document.reserved_job == P("job_id"))
            .values(reserved_until=None)
        )
        self.document_released = c(
            update(Document)
            .where(Document.id == P("id"), Document.reserved_job == P("job_id"))
            .values(status="approved", reserved_job=None, reserved_until=None)
        )
        # reservations
        self.reservation = c(
            select(
                Reservation.job_id,
                Reservation.document_id,
                Reservation.kiosk_id,
                Reservation.state,
                Reservation.expires_at,
                Reservation.session_hash,
            ).where(Reservation.job_id == P("job_id"))
        )
        self.reserve = c(
            insert(Reservation).values(
                job_id=P("job_id"),
                document_id=P("document_id"),
                kiosk_id=P("kiosk_id"),
                state="reserved",
                created_at=P("at"),
                expires_at=P("until"),
                session_hash=P("session_hash"),
            )
        )
        self.settle = c(
            update(Reservation)
            # By the primary key alone: with the kiosk in the condition PostgreSQL chose
            # the kiosk's index and read every reservation of that kiosk (measured: time
            # per confirm grew with the kiosk's history).  Ownership is checked on return.
            .where(Reservation.job_id == P("job_id"), Reservation.state == "reserved")
            .values(state=P("to"), settled_at=P("at"), reason=P("reason"))
            .returning(Reservation.document_id, Reservation.kiosk_id)
        )
        # heartbeat and audit
        # The latest status always; a history row only when the status changed or the
        # last one is older than the history interval (``history_at`` returned = now).
        changed = or_(
            Kiosk.history_at.is_(None),
            Kiosk.history_at <= P("since"),
            Kiosk.history_digest.is_(None),
            Kiosk.history_digest != P("digest"),
        )
        self.kiosk_seen = c(
            update(Kiosk)
            .where(Kiosk.id == P("id"))
            .values(
                last_seen=P("at"),
                last_status=P("status"),
                history_at=case((changed, P("at")), else_=Kiosk.history_at),
                history_digest=P("digest"),
            )
            .returning(Kiosk.history_at, Kiosk.audit_count, Kiosk.audit_head)
        )
        # The audit chain pair moves only as server.alerts.audit_check allows, and only
        # from the pair it was checked against (two heartbeats at once cannot both move it).
        self.kiosk_audit = c(
            update(Kiosk)
            .where(Kiosk.id == P("id"), Kiosk.audit_count.is_not_distinct_from(P("was")))
            .values(audit_count=P("count"), audit_head=P("head"))
        )
        self.kiosk_audit_alert = c(
            update(Kiosk)
            .where(Kiosk.id == P("id"), Kiosk.audit_alert.is_(None))
            .values(audit_alert=P("what"), audit_alert_at=P("at"))
        )
        # The first reason to distrust a kiosk stays until a supervisor acknowledges it.
        self.kiosk_trust_alert = c(
            update(Kiosk)
            .where(Kiosk.id == P("id"), Kiosk.trust_alert.is_(None))
            .values(trust_alert=P("what"), trust_alert_at=P("at"))
        )
        self.cert_refusal = c(
            insert(CertRefusal).values(
                at=P("at"), kiosk_id=P("kiosk_id"), serial=P("serial"), reason=P("reason")
            )
        )
        self.heartbeat = c(
            insert(Heartbeat).values(kiosk_id=P("kiosk_id"), at=P("at"), status=P("status"))
        )
        # A kiosk's history older than the retention goes as its next heartbeat arrives
        # (the index on kiosk and time makes it a short range delete).
        self.heartbeats_purge = c(
            delete(Heartbeat).where(Heartbeat.kiosk_id == P("kiosk_id"), Heartbeat.at < P("before"))
        )
        self.audit = c(
            insert(AuditEntry).values(
                at=P("at"),
                actor=P("actor"),
                action=P("action"),
                subject=P("subject"),
                detail=P("detail"),
            )
        )

        # lockouts (server.limits)
        def attempts(citizen: Any) -> Prepared:
            return c(
                select(
                    Attempt.scope, Attempt.subject, Attempt.failures, Attempt.locked_until
                ).where(
                    Attempt.path == P("path"),
                    or_(
                        and_(Attempt.scope == "citizen", Attempt.subject == citizen),
                        and_(Attempt.scope == "kiosk", Attempt.subject == P("kiosk")),
                    ),
                )
            )

        # The optimistic look, read with a request's other reads (server.limits).
        self.attempts = attempts(P("citizen"))
        self.session_attempts = attempts(_session_nik())
        upsert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
        restart = or_(
            Attempt.locked_until <= P("now"),
            and_(Attempt.locked_until.is_(None), Attempt.window_start < P("cutoff")),
        )
        first = upsert(Attempt).values(
            scope=P("scope"),
            subject=P("subject"),
            path=P("path"),
            failures=1,
            window_start=P("now"),
        )
        key = [Attempt.scope, Attempt.subject, Attempt.path]
        # One failure, counted atomically; the new count and lock come back.  The
        # failure that reaches ``:max`` sets the lock; an ended window or lock restarts.
        self.attempt_fail = c(
            first.on_conflict_do_update(
                index_elements=key,
                set_={
                    "failures": case((restart, 1), else_=Attempt.failures + 1),
                    "window_start": case((restart, P("now")), else_=Attempt.window_start),
                    "locked_until": case(
                        (restart, None),
                        (Attempt.locked_until.is_not(None), Attempt.locked_until),
                        (Attempt.failures + 1 >= P("max"), P("lock_end")),
                        else_=None,
                    ),
                },
            ).returning(Attempt.failures, Attempt.locked_until)
        )
        # A right guess clears the count only while the record is still open.
        self.attempt_clear_open = c(
            update(Attempt)
            .where(
                _attempt_key(),  # type: ignore[arg-type]
                or_(
                    and_(Attempt.locked_until.is_(None), Attempt.failures < P("max")),
                    Attempt.locked_until <= P("now"),
                ),
            )
            .values(failures=0, locked_until=None)
        )
        # One use of a rate-limited path (no lock: the count itself is the limit).
        window_over = Attempt.window_start < P("cutoff")
        self.attempt_use = c(
            first.on_conflict_do_update(
                index_elements=key,
                set_={
                    "failures": case((window_over, 1), else_=Attempt.failures + 1),
                    "window_start": case((window_over, P("now")), else_=Attempt.window_start),
                },
            ).returning(Attempt.failures, Attempt.window_start)
        )
