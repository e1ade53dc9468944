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

from drivers.card.base import mask_nik
from printing.card_stock import CardOutcome, CardRecord

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

            Base.metadata.create_all(self._engine)
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

    def audit_events(self) -> list[tuple[int, str, str, dict[str, object]]]:
        with Session(self._engine) as session:
            rows = session.scalars(select(AuditRow).order_by(AuditRow.id)).all()
            return [(r.id, r.at, r.kind, json.loads(r.detail)) for r in rows]

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
