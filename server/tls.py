"""Serve the API over TLS with optional client certificates and hand the verified client
certificate to the app.

uvicorn does not put the peer certificate into the ASGI scope, so this protocol class
reads it from the TLS transport once per connection and adds it as
``scope["extensions"]["tls"]["client_cert_der"]``.  The TLS layer verifies the chain
against the deployment CA (``CERT_OPTIONAL``: the public ``/verify`` needs no
certificate); the app decides which routes require one and which kiosk it belongs to.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from server.pki import ServerHome

try:  # the C parser (much less CPU per request); h11 is the pure-Python fallback
    import httptools  # noqa: F401
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Base
except ImportError:  # pragma: no cover - httptools is a dependency on Linux
    _Base = H11Protocol  # type: ignore[assignment,misc]


class ClientCertProtocol(_Base):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        inner = self.app

        async def app(scope: Any, receive: Any, send: Any) -> None:
            scope.setdefault("extensions", {})["tls"] = {"client_cert_der": der}
            await inner(scope, receive, send)

        self.app = app


def uvicorn_tls_options(home: ServerHome) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.Config``/``uvicorn.run`` that enable mTLS."""
    return {
        "ssl_certfile": str(home.server_cert),
        "ssl_keyfile": str(home.server_key),
        "ssl_ca_certs": str(home.ca_cert),
        "ssl_cert_reqs": ssl.CERT_OPTIONAL,
        "http": ClientCertProtocol,
        "loop": "auto",  # uvloop when installed
    }
