"""A console user and a browser-less console client over real HTTPS, shared by the
console's HTTP and browser tests."""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from server.console import accounts
from server.db import make_engine, session_factory
from sim.embedded import EmbeddedServer

PASSWORD = "kata-sandi-yang-panjang"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def add_user(srv: EmbeddedServer, name: str, role: str, *, totp: bool = False) -> str | None:
    """Create an account in the server's current database; its TOTP secret if asked."""
    engine = make_engine(srv.database_url)
    try:
        with session_factory(engine)() as db:
            return accounts.add_user(db, name, role, PASSWORD, totp=totp)
    finally:
        engine.dispose()


@contextmanager
def database(srv: EmbeddedServer) -> Iterator[Any]:
    engine = make_engine(srv.database_url)
    try:
        with session_factory(engine)() as db:
            yield db
    finally:
        engine.dispose()


class Console:
    """What a browser does, over HTTP: log in, keep the cookie, post forms with the
    session's CSRF token (taken from the page, as a browser would)."""

    def __init__(self, srv: EmbeddedServer, *, cert: tuple[str, str] | None = None) -> None:
        ctx = ssl.create_default_context(cafile=str(srv.home.ca_cert))
        if cert is not None:
            ctx.load_cert_chain(*cert)
        self.http = httpx.Client(base_url=srv.url, verify=ctx, timeout=20)
        self.csrf = ""

    def close(self) -> None:
        self.http.close()

    def login(self, name: str, password: str = PASSWORD, otp: str = "") -> httpx.Response:
        page = self.http.get("/console/login")
        token = CSRF.search(page.text)
        assert token is not None, page.text[:500]
        answer = self.http.post(
            "/console/login",
            data={"csrf": token.group(1), "username": name, "password": password, "otp": otp},
        )
        if answer.status_code == 303:
            self.csrf = self.csrf_of("/console/")
        return answer

    def csrf_of(self, path: str) -> str:
        page = self.http.get(path)
        token = CSRF.search(page.text)
        assert token is not None, f"{path}: {page.status_code}"
        return token.group(1)

    def post(self, path: str, csrf: str | None = None, **form: str) -> httpx.Response:
        return self.http.post(path, data={"csrf": self.csrf if csrf is None else csrf, **form})

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, **kw)
