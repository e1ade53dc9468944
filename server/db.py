"""Database schema and engine for the reference central server (SQLAlchemy 2)."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

DEFAULT_URL = "sqlite:///adm-server.db"


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Family(Base):
    __tablename__ = "families"

    kk_number: Mapped[str] = mapped_column(String(16), primary_key=True)
    address: Mapped[dict[str, Any]]


class Citizen(Base):
    __tablename__ = "citizens"

    nik: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kk_number: Mapped[str] = mapped_column(ForeignKey("families.kk_number"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # order of the member on the KK
    details: Mapped[dict[str, Any]]


class Document(Base):
    """One approved document: printable once, then ``printed`` for good."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    number: Mapped[str] = mapped_column(String(60), unique=True)
    owner_nik: Mapped[str] = mapped_column(ForeignKey("citizens.nik"), index=True)
    kk_number: Mapped[str | None] = mapped_column(ForeignKey("families.kk_number"))
    status: Mapped[str] = mapped_column(String(20), default="approved")
    approved_at: Mapped[dt.datetime] = mapped_column(DateTime)
    official: Mapped[dict[str, Any]]
    printed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, default=None)
    printed_job_id: Mapped[str | None] = mapped_column(String(64), default=None)
    printed_kiosk: Mapped[str | None] = mapped_column(String(64), default=None)
    # What the document shows beyond the population registry (e.g. the KTP-el photo).
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


def make_engine(url: str = DEFAULT_URL) -> Engine:
    """An engine; SQLite gets WAL and a busy timeout so concurrent requests wait, not fail."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    else:
        engine = create_engine(url, pool_pre_ping=True)
    Base.metadata.create_all(engine)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Any]:
    return sessionmaker(engine, expire_on_commit=False)
