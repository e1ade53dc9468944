"""Serve the API over TLS with optional client certificates, hand the verified client
certificate to the app, and keep slow or piled-up connections from holding a worker.

uvicorn does not put the peer certificate into the ASGI scope, so this protocol class
reads it from the TLS transport once per connection and adds it as
``scope["extensions"]["tls"]["client_cert_der"]``.  The TLS layer verifies the chain
against the deployment CA (``CERT_OPTIONAL``: the public ``/verify`` needs no
certificate); the app decides which routes require one and which kiosk it belongs to.

uvicorn also has no deadline for a request to arrive: a client that sends half a request
head keeps its socket (and a little memory) forever, and thousands of them exhaust the
worker (measured: 2,000 half-sent requests still open after 90 s).  Here a request head
must be complete within ``head_timeout`` of the connection or of the request's first
byte, and its body within ``body_timeout`` of the head; a worker keeps at most
``max_connections`` connections and closes any beyond at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import time
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from server.pki import ServerHome

log = logging.getLogger("adm.server")


ENV = ("ADM_SERVER_HEAD_TIMEOUT", "ADM_SERVER_BODY_TIMEOUT", "ADM_SERVER_MAX_CONNECTIONS")


@dataclass(frozen=True)
class ConnectionLimits:
    head_timeout: float = 10.0
    body_timeout: float = 20.0
    max_connections: int = 500  # per worker process

    @classmethod
    def from_env(cls) -> ConnectionLimits:
        """The limits ``serve`` handed to its worker processes (they start afresh and
        import this module; a class made at run time would not reach them)."""
        head, body, most = (os.environ.get(name) for name in ENV)
        default = cls()
        return cls(
            float(head) if head else default.head_timeout,
            float(body) if body else default.body_timeout,
            int(most) if most else default.max_connections,
        )

    def to_env(self) -> dict[str, str]:
        values = (self.head_timeout, self.body_timeout, self.max_connections)
        return {name: str(value) for name, value in zip(ENV, values, strict=True)}


class ClientCertProtocol(HttpToolsProtocol):
    limits = ConnectionLimits.from_env()
    _refused_logged = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = None
        if len(self.connections) > self.limits.max_connections:
            now = time.monotonic()
            if now - ClientCertProtocol._refused_logged > 10:  # once per 10 s, not per socket
                ClientCertProtocol._refused_logged = now
                log.warning(
                    "connection limit reached (%d): refusing new connections",
                    self.limits.max_connections,
                )
            transport.abort()
            return
        self._arm(self.limits.head_timeout)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        inner = self.app

        async def app(scope: Any, receive: Any, send: Any) -> None:
            scope.setdefault("extensions", {})["tls"] = {"client_cert_der": der}
            await inner(scope, receive, send)

        self.app = app

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._overdue)

    def _disarm(self) -> None:
        if getattr(self, "_deadline", None) is not None:
            assert self._deadline is not None
            self._deadline.cancel()
            self._deadline = None

    def _overdue(self) -> None:
        """The request did not arrive in time: the connection goes, whatever it holds."""
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.abort()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # a keep-alive connection's next request
            self._arm(self.limits.head_timeout)

    def on_headers_complete(self) -> None:
        self._arm(self.limits.body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def protocol_with(limits: ConnectionLimits) -> type[ClientCertProtocol]:
    """The protocol class with these limits (uvicorn takes a class, not an instance)."""
    return type("LimitedClientCertProtocol", (ClientCertProtocol,), {"limits": limits})


def uvicorn_tls_options(home: ServerHome, limits: ConnectionLimits | None = None) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.Config``/``uvicorn.run`` that enable mTLS.
    ``limits`` None: those of the environment (``ConnectionLimits.from_env``), the only
    way to worker processes."""
    return {
        "ssl_certfile": str(home.server_cert),
        "ssl_keyfile": str(home.server_key),
        "ssl_ca_certs": str(home.ca_cert),
        "ssl_cert_reqs": ssl.CERT_OPTIONAL,
        "http": ClientCertProtocol if limits is None else protocol_with(limits),
        "loop": "auto",  # uvloop when installed
        # An idle keep-alive connection goes after this (kiosks reconnect cheaply).
        "timeout_keep_alive": 5,
    }
