"""A throwaway PostgreSQL cluster for tests and benchmarks (Debian's postgresql package).

``initdb`` refuses to run as root, so as root the cluster belongs to the ``postgres``
user.  It listens on a Unix socket in its own folder and on a loopback port, never on the
system's default port, so it does not clash with a packaged cluster.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    pass


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise PostgresUnavailable("PostgreSQL is not installed (Debian package postgresql)")
    return Path(found[-1]).parent


class PgCluster:
    def __init__(self, port: int = 16640, *, durable: bool = False) -> None:
        self.port = port
        self.durable = durable
        self.dir = Path(tempfile.mkdtemp(prefix="adm-pg-"))
        self.data = self.dir / "data"
        self._bin = _bindir()
        self._user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *cmd: str) -> None:
        full = [str(self._bin / cmd[0]), *cmd[1:]]
        if self._user:
            full = ["runuser", "-u", self._user, "--", *full]
        proc = subprocess.run(full, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise PostgresUnavailable(f"{cmd[0]} failed: {proc.stderr.strip()[-400:]}")

    def start(self) -> None:
        if self._user:
            shutil.chown(self.dir, self._user, self._user)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "adm", "--no-sync")
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=300"
        if not self.durable:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start"
        )

    def restart(self) -> None:
        """Stop (fast: open connections are cut) and start again, data kept."""
        log = str(self.dir / "log")  # the new postmaster must not hold our output pipe
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-m", "fast", "-w", "restart")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://adm@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=adm dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
