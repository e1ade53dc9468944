"""Run the reference server inside another process (the simulated kiosk, tests) over real HTTP.

The server still listens on a loopback socket and the kiosk still talks HTTP to it, so the
embedded mode exercises the same client code as a remote server.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from server.app import create_app
from server.db import make_engine, session_factory
from server.seed import seed_demo


class EmbeddedServer:
    def __init__(
        self, database_url: str, *, host: str = "127.0.0.1", port: int = 0, seed: bool = True
    ) -> None:
        self.database_url = database_url
        self.host = host
        self.port = port
        self.seed = seed
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        engine = make_engine(self.database_url)
        if self.seed:
            with session_factory(engine)() as session:
                seed_demo(session)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(create_app(engine), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.run(sockets=[sock]), name="embedded-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("embedded central server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
