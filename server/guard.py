"""The first thing a request meets: the certificate check and the body size cap.

FastAPI reads and parses a request's body before it runs any dependency, so a check of
the client certificate as a dependency came after a 200 MB body had been read into a
worker (~850 MB resident).  This ASGI middleware runs before all of that:

- a kiosk route without a client certificate is answered 401 ``no_certificate`` before
  a byte of the body is read, whatever the body (and the connection is closed, so the
  unread rest is not parsed as a next request);
- a body larger than its route's cap is refused with 413 ``too_large``: at once when
  ``Content-Length`` says so, else as soon as the streamed bytes pass the cap;
- the body (a few kilobytes at most) is then handed to the app in one piece.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from protocol.errors import ErrorCode

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

API = "/api/v1/"
PUBLIC = frozenset({"/api/v1/health", "/api/v1/issuer-key"})
# A kiosk without a certificate yet asks for one here (its request, then the answer).
PUBLIC_PREFIX = "/api/v1/enrolments"
KIB = 1024
# The largest body each route can legitimately carry, with room for JSON escaping.
CAPS: tuple[tuple[str, re.Pattern[str], int], ...] = (
    ("POST", re.compile(r"^/api/v1/heartbeat$"), 32 * KIB),  # 2 × 32 entries of ≤ 64 chars
    ("POST", re.compile(r"^/api/v1/sessions$"), 4 * KIB),
    ("POST", re.compile(r"^/api/v1/enrolments$"), 6 * KIB),  # a PEM request of <= 4096
    ("POST", re.compile(r"^/api/v1/reservations$"), 2 * KIB),
    # A diagnostics bundle: 64 checks and 50 log lines at most (protocol.api).
    ("POST", re.compile(r"^/api/v1/commands/[0-9]+$"), 64 * KIB),
    ("POST", re.compile(r"^/api/v1/reservations/[^/]+/(confirm|release)$"), 2 * KIB),
    # The office console's forms (the largest: an application's fields as JSON).
    ("POST", re.compile(r"^/console/"), 64 * KIB),
)
DEFAULT_CAP = 1 * KIB  # GET, DELETE and anything else: no body worth the name


def _enrolment(path: str) -> bool:
    return path == PUBLIC_PREFIX or path.startswith(PUBLIC_PREFIX + "/")


def cap_for(method: str, path: str) -> int:
    for m, pattern, cap in CAPS:
        if m == method and pattern.match(path):
            return cap
    return DEFAULT_CAP


class RequestGuard:
    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path.startswith(API) and path not in PUBLIC and not _enrolment(path):
            tls = scope.get("extensions", {}).get("tls") or {}
            if not tls.get("client_cert_der"):
                await _refuse(
                    send, 401, ErrorCode.NO_CERTIFICATE, "a kiosk client certificate is required"
                )
                return
        cap = cap_for(scope.get("method", "GET"), path)
        length = _content_length(scope)
        if length is not None and length > cap:
            await _refuse(send, 413, ErrorCode.TOO_LARGE, f"request body over {cap} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                await _refuse(send, 413, ErrorCode.TOO_LARGE, f"request body over {cap} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _content_length(scope: Scope) -> int | None:
    """The declared length; a malformed one counts as too large (it is refused)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() and len(value) <= 18 else 1 << 62
    return None


async def _refuse(send: Send, status: int, code: ErrorCode, message: str) -> None:
    body = json.dumps({"detail": {"code": code, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The body was not read: the connection ends with this answer.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
