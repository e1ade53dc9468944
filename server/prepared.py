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

import os
import socket
import threading
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
        columns = list(getattr(stmt, "exported_columns", ()))  # SELECT or RETURNING
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


class Pending:
    """A statement sent, its result read when needed (see ``Db.send``)."""

    def __init__(self, db: Db, stmt: Prepared, cur: Any) -> None:
        self._db, self._stmt, self._cur = db, stmt, cur

    def one(self) -> Any:
        """The first row (a named tuple), or None."""
        raw = self._cur.fetchone()
        return None if raw is None else self._stmt.row(raw)

    def all(self) -> list[Any]:
        return [self._stmt.row(raw) for raw in self._cur.fetchall()]

    def scalar(self) -> Any:
        row = self.one()
        return None if row is None else row[0]

    def count(self) -> int:
        """The number of rows the statement changed."""
        self._db.sync()
        return int(self._cur.rowcount)


class Db:
    """One request's database connection: send statements, commit or roll back.

    On PostgreSQL the connection is in pipeline mode: ``send`` queues a statement and
    returns at once, and the first result read (or the commit) sends everything queued in
    one round trip, so a request that reads a session, a reservation and a lockout
    counter waits for the server once, not three times.  Each round trip cost ~0.3 ms of
    CPU on a small server (driver, kernel and backend), more than the statements
    themselves.  On SQLite (a local file) statements simply run as they are sent.
    """

    def __init__(self, conn: Any, integrity_error: type[Exception], pipeline: Any) -> None:
        self._conn = conn
        self._pipeline = pipeline
        self.IntegrityError = integrity_error  # the driver's own: not wrapped by SQLAlchemy

    def send(self, stmt: Prepared, **params: Any) -> Pending:
        cur = self._conn.cursor()
        cur.execute(stmt.sql, stmt.params(params))
        return Pending(self, stmt, cur)

    def sync(self) -> None:
        """Wait for everything sent so far (errors surface here)."""
        if self._pipeline is not None:
            self._pipeline.sync()

    def run(self, stmt: Prepared, **params: Any) -> int:
        """Execute now; the number of rows changed."""
        return self.send(stmt, **params).count()

    def one(self, stmt: Prepared, **params: Any) -> Any:
        return self.send(stmt, **params).one()

    def all(self, stmt: Prepared, **params: Any) -> list[Any]:
        return self.send(stmt, **params).all()

    def scalar(self, stmt: Prepared, **params: Any) -> Any:
        return self.send(stmt, **params).scalar()

    def commit(self) -> None:
        try:
            self._conn.commit()
        except Exception as exc:
            # The connection broke while the commit was on its way: whether it applied is
            # not known, so the request must not be run again (``commit_sent``).
            exc.commit_sent = True  # type: ignore[attr-defined]
            raise

    def rollback(self) -> None:
        self._conn.rollback()


def outcome_known(exc: BaseException) -> bool:
    """A broken connection's request changed nothing for sure: it broke before any commit
    was sent (a read, or a write the database rolled back with the connection).  Such a
    request may be run again on a new connection; one that broke during its commit may
    have committed, and is not."""
    return not getattr(exc, "commit_sent", False)


# The driver connection each thread is using for a request, so that a request stuck on a
# database that stopped answering can be cut off from outside (:func:`abort_thread`).
_IN_USE: dict[int, Any] = {}


def abort_thread(thread_id: int | None) -> bool:
    """Shut down the socket of the connection ``thread_id`` is waiting on: its blocked read
    fails at once with a connection error (and the connection is thrown away).  A database
    host that froze keeps its TCP connections open and its kernel keeps acknowledging, so
    without this a request would wait forever.  True if there was one to cut."""
    conn = _IN_USE.get(thread_id) if thread_id is not None else None
    if conn is None:
        return False
    try:
        fd = conn.pgconn.socket
        sock = socket.socket(fileno=os.dup(fd))
    except Exception:  # closed meanwhile, or not a socket-based driver: nothing to cut
        return False
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        return False
    finally:
        sock.close()  # the duplicate only; the driver still owns its descriptor
    return True


def broken_errors(engine: Engine) -> tuple[type[Exception], ...]:
    """The driver's errors that mean "the database cannot be reached" (answered 503)."""
    dbapi = engine.dialect.dbapi
    assert dbapi is not None
    return (dbapi.OperationalError, dbapi.InterfaceError)


def connector(engine: Engine) -> Callable[[], Any]:
    """A context manager factory: a pooled connection per request, rolled back if the
    request did not commit (an error leaves nothing half-written), then returned."""
    dbapi = engine.dialect.dbapi
    assert dbapi is not None
    integrity = dbapi.IntegrityError
    broken = broken_errors(engine)
    pipelined = engine.dialect.name == "postgresql"

    @contextmanager
    def connect() -> Iterator[Db]:
        conn = engine.raw_connection()
        mode = conn.driver_connection.pipeline() if pipelined else None  # type: ignore[union-attr]
        me = threading.get_ident()
        if pipelined:
            _IN_USE[me] = conn.driver_connection
        try:
            pipeline = mode.__enter__() if mode is not None else None
            try:
                yield Db(conn, integrity, pipeline)
            except BaseException:
                conn.rollback()
                raise
            finally:
                if mode is not None:
                    mode.__exit__(None, None, None)
        except broken:
            # The database went away (restart, network): this connection is never handed
            # out again, nor are the pooled ones opened before it; new ones are made.
            conn.invalidate()
            engine.dispose()
            raise
        finally:
            _IN_USE.pop(me, None)
            conn.close()  # back to the pool; the pool rolls back anything left open

    return connect
