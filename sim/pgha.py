"""A replicated PostgreSQL for tests and benchmarks: pg_auto_failover (Debian's
``postgresql-15-auto-failover``) with its monitor and two data nodes on one machine, each
in its own folder on its own loopback port, as three hosts would run it.

The monitor watches both nodes; the primary replicates synchronously to the secondary
(pg_auto_failover's ``synchronous_standby_names`` while the secondary is healthy), so a
write is acknowledged only once it is on both.  When the primary stops answering the
monitor promotes the secondary; a node that comes back is told by the monitor to rejoin
as a standby (``pg_rewind``) and its keeper does so without a person.

The health checks are tightened from the defaults (20 s to call a node unhealthy) to
what a regency's kiosks can wait: see :data:`MONITOR_SETTINGS`.

As root every process runs as ``postgres`` (``initdb`` refuses root).  The keepers
(``pg_autoctl run``) are this process's children, each in its own process group, so a
test can kill or freeze a whole "host" (keeper and postmaster) at once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.dbops import BackupConfig, restore
from sim.postgres import PostgresUnavailable, _bindir

PG_AUTOCTL = "/usr/bin/pg_autoctl"
DATABASE = "adm"
STANZA = "adm"
USER = "adm"
# The monitor's health checks (pgautofailover GUCs), tightened: a node is unhealthy after
# 4 s without an answer, checked every second with a 1 s timeout and one retry.  A primary
# that cannot be told to step down is given primary_demote_timeout before its standby is
# promoted: longer than the keepers' network_partition_timeout, after which a primary cut
# off from both the monitor and its standby demotes itself (so there is never a moment
# with two primaries taking writes).
MONITOR_SETTINGS = {
    "pgautofailover.health_check_period": "1000",
    "pgautofailover.health_check_timeout": "1000",
    "pgautofailover.health_check_max_retries": "1",
    "pgautofailover.health_check_retry_delay": "500",
    "pgautofailover.node_considered_unhealthy_timeout": "4000",
    "pgautofailover.primary_demote_timeout": "5000",
}
# The keepers' own timeouts (pg_autoctl config), matched to the monitor's.
KEEPER_SETTINGS = {
    "timeout.network_partition_timeout": "3",
    "timeout.postgresql_restart_failure_timeout": "5",
    "timeout.postgresql_restart_failure_max_retries": "2",
}


class ClusterError(RuntimeError):
    pass


@dataclass
class Node:
    name: str
    port: int
    data: Path
    keeper: subprocess.Popen | None = None


class HaCluster:
    """Monitor on ``base_port``, data nodes on the next two ports."""

    def __init__(self, base_port: int = 16680, *, archive: bool = False) -> None:
        self.archive = archive
        self.dir = Path(tempfile.mkdtemp(prefix="adm-pgha-"))
        self.bin = _bindir()
        self.monitor = Node("monitor", base_port, self.dir / "monitor")
        self.nodes = [Node(f"node{i}", base_port + i, self.dir / f"node{i}") for i in (1, 2)]
        self._user = "postgres" if os.geteuid() == 0 else None
        self.env = {
            **os.environ,
            "PATH": f"{self.bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "PG_CONFIG": str(self.bin / "pg_config"),
            "XDG_CONFIG_HOME": str(self.dir / "config"),
            "XDG_DATA_HOME": str(self.dir / "share"),
            "XDG_RUNTIME_DIR": str(self.dir / "run"),
            "PGHOST": "127.0.0.1",
        }

    # ------------------------------------------------------------------ commands

    def _cmd(self, *args: str) -> list[str]:
        full = [PG_AUTOCTL, *args]
        if self._user:
            full = ["runuser", "-u", self._user, "--", "env", *self._env_args(), *full]
        return full

    def _env_args(self) -> list[str]:
        keys = ("PATH", "PG_CONFIG", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR")
        return [f"{k}={self.env[k]}" for k in keys]

    def run(self, *args: str, timeout: float = 120) -> str:
        proc = subprocess.run(
            self._cmd(*args), capture_output=True, text=True, timeout=timeout, env=self.env
        )
        if proc.returncode != 0:
            raise ClusterError(f"pg_autoctl {' '.join(args[:3])}: {proc.stderr.strip()[-600:]}")
        return proc.stdout

    def _keeper(self, node: Node) -> subprocess.Popen:
        log = open(self.dir / f"{node.name}.log", "ab")  # noqa: SIM115 (the child's)
        return subprocess.Popen(
            self._cmd("run", "--pgdata", str(node.data)),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,  # its own process group: a "host" to kill or freeze
        )

    # ------------------------------------------------------------------ life

    def start(self, timeout: float = 180) -> None:
        if shutil.which(PG_AUTOCTL) is None:
            raise PostgresUnavailable(
                "pg_auto_failover is not installed (Debian packages postgresql-15-auto-failover "
                "and pg-auto-failover-cli)"
            )
        for sub in ("config", "share", "run"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        if self._user:
            subprocess.run(["chown", "-R", f"{self._user}:{self._user}", str(self.dir)], check=True)
        m = self.monitor
        self.run(
            "create",
            "monitor",
            "--pgdata",
            str(m.data),
            "--pgport",
            str(m.port),
            "--hostname",
            "127.0.0.1",
            "--auth",
            "trust",
            "--no-ssl",
        )
        conf = m.data / "postgresql.conf"
        with self._as_owner_append(conf) as f:
            for key, value in MONITOR_SETTINGS.items():
                f.write(f"{key} = {value}\n")
            f.write("listen_addresses = '127.0.0.1'\n")
        m.keeper = self._keeper(m)
        self.wait_until(lambda: self._monitor_ready(), "the monitor", timeout)
        for i, node in enumerate(self.nodes):
            self.run(
                "create",
                "postgres",
                "--pgdata",
                str(node.data),
                "--pgport",
                str(node.port),
                "--hostname",
                "127.0.0.1",
                "--name",
                node.name,
                "--auth",
                "trust",
                "--no-ssl",
                "--dbname",
                DATABASE,
                "--username",
                USER,
                "--monitor",
                self.monitor_uri,
                "--pg-hba-lan",
                timeout=timeout,
            )
            for key, value in KEEPER_SETTINGS.items():
                self.run("config", "set", "--pgdata", str(node.data), key, value)
            if self.archive and i == 0:
                self._archive_settings(node)  # the standby's copy of the primary has them
            node.keeper = self._keeper(node)
            want = "single" if i == 0 else "secondary"
            self.wait_until(
                lambda n=node, w=want: self.state_of(n.name) == w, f"{node.name} {want}", timeout
            )
        self.wait_until(
            lambda: self.states() == {"node1": "primary", "node2": "secondary"}, "the pair", timeout
        )
        if self.archive:
            self.backrest("stanza-create")
            self.backrest("check")

    # ------------------------------------------------------------------ backups

    @property
    def backrest_conf(self) -> Path:
        return self.dir / "pgbackrest.conf"

    def _archive_settings(self, node: Node) -> None:
        """WAL archiving to a pgBackRest repository in the cluster's folder, on every node
        (a promoted standby keeps archiving).  Postgres is restarted to take it."""
        d = self.dir
        self.backrest_conf.write_text(
            "[global]\n"
            f"repo1-path={d / 'repo'}\nlog-path={d / 'pgbr-log'}\nlock-path={d / 'pgbr-lock'}\n"
            "start-fast=y\nrepo1-retention-full=2\nlog-level-console=warn\n"
            "compress-type=lz4\n"  # gzip's default level made archiving lag bulk writes
            f"\n[{STANZA}]\n"
            + "".join(
                f"pg{i}-path={n.data}\npg{i}-port={n.port}\npg{i}-socket-path={d / 'run'}\n"
                for i, n in enumerate(self.nodes, 1)
            )
        )
        for sub in ("repo", "pgbr-log", "pgbr-lock"):
            (d / sub).mkdir(exist_ok=True)
        if self._user:
            subprocess.run(["chown", "-R", f"{self._user}:{self._user}", str(d)], check=True)
        with open(node.data / "postgresql.conf", "a", encoding="utf-8") as f:
            f.write(
                "archive_mode = on\n"
                f"archive_command = 'pgbackrest --config={self.backrest_conf} "
                f"--stanza={STANZA} archive-push %p'\n"
                f"unix_socket_directories = '{d / 'run'}'\n"
            )
        # Stopped if running; its keeper starts it with these settings.
        subprocess.run(
            self._pg("pg_ctl", "-D", str(node.data), "-m", "fast", "-w", "stop"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )

    def backup_config(self) -> BackupConfig:
        """What ``server.toml``'s ``[backup]`` says for this cluster."""
        return BackupConfig(STANZA, str(self.backrest_conf), self._user or "")

    def restore_to(self, moment: str, target: Path) -> None:
        """``adm-server db restore``'s work: the cluster as of ``moment`` in ``target``."""
        restore(self.backup_config(), moment, target)

    def query_restored(self, target: Path, sql: str, timeout: float = 120) -> list[Any]:
        """Start the restored copy on a port of its own (no archiving, no replication),
        wait for its recovery to end at the target, run ``sql``, stop it."""
        import psycopg

        port = self.monitor.port + 9
        opts = (
            f"-p {port} -k {target} -c listen_addresses=127.0.0.1 -c archive_mode=off "
            "-c synchronous_standby_names='' -c hot_standby=on"
        )
        log = str(self.dir / "restored.log")
        subprocess.run(
            self._pg(
                "pg_ctl", "-D", str(target), "-o", opts, "-l", log, "-w", "-t", "120", "start"
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
            check=True,
        )
        try:
            conninfo = f"host=127.0.0.1 port={port} user={USER} dbname={DATABASE}"

            def promoted() -> bool:
                try:
                    with psycopg.connect(conninfo, connect_timeout=2) as conn:
                        row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                        return row is not None and not row[0]
                except psycopg.Error:
                    return False

            self.wait_until(promoted, "the restored copy to reach its target", timeout)
            with psycopg.connect(conninfo) as conn:
                return [r[0] for r in conn.execute(sql).fetchall()]
        finally:
            subprocess.run(
                self._pg("pg_ctl", "-D", str(target), "-m", "fast", "-w", "stop"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=60,
            )

    def backrest(self, *args: str, timeout: float = 600) -> str:
        cmd = ["pgbackrest", f"--config={self.backrest_conf}", f"--stanza={STANZA}", *args]
        if self._user:
            cmd = ["runuser", "-u", self._user, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise ClusterError(
                f"pgbackrest {args[0]}: {(proc.stderr or proc.stdout).strip()[-500:]}"
            )
        return proc.stdout

    @property
    def monitor_uri(self) -> str:
        return f"postgres://autoctl_node@127.0.0.1:{self.monitor.port}/pg_auto_failover?sslmode=disable"

    def _as_owner_append(self, path: Path):  # type: ignore[no-untyped-def]
        return open(path, "a", encoding="utf-8")

    def _monitor_ready(self) -> bool:
        try:
            import psycopg

            with psycopg.connect(
                f"host=127.0.0.1 port={self.monitor.port} user=autoctl_node "
                "dbname=pg_auto_failover",
                connect_timeout=2,
            ):
                return True
        except Exception:
            return False

    def stop(self) -> None:
        for node in (*self.nodes, self.monitor):
            if node.keeper is not None and node.keeper.poll() is None:
                with _suppress():
                    os.killpg(node.keeper.pid, signal.SIGCONT)
                with _suppress():
                    os.killpg(node.keeper.pid, signal.SIGTERM)
                try:
                    node.keeper.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    with _suppress():
                        os.killpg(node.keeper.pid, signal.SIGKILL)
                    node.keeper.wait()
            # whatever postgres is left (a keeper killed before it stopped its own)
            subprocess.run(
                self._pg("pg_ctl", "-D", str(node.data), "-m", "immediate", "-w", "stop"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=60,
            )
        shutil.rmtree(self.dir, ignore_errors=True)

    def _pg(self, *cmd: str) -> list[str]:
        full = [str(self.bin / cmd[0]), *cmd[1:]]
        return ["runuser", "-u", self._user, "--", *full] if self._user else full

    # ------------------------------------------------------------------ state

    def states(self) -> dict[str, str]:
        """Each data node's current state as the monitor has it (primary, secondary,
        wait_primary, demoted, catchingup, ...)."""
        try:
            out = self.run("show", "state", "--monitor", self.monitor_uri, "--json", timeout=20)
            rows = json.loads(out)
        except (ClusterError, ValueError, subprocess.TimeoutExpired):
            return {}
        return {r["nodename"]: r["current_group_state"] for r in rows}

    def state_of(self, name: str) -> str:
        return self.states().get(name, "")

    def primary(self) -> Node | None:
        states = self.states()
        for node in self.nodes:
            if states.get(node.name) in ("primary", "wait_primary", "single"):
                return node
        return None

    def url(self) -> str:
        """The server's URL: both nodes, and libpq picks the one that takes writes."""
        hosts = "&".join(f"host=127.0.0.1:{n.port}" for n in self.nodes)
        return (
            f"postgresql+psycopg://{USER}@/{DATABASE}?{hosts}"
            "&target_session_attrs=read-write&connect_timeout=2"
        )

    def create_database(self, name: str) -> str:
        """A new database on the primary (replicated like everything), and its URL."""
        import psycopg

        hosts = ",".join("127.0.0.1" for _ in self.nodes)
        ports = ",".join(str(n.port) for n in self.nodes)
        conninfo = (
            f"host={hosts} port={ports} user={USER} dbname={DATABASE} "
            "target_session_attrs=read-write"
        )
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url().replace(f"/{DATABASE}?", f"/{name}?")

    def node_url(self, node: Node) -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{node.port}/{DATABASE}"

    def freeze(self, node: Node) -> None:
        """The host is lost: keeper and postgres stop where they are, nothing closed."""
        assert node.keeper is not None
        os.killpg(node.keeper.pid, signal.SIGSTOP)
        for pid in self._postgres_pids(node):
            os.kill(pid, signal.SIGSTOP)

    def thaw(self, node: Node) -> None:
        assert node.keeper is not None
        for pid in self._postgres_pids(node):
            os.kill(pid, signal.SIGCONT)
        os.killpg(node.keeper.pid, signal.SIGCONT)

    def kill_postmaster(self, node: Node) -> int:
        pid = self.postmaster_pid(node)
        os.kill(pid, signal.SIGKILL)
        return pid

    def postmaster_pid(self, node: Node) -> int:
        return int((node.data / "postmaster.pid").read_text().split()[0])

    def _postgres_pids(self, node: Node) -> list[int]:
        try:
            master = self.postmaster_pid(node)
        except (OSError, ValueError, IndexError):
            return []
        out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
        return [master, *(int(p) for p in out.split())]

    @staticmethod
    def wait_until(cond, what: str, timeout: float = 60) -> float:  # type: ignore[no-untyped-def]
        """Seconds it took ``cond`` to hold; ClusterError at the deadline."""
        start = time.monotonic()
        while not cond():
            if time.monotonic() - start > timeout:
                raise ClusterError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(0.2)
        return time.monotonic() - start


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], (ProcessLookupError, PermissionError))  # type: ignore[arg-type]
