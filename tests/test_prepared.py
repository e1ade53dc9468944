"""The precompiled statements of the server's hot path (server/prepared.py): values come
back exactly as SQLAlchemy's ORM shows them, on SQLite and on PostgreSQL, and a failed
request leaves nothing written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from server.db import AuditEntry, Kiosk, make_engine, session_factory
from server.prepared import Prepared, connector
from server.queries import Queries


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'server.db'}"
    cluster = request.getfixturevalue("pg_cluster")
    return str(cluster.create_database(f"p_{abs(hash(request.node.nodeid)) % 10**12}"))


def test_values_round_trip_like_the_orm(database_url: str) -> None:
    engine = make_engine(database_url)
    q = Queries(engine.dialect)
    connect = connector(engine)
    at = dt.datetime(2026, 11, 29, 3, 4, 5, 678901)
    detail: dict[str, Any] = {"job": "j-1", "nested": {"list": [1, 2, "tiga"]}, "ok": True}
    with connect() as db:
        db.send(q.audit, at=at, actor="kiosk-x", action="reserved", subject="KK-1", detail=detail)
        db.commit()
    with session_factory(engine)() as orm:
        row = orm.scalars(select(AuditEntry).where(AuditEntry.actor == "kiosk-x")).one()
        assert (row.at, row.action, row.subject, row.detail) == (at, "reserved", "KK-1", detail)
    with connect() as db:  # the count of changed rows: none for an unknown kiosk
        assert db.run(q.kiosk_seen, id="nobody", at=at, status={}, digest="", since=at) == 0
        db.commit()
    engine.dispose()


def test_an_error_rolls_back_what_the_request_wrote(database_url: str) -> None:
    engine = make_engine(database_url)
    q = Queries(engine.dialect)
    connect = connector(engine)
    at = dt.datetime(2026, 11, 29, 4, 0, 0)
    with pytest.raises(RuntimeError), connect() as db:
        db.send(q.audit, at=at, actor="kiosk-y", action="reserved", subject="", detail={})
        db.sync()
        raise RuntimeError("the handler failed after writing")
    with connect() as db:
        db.send(q.audit, at=at, actor="kiosk-z", action="printed", subject="", detail={})
        db.commit()
    with session_factory(engine)() as orm:
        actors = orm.scalars(select(AuditEntry.actor)).all()
    assert "kiosk-y" not in actors and "kiosk-z" in actors
    engine.dispose()


def test_a_positional_driver_setting_is_refused_clearly(tmp_path: Path) -> None:
    """The statements pass dicts; an engine left in SQLite's default ``qmark`` style
    would bind them wrongly, so compiling for it is an error that says why."""
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ValueError, match="named"):
        Prepared(select(Kiosk.id).where(Kiosk.id == "k"), engine.dialect)
