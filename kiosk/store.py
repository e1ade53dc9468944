"""The kiosk's local store (SQLite through SQLAlchemy 2): durable records that must
survive a crash or a power cut.

For now it holds the blank-card ledger.  SQLite runs in WAL mode with
``synchronous=FULL``: a record is on disk when :meth:`KioskStore.record` returns.
Each serial can be recorded once only; a second record for the same blank is refused.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Integer, String, create_engine, event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from printing.card_stock import CardOutcome, CardRecord


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

    @property
    def records(self) -> list[CardRecord]:
        with Session(self._engine) as session:
            rows = session.scalars(select(CardLedgerRow).order_by(CardLedgerRow.id)).all()
            return [
                CardRecord(r.serial, CardOutcome(r.outcome), r.job_id, r.document, r.reason, r.at)
                for r in rows
            ]

    def close(self) -> None:
        self._engine.dispose()
