"""Hostile connections: the certificate is checked before a body is read, bodies are
capped per route, slow and piled-up connections are cut.  Raw TLS sockets against the
real server, since an HTTP client library would not send half a request."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.tls import ConnectionLimits
from sim.embedded import EmbeddedServer
from tests.conftest import TEST_KIOSKS, kiosk_client, wait_for


def tls_context(srv: EmbeddedServer, kiosk: str | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(srv.home.ca_cert))
    if kiosk is not None:
        cred = srv.credentials(kiosk)
        ctx.load_cert_chain(str(cred.cert), str(cred.key))
    return ctx


@contextlib.contextmanager
def connection(srv: EmbeddedServer, kiosk: str | None = None) -> Iterator[ssl.SSLSocket]:
    raw = socket.create_connection((srv.host, srv.port), timeout=10)
    sock = tls_context(srv, kiosk).wrap_socket(raw, server_hostname=srv.host)
    try:
        yield sock
    finally:
        with contextlib.suppress(OSError):
            sock.close()


def answer(sock: ssl.SSLSocket, timeout: float = 5.0) -> tuple[int, bytes, bytes]:
    """(status, head, body) of the one answer on ``sock``; fails if none comes in time."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed without an answer: {data!r}"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split(b" ")[1]), head.lower(), body


def closed_within(sock: ssl.SSLSocket, seconds: float) -> bool:
    """True if the server closed ``sock`` within ``seconds`` (no answer expected)."""
    sock.settimeout(seconds)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except TimeoutError:
        return False
    except (ssl.SSLError, OSError):
        return True  # reset, or the TLS session torn down


def head(path: str, length: int | None, *, chunked: bool = False) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: adm", "Content-Type: application/json"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_without_a_certificate_the_answer_comes_before_the_body(server: EmbeddedServer) -> None:
    """A 200 MB body announced, 1 KB sent: the refusal does not wait for the rest, says
    only that a certificate is needed, and ends the connection."""
    for path in ("/api/v1/heartbeat", "/api/v1/sessions", "/api/v1/reservations"):
        with connection(server) as sock:
            sock.sendall(head(path, 200 * 1024 * 1024) + b"{" + b" " * 1023)
            status, header, body = answer(sock)
            assert status == 401
            assert b'"code": "no_certificate"' in body
            assert b"connection: close" in header
            assert b"heartbeat" not in body and b"field" not in body  # nothing about the API


def test_a_body_over_its_route_cap_is_refused_unread(server: EmbeddedServer) -> None:
    with connection(server, "kiosk-test") as sock:  # announced too large: refused at once
        sock.sendall(head("/api/v1/heartbeat", 64 * 1024 * 1024))
        status, header, body = answer(sock)
        assert (status, b'"code": "too_large"' in body) == (413, True)
        assert b"connection: close" in header
    with connection(server, "kiosk-test") as sock:  # streamed: refused once past the cap
        sock.sendall(head("/api/v1/sessions", None, chunked=True))
        chunk = b" " * 4096
        sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        status, _header, body = answer(sock)
        assert status == 413
    # A heartbeat at its bounds (32 devices and supplies of 64 characters) fits.
    client = kiosk_client(server)
    devices = {f"{i:02d}".ljust(64, "d"): "x" * 64 for i in range(32)}
    supplies = {f"{i:02d}".ljust(64, "s"): 100_000 for i in range(32)}
    assert "server_time" in client.heartbeat("idle", devices, supplies, "f" * 64)


@pytest.fixture
def strict_server(tmp_path: Path, server_home: Path) -> Iterator[EmbeddedServer]:
    """A server with short request deadlines and a small connection cap."""
    import shutil

    home = tmp_path / "home"
    shutil.copytree(server_home, home)
    srv = EmbeddedServer(
        f"sqlite:///{tmp_path / 'server.db'}",
        home,
        kiosks=TEST_KIOSKS,
        connection_limits=ConnectionLimits(head_timeout=0.5, body_timeout=1.0, max_connections=8),
    )
    srv.start()
    yield srv
    srv.stop()


def test_a_slow_request_is_cut_at_its_deadline(strict_server: EmbeddedServer) -> None:
    srv = strict_server
    with connection(srv, "kiosk-test") as silent:  # connects, sends nothing
        assert closed_within(silent, 5.0)
    with connection(srv, "kiosk-test") as slow_head:
        slow_head.sendall(b"POST /api/v1/heartbeat HTTP/1.1\r\nHost: a")
        assert closed_within(slow_head, 5.0)
    with connection(srv, "kiosk-test") as slow_body:
        slow_body.sendall(head("/api/v1/heartbeat", 100) + b'{"state":')
        assert closed_within(slow_body, 5.0)
    # A request that arrives in time is answered (the deadline is for arriving).
    assert kiosk_client(srv).heartbeat("idle", {}, {})["server_time"]


def test_connections_beyond_the_cap_are_closed_and_service_returns(
    strict_server: EmbeddedServer,
) -> None:
    srv = strict_server
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(connection(srv, "kiosk-test")) for _ in range(20)]
        for s in socks:
            s.sendall(b"POST /api/v1/heartbeat HTTP/1.1\r\n")  # half a head each
        # Beyond the cap of 8 they are closed at once, the rest at their deadline.
        early = sum(closed_within(s, 0.3) for s in socks)
        assert early >= 12
        assert all(closed_within(s, 5.0) for s in socks)
    assert kiosk_client(srv).heartbeat("idle", {}, {})["server_time"]


def test_a_dying_worker_is_logged_and_replaced(server_home: Path, tmp_path: Path) -> None:
    """``serve --workers 2``: a worker killed outright is an ERROR line in the log, a new
    worker takes its place, and the API keeps answering."""
    import shutil

    home = tmp_path / "home"
    shutil.copytree(server_home, home)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "serve.log"
    cmd = [
        sys.executable,
        "-m",
        "server.cli",
        "--home",
        str(home),
        "--db",
        f"sqlite:///{tmp_path / 'server.db'}",
        "serve",
        "--port",
        str(port),
        "--workers",
        "2",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:

        def children() -> list[int]:
            """The worker processes (not multiprocessing's resource tracker)."""
            path = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
            pids = [int(p) for p in path.read_text().split()] if path.exists() else []
            workers = []
            for pid in pids:
                with contextlib.suppress(OSError):
                    if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                        workers.append(pid)
            return workers

        def healthy() -> bool:
            ctx = ssl.create_default_context(cafile=str(home / "ca.pem"))
            with (
                contextlib.suppress(OSError, AssertionError),
                socket.create_connection(("127.0.0.1", port), timeout=2) as raw,
                ctx.wrap_socket(raw, server_hostname="localhost") as sock,
            ):
                sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: a\r\n\r\n")
                return answer(sock)[0] == 200
            return False

        wait_for(lambda: len(children()) >= 2 and healthy(), "two workers serving", 60)
        victim = children()[0]
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: b"died" in log.read_bytes(), "the death logged", 30)
        line = next(x for x in log.read_bytes().splitlines() if b"died" in x)
        assert b"ERROR" in line and str(victim).encode() in line
        wait_for(lambda: victim not in children() and len(children()) >= 2, "a new worker", 30)
        wait_for(healthy, "serving again", 30)
        assert b"Started server process" not in log.read_bytes()  # INFO chatter stays out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
