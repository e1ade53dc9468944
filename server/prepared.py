"""Statements compiled once and run on the database driver directly: the API's hot path.

The kiosk API runs a handful of fixed statements per request.  Through the ORM session
each one was rebuilt, cache-keyed and passed through the ORM layer on every call, which
cost ten times the database work itself (profiled: SQLite spent ~30 µs per statement of
~700 µs).  Here every statement is still written with SQLAlchemy Core against the models
(one schema, both dialects), compiled once per dialect when the app starts, and executed
on the pooled DBAPI connection with the column types' own bind and result converters, so
values look exactly as they do through SQLAlchemy (datetimes, JSON, bytes).

Both drivers take named parameters (SQLite is created with ``paramstyle="named"``,
psycopg uses ``%(name)s``), so a statement's parameters are a plain dict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.sql import ClauseElement


class Prepared:
    """One Core statement compiled for one dialect."""

    def __init__(self, stmt: ClauseElement, dialect: Dialect) -> None:
        compiled: Any = stmt.compile(dialect=dialect)  # a SQLCompiler
        if compiled.positional:
            raise ValueError(f"{dialect.name}: positional parameters; create the engine named")
        self.sql = compiled.string
        self._binds: list[tuple[str, Callable[[Any], Any]]] = []
        for name, bind in compiled.binds.items():
            proc = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if proc is not None:
                self._binds.append((name, proc))
        # Values written into the statement itself (``status == "approved"``).
        self._defaults = {
            name: bind.value for name, bind in compiled.binds.items() if not bind.required
        }
        columns = list(getattr(stmt, "selected_columns", ()))
        self._row: type[Any] | None = None
        self._results: list[tuple[int, Callable[[Any], Any]]] = []
        if columns:
            names = [c.key or f"c{i}" for i, c in enumerate(columns)]
            self._row = NamedTuple("Row", [(n, Any) for n in names])  # type: ignore[misc,assignment]
            for i, col in enumerate(columns):
                proc = col.type.dialect_impl(dialect).result_processor(dialect, None)
                if proc is not None:
                    self._results.append((i, proc))

    def params(self, given: dict[str, Any]) -> dict[str, Any]:
        params = {**self._defaults, **given} if self._defaults else dict(given)
        for name, proc in self._binds:
            if name in params:
                params[name] = proc(params[name])
        return params

    def row(self, raw: Any) -> Any:
        if self._results:
            raw = list(raw)
            for i, proc in self._results:
                raw[i] = proc(raw[i])
        assert self._row is not None
        return self._row(*raw)


class Db:
    """One request's database connection: run prepared statements, commit or roll back."""

    def __init__(self, conn: Any, integrity_error: type[Exception]) -> None:
        self._conn = conn
        self._cur = conn.cursor()
        self.IntegrityError = integrity_error  # the driver's own: not wrapped by SQLAlchemy

    def run(self, stmt: Prepared, **params: Any) -> int:
        """Execute; the number of rows changed."""
        self._cur.execute(stmt.sql, stmt.params(params))
        return int(self._cur.rowcount)

    def one(self, stmt: Prepared, **params: Any) -> Any:
        """The first row (a named tuple), or None."""
        self._cur.execute(stmt.sql, stmt.params(params))
        raw = self._cur.fetchone()
        return None if raw is None else stmt.row(raw)

    def all(self, stmt: Prepared, **params: Any) -> list[Any]:
        self._cur.execute(stmt.sql, stmt.params(params))
        return [stmt.row(raw) for raw in self._cur.fetchall()]

    def scalar(self, stmt: Prepared, **params: Any) -> Any:
        row = self.one(stmt, **params)
        return None if row is None else row[0]

    def commit(self) -> None:
        self._conn.commit()

    def rollback(self) -> None:
        self._conn.rollback()

    def savepoint(self, name: str) -> None:
        self._cur.execute(f"SAVEPOINT {name}")

    def rollback_to(self, name: str) -> None:
        self._cur.execute(f"ROLLBACK TO SAVEPOINT {name}")


def connector(engine: Engine) -> Callable[[], Any]:
    """A context manager factory: a pooled connection per request, rolled back if the
    request did not commit (an error leaves nothing half-written), then returned."""

    dbapi = engine.dialect.dbapi
    assert dbapi is not None
    integrity = dbapi.IntegrityError
    broken = (dbapi.OperationalError, dbapi.InterfaceError)

    @contextmanager
    def connect() -> Iterator[Db]:
        conn = engine.raw_connection()
        try:
            db = Db(conn, integrity)
            yield db
        except broken:
            conn.invalidate()  # the database went away: never hand this connection out again
            raise
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()  # back to the pool; the pool rolls back anything left open

    return connect
