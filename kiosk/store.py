"""The kiosk's local store (SQLite through SQLAlchemy 2): durable records that must
survive a crash or a power cut.

It holds the blank-card ledger and the audit log.  SQLite runs in WAL mode with
``synchronous=FULL``: a card record is on disk when :meth:`KioskStore.record` returns.
Each serial can be recorded once only; a second record for the same blank is refused.

The audit log is hash-chained: each row's hash covers its content and the previous
row's hash, so an edited or deleted row breaks the chain (``adm-kiosk audit verify``).
Audit rows are written by one writer thread, so the flow's thread never waits on fsync.
NIKs are masked before they are written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import queue
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Integer, String, Text, create_engine, event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from printing.card_stock import CardOutcome, CardRecord
from protocol.nik import mask_nik

log = logging.getLogger("kiosk.store")
GENESIS = "0" * 64
_NIK = re.compile(r"(?<!\d)\d{16}(?!\d)")


class StoreError(RuntimeError):
    """The store cannot be opened or written (path, permissions, disk full, corruption)."""


class Base(DeclarativeBase):
    pass


class CardLedgerRow(Base):
    __tablename__ = "card_ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    outcome: Mapped[str] = mapped_column(String(16))
    job_id: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(400), default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime)


class JobRow(Base):
    """One print job of the durable print transaction (no personal data: the payload
    stays in memory; after a crash the job is settled, never re-rendered)."""

    __tablename__ = "print_jobs"

    job_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    document_id: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(80), default="")
    title: Mapped[str] = mapped_column(String(80), default="")
    medium: Mapped[str] = mapped_column(String(10), default="")
    # reserving → reserved → rendered → spooled → completed → confirmed
    #                                             ↘ failed → released
    state: Mapped[str] = mapped_column(String(12), index=True)
    queue: Mapped[str | None] = mapped_column(String(40), default=None)
    cups_job: Mapped[int | None] = mapped_column(Integer, default=None)
    card_serial: Mapped[str | None] = mapped_column(String(40), default=None)
    error: Mapped[str] = mapped_column(String(400), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class OutboxRow(Base):
    """A confirm or release the server has not acknowledged yet."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(10))  # confirm | release
    reason: Mapped[str] = mapped_column(String(200), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    done_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text)
    prev: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def _mask(value: object) -> object:
    if isinstance(value, str):
        return _NIK.sub(lambda m: mask_nik(m.group(0)), value)
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    return value


def chain_hash(prev: str, row_id: int, at: str, kind: str, detail: str) -> str:
    return hashlib.sha256("\x1f".join((prev, str(row_id), at, kind, detail)).encode()).hexdigest()


MIGRATIONS = Path(__file__).resolve().parent / "migrations"


# The newest migration (``migrations/versions``); a test checks it is Alembic's head.
SCHEMA_HEAD = "0002"


def _at_head(engine: Any) -> bool:
    """Whether the store already has the newest schema: the common start, which then
    skips importing Alembic (0.2 s of every start)."""
    from sqlalchemy import inspect, text

    if "alembic_version" not in set(inspect(engine).get_table_names()):
        return False
    with engine.connect() as conn:
        versions = [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]
    return versions == [SCHEMA_HEAD]


def _migrate(engine: Any) -> None:
    """Alembic to the newest schema; a store made before migrations existed is adopted."""
    if _at_head(engine):
        return
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    tables = set(inspect(engine).get_table_names())
    if "card_ledger" in tables and "alembic_version" not in tables:
        command.stamp(cfg, "0001")
    command.upgrade(cfg, "head")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class JobRecord:
    job_id: str
    document_id: int
    number: str
    title: str
    medium: str
    state: str
    queue: str | None
    cups_job: int | None
    card_serial: str | None
    error: str
    # When the job was made (reserved): before anything of it could reach a printer, so
    # a printer up since then has seen all of it there was to see.
    created_at: dt.datetime | None = None


@dataclass(frozen=True)
class OutboxItem:
    id: int
    job_id: str
    action: str
    reason: str
    attempts: int


UNFINISHED = ("reserving", "reserved", "rendered", "spooled", "completed", "failed", "holding")
# A job whose end is decided (its settlement queued or acknowledged): never settled again.
# holding → held: nobody can tell whether it printed; the office decides at the server.
SETTLING = ("completed", "failed", "holding", "confirmed", "released", "held")


@dataclass(frozen=True)
class AuditReport:
    ok: bool
    rows: int
    problem: str = ""
    row_id: int | None = None


class KioskStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._engine = create_engine(f"sqlite:///{path}")

            @event.listens_for(self._engine, "connect")
            def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=FULL")
                cur.close()

            _migrate(self._engine)
        except Exception as exc:
            raise StoreError(f"kiosk store {path}: {exc}") from exc
        self._audit_queue: queue.Queue[tuple[str, str, str] | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write_audit, name="audit-writer", daemon=True)
        self._writer.start()

    # --- audit log ------------------------------------------------------------------
    def audit(self, kind: str, **detail: object) -> None:
        """Queue one audit event (any thread, never blocks); NIKs are masked here."""
        at = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        text = json.dumps(_mask(detail), sort_keys=True, ensure_ascii=False, default=str)
        self._audit_queue.put((at, kind, text))

    def flush(self) -> None:
        """Wait until every queued audit event is on disk."""
        self._audit_queue.join()

    def _write_audit(self) -> None:
        while True:
            item = self._audit_queue.get()
            try:
                if item is None:
                    return
                at, kind, text = item
                with Session(self._engine) as session, session.begin():
                    last = session.scalars(
                        select(AuditRow).order_by(AuditRow.id.desc()).limit(1)
                    ).first()
                    row_id = (last.id + 1) if last else 1
                    prev = last.hash if last else GENESIS
                    session.add(
                        AuditRow(
                            id=row_id,
                            at=at,
                            kind=kind,
                            detail=text,
                            prev=prev,
                            hash=chain_hash(prev, row_id, at, kind, text),
                        )
                    )
            except Exception:  # a full disk must not kill the writer silently
                log.exception("audit event %s could not be written", item[1] if item else "")
            finally:
                self._audit_queue.task_done()

    def audit_head(self) -> str:
        """The newest row's hash (the genesis value for an empty log), after the writer
        has caught up: what the heartbeat reports to the server."""
        self.flush()
        with Session(self._engine) as session:
            head = session.scalar(select(AuditRow.hash).order_by(AuditRow.id.desc()).limit(1))
        return head or GENESIS

    def audit_position(self) -> tuple[int, str]:
        """(record count, head) after the writer has caught up.  Records are numbered
        1..count, so the count is the newest record's number (0 and the genesis value for
        an empty log)."""
        self.flush()
        with Session(self._engine) as session:
            last = session.execute(
                select(AuditRow.id, AuditRow.hash).order_by(AuditRow.id.desc()).limit(1)
            ).first()
        return (last[0], last[1]) if last else (0, GENESIS)

    def audit_hash_at(self, number: int) -> str | None:
        """The hash of record ``number`` (the genesis value for 0), None if there is no
        such record: the anchor a heartbeat proves its chain with."""
        if number == 0:
            return GENESIS
        with Session(self._engine) as session:
            return session.scalar(select(AuditRow.hash).where(AuditRow.id == number))

    def audit_events(self) -> list[tuple[int, str, str, dict[str, object]]]:
        with Session(self._engine) as session:
            rows = session.scalars(select(AuditRow).order_by(AuditRow.id)).all()
            return [(r.id, r.at, r.kind, json.loads(r.detail)) for r in rows]

    def audit_events_of(
        self, kinds: tuple[str, ...], limit: int = 100
    ) -> list[tuple[int, str, str, dict[str, object]]]:
        """The newest ``limit`` events of these kinds, oldest first, after the writer has
        caught up (the technician PIN lockout is counted from them)."""
        self.flush()
        with Session(self._engine) as session:
            rows = session.scalars(
                select(AuditRow)
                .where(AuditRow.kind.in_(kinds))
                .order_by(AuditRow.id.desc())
                .limit(limit)
            ).all()
            return [(r.id, r.at, r.kind, json.loads(r.detail)) for r in reversed(rows)]

    def verify_audit(self) -> AuditReport:
        """Walk the chain: every row must follow the previous one and hash to itself."""
        prev, expected_id, count = GENESIS, 1, 0
        with Session(self._engine) as session:
            for r in session.scalars(select(AuditRow).order_by(AuditRow.id)):
                count += 1
                if r.id != expected_id:
                    return AuditReport(False, count, f"row {expected_id} is missing", expected_id)
                if r.prev != prev:
                    return AuditReport(
                        False, count, f"row {r.id} does not follow row {r.id - 1}", r.id
                    )
                if chain_hash(r.prev, r.id, r.at, r.kind, r.detail) != r.hash:
                    return AuditReport(False, count, f"row {r.id} was altered", r.id)
                prev, expected_id = r.hash, expected_id + 1
        return AuditReport(True, count)

    def record(self, record: CardRecord) -> None:
        """Write one card record durably (raises StoreError; a repeated serial included)."""
        row = CardLedgerRow(
            serial=record.serial,
            outcome=record.outcome.value,
            job_id=record.job_id,
            document=record.document,
            reason=record.reason[:400],
            at=(record.at or dt.datetime.now(dt.UTC)).replace(tzinfo=None),
        )
        try:
            with Session(self._engine) as session, session.begin():
                session.add(row)
        except IntegrityError:
            raise StoreError(f"blank card {record.serial} is already in the ledger") from None
        except Exception as exc:
            raise StoreError(f"could not record blank card {record.serial}: {exc}") from exc
        self.audit(
            f"card_{record.outcome.value}",
            serial=record.serial,
            job=record.job_id,
            document=record.document,
            reason=record.reason,
        )

    # --- print jobs and the outbox ----------------------------------------------------
    def _write(self, what: str, fn: Any) -> Any:
        try:
            with Session(self._engine) as session, session.begin():
                return fn(session)
        except Exception as exc:
            raise StoreError(f"could not record {what}: {exc}") from exc

    def job_begin(
        self, job_id: str, document_id: int, number: str, title: str, medium: str
    ) -> None:
        """Recorded before the server is asked, so a crash leaves a trace to settle."""
        now = _now()
        row = JobRow(
            job_id=job_id,
            document_id=document_id,
            number=number,
            title=title,
            medium=medium,
            state="reserving",
            created_at=now,
            updated_at=now,
        )
        self._write(f"job {job_id}", lambda s: s.add(row))

    def job_update(self, job_id: str, state: str, **fields: Any) -> None:
        def go(session: Session) -> None:
            row = session.get(JobRow, job_id)
            if row is None:
                raise KeyError(job_id)
            row.state, row.updated_at = state, _now()
            for key, value in fields.items():
                setattr(row, key, value[:400] if key == "error" else value)

        self._write(f"job {job_id} as {state}", go)

    def job_forget(self, job_id: str) -> None:
        """The server refused the reservation: nothing to settle."""
        self._write(f"job {job_id}", lambda s: s.query(JobRow).filter_by(job_id=job_id).delete())

    def job(self, job_id: str) -> JobRecord | None:
        with Session(self._engine) as session:
            row = session.get(JobRow, job_id)
            return _job(row) if row else None

    def jobs(self, states: tuple[str, ...] = UNFINISHED) -> list[JobRecord]:
        with Session(self._engine) as session:
            rows = session.scalars(
                select(JobRow).where(JobRow.state.in_(states)).order_by(JobRow.created_at)
            ).all()
            return [_job(r) for r in rows]

    def outbox_add(self, job_id: str, action: str, reason: str = "") -> None:
        row = OutboxRow(job_id=job_id, action=action, reason=reason[:200], created_at=_now())
        self._write(f"{action} of job {job_id}", lambda s: s.add(row))

    def outbox_pending(self) -> list[OutboxItem]:
        with Session(self._engine) as session:
            rows = session.scalars(
                select(OutboxRow).where(OutboxRow.done_at.is_(None)).order_by(OutboxRow.id)
            ).all()
            return [OutboxItem(r.id, r.job_id, r.action, r.reason, r.attempts) for r in rows]

    def outbox_of(self, job_id: str) -> list[OutboxItem]:
        """Every confirm and release ever queued for ``job_id``, sent or not, in order."""
        with Session(self._engine) as session:
            rows = session.scalars(
                select(OutboxRow).where(OutboxRow.job_id == job_id).order_by(OutboxRow.id)
            ).all()
            return [OutboxItem(r.id, r.job_id, r.action, r.reason, r.attempts) for r in rows]

    def outbox_result(self, item_id: int, error: str = "") -> None:
        """Acknowledged by the server (``error`` empty) or one more failed attempt."""

        def go(session: Session) -> None:
            row = session.get(OutboxRow, item_id)
            if row is None:
                return
            if error:
                row.attempts, row.last_error = row.attempts + 1, error[:300]
            else:
                row.done_at = _now()

        self._write(f"outbox item {item_id}", go)

    @property
    def records(self) -> list[CardRecord]:
        with Session(self._engine) as session:
            rows = session.scalars(select(CardLedgerRow).order_by(CardLedgerRow.id)).all()
            return [
                CardRecord(r.serial, CardOutcome(r.outcome), r.job_id, r.document, r.reason, r.at)
                for r in rows
            ]

    def close(self) -> None:
        self._audit_queue.put(None)
        self._writer.join(timeout=10)
        self._engine.dispose()


def _job(r: JobRow) -> JobRecord:
    return JobRecord(
        r.job_id,
        r.document_id,
        r.number,
        r.title,
        r.medium,
        r.state,
        r.queue,
        r.cups_job,
        r.card_serial,
        r.error,
        r.created_at,
    )
