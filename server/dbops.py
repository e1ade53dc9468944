"""The database as an operator sees it: which node is primary, how far the standby lags,
whether WAL archiving works and how old the last backup is; backups and point-in-time
restores through pgBackRest.

Replication and failover are pg_auto_failover's (its monitor promotes the synchronous
standby and fences the old primary); backups are pgBackRest's (``archive_command`` pushes
every WAL segment to its repository, ``backup`` takes full/differential/incremental base
backups, ``restore --type=time`` replays to any moment).  Nothing here replicates or
archives by itself: it asks those tools and the nodes, and says what they say.

``server.toml``::

    [backup]
    stanza = "adm"                          # pgBackRest's name for this cluster
    config = "/etc/pgbackrest/pgbackrest.conf"
    user = "postgres"                       # who runs pgbackrest (root runs it as this user)
    max_age_hours = 26                      # older than this: a console alert
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine, make_url

PGBACKREST = "pgbackrest"


class DbOpsError(RuntimeError):
    """The database or the backup tool could not do what was asked; the message says why."""


@dataclass(frozen=True)
class BackupConfig:
    stanza: str = ""  # empty: no backups configured
    config: str = ""
    user: str = ""
    max_age_hours: float = 26.0

    @classmethod
    def load(cls, path: Path) -> BackupConfig:
        if not path.is_file():
            return cls()
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8")).get("backup", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise DbOpsError(f"{path}: {exc}") from None
        unknown = set(data) - {"stanza", "config", "user", "max_age_hours"}
        if unknown:
            raise DbOpsError(f"{path}: [backup] has no setting {sorted(unknown)[0]!r}")
        age = data.get("max_age_hours", 26.0)
        if isinstance(age, bool) or not isinstance(age, int | float) or age <= 0:
            raise DbOpsError(f"{path}: [backup] max_age_hours must be a positive number")
        for key in ("stanza", "config", "user"):
            if not isinstance(data.get(key, ""), str):
                raise DbOpsError(f"{path}: [backup] {key} must be text")
        return cls(
            str(data.get("stanza", "")),
            str(data.get("config", "")),
            str(data.get("user", "")),
            float(age),
        )

    def command(self, *args: str) -> list[str]:
        cmd = [PGBACKREST, f"--stanza={self.stanza}"]
        if self.config:
            cmd.append(f"--config={self.config}")
        cmd += list(args)
        if self.user and os.geteuid() == 0:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return cmd

    def run(self, *args: str, timeout: float = 3600) -> str:
        if not self.stanza:
            raise DbOpsError("no backups configured: set [backup] stanza in server.toml")
        if shutil.which(PGBACKREST) is None:
            raise DbOpsError("pgbackrest is not installed (Debian package pgbackrest)")
        proc = subprocess.run(self.command(*args), capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            said = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
            raise DbOpsError(f"pgbackrest {args[0]}: {said[-1] if said else proc.returncode}")
        return proc.stdout


@dataclass
class Node:
    host: str
    port: int
    role: str  # primary | standby | unreachable
    detail: str = ""


@dataclass
class Health:
    """What the console, ``/metrics`` and ``db status`` say of the database."""

    dialect: str
    nodes: list[Node] = field(default_factory=list)
    # On the primary: each standby's (name, sync_state, lag in bytes, replay lag in s).
    standbys: list[tuple[str, str, int, float | None]] = field(default_factory=list)
    archived: int = 0
    archive_failed: int = 0
    last_archived: dt.datetime | None = None
    last_failed: dt.datetime | None = None
    last_backup: dt.datetime | None = None
    backup_error: str = ""

    @property
    def primary(self) -> Node | None:
        return next((n for n in self.nodes if n.role == "primary"), None)

    def backup_age(self, now: dt.datetime) -> float | None:
        return (now - self.last_backup).total_seconds() if self.last_backup else None

    def archive_failing(self) -> bool:
        """The newest archiving attempt failed (a failure followed by a success is over)."""
        if not self.last_failed:
            return False
        return self.last_archived is None or self.last_failed > self.last_archived


def hosts_of(url: str) -> list[tuple[str, int]]:
    """The (host, port) pairs of a PostgreSQL URL: ``@host:port/`` or ``?host=h:p&host=...``."""
    parsed = make_url(url)
    found: list[tuple[str, int]] = []
    if parsed.host:
        found.append((parsed.host, parsed.port or 5432))
    extra = parsed.query.get("host")
    for item in [extra] if isinstance(extra, str) else list(extra or ()):
        host, _, port = item.rpartition(":") if ":" in item else (item, "", "")
        found.append((host or item, int(port) if port.isdigit() else 5432))
    return found


def _conninfo(url: str, host: str, port: int) -> str:
    parsed = make_url(url)
    parts = [f"host={host}", f"port={port}", "connect_timeout=2"]
    if parsed.username:
        parts.append(f"user={parsed.username}")
    if parsed.password:
        parts.append(f"password={parsed.password}")
    if parsed.database:
        parts.append(f"dbname={parsed.database}")
    return " ".join(parts)


def health(url: str, backup: BackupConfig) -> Health:
    """Ask every node of ``url`` what it is, the primary about its standbys and archiving,
    and pgBackRest about the last backup."""
    if not url.startswith("postgresql"):
        return Health(dialect="sqlite")
    import psycopg

    found = Health(dialect="postgresql")
    for host, port in hosts_of(url):
        try:
            with psycopg.connect(_conninfo(url, host, port), autocommit=True) as conn:
                standby = conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]  # type: ignore[index]
                if standby:
                    lag = conn.execute(
                        "SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())"
                    ).fetchone()[0]  # type: ignore[index]
                    detail = f"replaying, last transaction {float(lag or 0):.1f} s ago"
                    found.nodes.append(Node(host, port, "standby", detail))
                    continue
                found.nodes.append(Node(host, port, "primary"))
                for name, sync, lag_bytes, replay in conn.execute(
                    "SELECT application_name, sync_state, "
                    "coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint, "
                    "extract(epoch FROM replay_lag) FROM pg_stat_replication"
                ).fetchall():
                    found.standbys.append(
                        (name, sync, int(lag_bytes), float(replay) if replay is not None else None)
                    )
                row = conn.execute(
                    "SELECT archived_count, failed_count, last_archived_time, last_failed_time "
                    "FROM pg_stat_archiver"
                ).fetchone()
                assert row is not None
                found.archived, found.archive_failed = int(row[0]), int(row[1])
                found.last_archived = _naive(row[2])
                found.last_failed = _naive(row[3])
        except psycopg.Error as exc:
            found.nodes.append(Node(host, port, "unreachable", str(exc).splitlines()[0][:120]))
    if backup.stanza:
        try:
            found.last_backup = last_backup(backup)
        except (DbOpsError, subprocess.TimeoutExpired) as exc:
            found.backup_error = str(exc)[:200]
    return found


def _naive(moment: dt.datetime | None) -> dt.datetime | None:
    """UTC without a zone, as the register keeps its times."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment


def last_backup(backup: BackupConfig) -> dt.datetime | None:
    """When the newest backup of the stanza finished (None: there is none)."""
    info = json.loads(backup.run("info", "--output=json", timeout=60) or "[]")
    stops = [
        b["timestamp"]["stop"]
        for stanza in info
        for b in stanza.get("backup", [])
        if b.get("timestamp")
    ]
    if not stops:
        return None
    return dt.datetime.fromtimestamp(max(stops), dt.UTC).replace(tzinfo=None)


class HealthCache:
    """:func:`health` at most every ``seconds`` per process (the console and ``/metrics``
    ask at every page and scrape; pgBackRest's ``info`` takes a while)."""

    def __init__(self, url: str, backup: BackupConfig, seconds: float = 30.0) -> None:
        self.url, self.backup, self.seconds = url, backup, seconds
        self._value: Health | None = None
        self._at = 0.0
        self._lock = threading.Lock()

    def get(self) -> Health:
        with self._lock:
            if self._value is None or time.monotonic() - self._at > self.seconds:
                self._value = health(self.url, self.backup)
                self._at = time.monotonic()
            return self._value


def engine_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def describe(h: Health, now: dt.datetime) -> list[str]:
    """``db status``'s lines."""
    if h.dialect == "sqlite":
        return ["database: SQLite (one file, this host; backups: copy with 'db backup')"]
    lines = ["database: PostgreSQL"]
    for node in h.nodes:
        lines.append(f"  {node.role:11s} {node.host}:{node.port} {node.detail}".rstrip())
    for name, sync, lag, replay in h.standbys:
        seconds = f", replay lag {replay:.3f} s" if replay is not None else ""
        lines.append(f"  standby {name}: {sync}, {lag} bytes behind{seconds}")
    if h.primary is None:
        lines.append("  no node takes writes: failover in progress, or the cluster is down")
    lines.append(
        f"archiving: {h.archived} segments, {h.archive_failed} failures"
        + (" (FAILING NOW)" if h.archive_failing() else "")
    )
    age = h.backup_age(now)
    if h.backup_error:
        lines.append(f"last backup: unknown ({h.backup_error})")
    elif age is None:
        lines.append("last backup: none")
    else:
        lines.append(f"last backup: {h.last_backup:%Y-%m-%d %H:%M:%S} UTC ({age / 3600:.1f} h ago)")
    return lines


def sqlite_backup(url: str, dest: Path) -> Path:
    """A consistent copy of a live SQLite database (SQLite's online backup)."""
    import sqlite3

    source = make_url(url).database
    if not source:
        raise DbOpsError(f"{url}: not a SQLite file")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_suffix(".part")
    with sqlite3.connect(source) as src, sqlite3.connect(part) as out:
        src.backup(out)
    os.replace(part, dest)
    return dest


def restore(backup: BackupConfig, to: str, pgdata: Path) -> str:
    """Restore the stanza into the empty folder ``pgdata`` as of the moment ``to`` (a
    timestamp PostgreSQL reads, e.g. ``2026-12-06 10:15:00+00``); the restored cluster
    promotes itself when it reaches it.  The caller starts it and checks it, then points
    the cluster at it: a restore never touches a running node."""
    if pgdata.exists() and any(pgdata.iterdir()):
        raise DbOpsError(f"{pgdata} is not empty: restore into a new folder")
    pgdata.mkdir(parents=True, exist_ok=True)
    if backup.user and os.geteuid() == 0:
        shutil.chown(pgdata, backup.user, backup.user)
        pgdata.chmod(0o700)
    return backup.run(
        "restore",
        f"--pg1-path={pgdata}",
        "--type=time",
        f"--target={to}",
        "--target-action=promote",
        "--archive-mode=off",  # the copy must not push WAL into the live cluster's archive
    )


def alerts(h: Health, backup: BackupConfig, at: dt.datetime) -> list[tuple[str, dict[str, Any]]]:
    """What the office must act on: (console text key, its values)."""
    if h.dialect != "postgresql":
        return []
    found: list[tuple[str, dict[str, Any]]] = []
    if h.primary is None:
        found.append(("db_no_primary", {}))
    elif len(h.nodes) > 1 and not h.standbys:
        found.append(("db_no_standby", {}))
    if h.archive_failing():
        found.append(("db_archive_failing", {"since": f"{h.last_failed:%Y-%m-%d %H:%M}"}))
    if backup.stanza:
        age = h.backup_age(at)
        if h.backup_error:
            found.append(("db_backup_unknown", {"why": h.backup_error}))
        elif age is None:
            found.append(("db_backup_none", {}))
        elif age > backup.max_age_hours * 3600:
            found.append(
                (
                    "db_backup_old",
                    {"hours": f"{age / 3600:.0f}", "limit": f"{backup.max_age_hours:g}"},
                )
            )
    return found


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
