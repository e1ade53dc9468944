"""Server nodes behind HAProxy: the central server scaled out, for tests and benchmarks.

Each node is a real ``adm-server serve`` process (its own workers) on one database; the
balancer is Debian's HAProxy in TCP mode, so TLS and the client certificate still end at
the node (mTLS is not cut at the balancer).  HAProxy checks each node's port every
200 ms, takes a node out after two failed checks, and sends a connection whose node
refuses it to another (``redispatch``): a kiosk's retried call lands on a live node.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from server.pki import ServerHome


class ClusterUnavailable(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def healthy(port: int, ca: Path, timeout: float = 2.0) -> bool:
    """The node (or the balancer) at ``port`` answers /api/v1/health with 200."""
    ctx = ssl.create_default_context(cafile=str(ca))
    with (
        contextlib.suppress(OSError),
        socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as sock,
    ):
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: adm\r\nConnection: close\r\n\r\n")
        return sock.recv(64).startswith(b"HTTP/1.1 200")
    return False


@dataclass
class Node:
    port: int
    process: subprocess.Popen[bytes]
    log: Path


class ServerCluster:
    """``nodes`` server processes of ``workers`` each on ``database_url``, behind HAProxy
    at ``url``.  The database must be migrated and prepared already."""

    def __init__(
        self,
        home: ServerHome,
        database_url: str,
        *,
        nodes: int = 2,
        workers: int = 1,
        extra: tuple[str, ...] = (),
    ) -> None:
        if shutil.which("haproxy") is None:
            raise ClusterUnavailable("HAProxy is not installed (Debian package haproxy)")
        self.home = home
        self.database_url = database_url
        self.count, self.workers, self.extra = nodes, workers, extra
        self.dir = Path(tempfile.mkdtemp(prefix="adm-cluster-"))
        self.port = free_port()
        self.nodes: list[Node] = []
        self._balancer: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"

    @property
    def stats_socket(self) -> Path:
        return self.dir / "haproxy.sock"

    def start(self, timeout: float = 60.0) -> None:
        for i in range(self.count):
            self.nodes.append(self._start_node(i))
        self._write_config()
        self._balancer = subprocess.Popen(
            ["haproxy", "-db", "-f", str(self.dir / "haproxy.cfg")],
            stdout=(self.dir / "haproxy.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while not (
            all(healthy(n.port, self.home.ca_cert) for n in self.nodes)
            and healthy(self.port, self.home.ca_cert)
        ):
            for n in self.nodes:
                if n.process.poll() is not None:
                    raise ClusterUnavailable(f"node failed: {n.log.read_text()[-600:]}")
            if self._balancer.poll() is not None:
                log = (self.dir / "haproxy.log").read_text()
                raise ClusterUnavailable(f"haproxy failed: {log[-600:]}")
            if time.monotonic() > deadline:
                raise ClusterUnavailable("the cluster did not come up")
            time.sleep(0.1)

    def _start_node(self, i: int) -> Node:
        port = free_port()
        log = self.dir / f"node{i}.log"
        cmd = [
            sys.executable,
            "-m",
            "server.cli",
            "--home",
            str(self.home.path),
            "--db",
            self.database_url,
            "serve",
            "--port",
            str(port),
            "--workers",
            str(self.workers),
            *self.extra,
        ]
        with log.open("wb") as out:
            process = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        return Node(port, process, log)

    def _write_config(self) -> None:
        servers = "\n".join(
            f"    server node{i} 127.0.0.1:{n.port} check inter 200ms fall 2 rise 2"
            for i, n in enumerate(self.nodes)
        )
        (self.dir / "haproxy.cfg").write_text(
            f"""global
    maxconn 4000
    stats socket {self.stats_socket} mode 600 level admin

defaults
    mode tcp
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    retries 2
    option redispatch

frontend kiosks
    bind 127.0.0.1:{self.port}
    default_backend nodes

backend nodes
    balance roundrobin
{servers}
"""
        )

    def sessions_per_node(self) -> dict[str, int]:
        """Connections HAProxy has sent to each node so far (its ``stot`` counter)."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.stats_socket))
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        lines = data.decode().splitlines()
        fields = lines[0].lstrip("# ").split(",")
        out = {}
        for line in lines[1:]:
            row = dict(zip(fields, line.split(","), strict=False))
            if row.get("pxname") == "nodes" and row.get("svname", "").startswith("node"):
                out[row["svname"]] = int(row.get("stot") or 0)
        return out

    def kill(self, i: int) -> None:
        """Node ``i`` dies at once, with all its workers (SIGKILL to its process group)."""
        node = self.nodes[i]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(node.process.pid, signal.SIGKILL)
        node.process.wait(timeout=10)

    def stop(self) -> None:
        if self._balancer is not None:
            self._balancer.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._balancer.wait(timeout=5)
            if self._balancer.poll() is None:
                self._balancer.kill()
                self._balancer.wait()
        for node in self.nodes:
            if node.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(node.process.pid, signal.SIGTERM)
                try:
                    node.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(node.process.pid, signal.SIGKILL)
                    node.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
