"""A console user and a browser-less console client over real HTTPS, shared by the
console's HTTP and browser tests."""

from __future__ import annotations

import datetime
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pyotp

from server.console import accounts
from server.db import make_engine, session_factory
from sim.embedded import EmbeddedServer

PASSWORD = "kata-sandi-yang-panjang"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


# TOTP secrets of the accounts the tests made (a supervisor always has one), and the last
# time step each one used: a code is accepted once, so the next login uses the next.
SECRETS: dict[tuple[str, str], str] = {}
_USED: dict[tuple[str, str], int] = {}


def add_user(srv: EmbeddedServer, name: str, role: str, *, totp: bool = False) -> str | None:
    """Create an account in the server's current database; its TOTP secret if it has one
    (asked for, or a supervisor's)."""
    engine = make_engine(srv.database_url)
    try:
        with session_factory(engine)() as db:
            secret = accounts.add_user(db, name, role, PASSWORD, totp=totp)
    finally:
        engine.dispose()
    if secret:
        SECRETS[(srv.database_url, name)] = secret
    return secret


def otp_for(srv: EmbeddedServer, name: str) -> str:
    """A code of the account's authenticator not used yet ("" without one): the current
    step's, or the next one's when that was used (a server accepts one step ahead)."""
    key = (srv.database_url, name)
    secret = SECRETS.get(key)
    if secret is None:
        return ""
    totp = pyotp.TOTP(secret)
    step = max(totp.timecode(datetime.datetime.now(datetime.UTC)), _USED.get(key, -1) + 1)
    _USED[key] = step
    return str(totp.generate_otp(step))


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
        self.srv = srv
        ctx = ssl.create_default_context(cafile=str(srv.home.ca_cert))
        if cert is not None:
            ctx.load_cert_chain(*cert)
        self.http = httpx.Client(base_url=srv.url, verify=ctx, timeout=20)
        self.csrf = ""

    def close(self) -> None:
        self.http.close()

    def login(self, name: str, password: str = PASSWORD, otp: str | None = None) -> httpx.Response:
        """Sign in as a browser does; ``otp`` None: the account's authenticator's code."""
        if otp is None:
            otp = otp_for(self.srv, name) if password == PASSWORD else ""
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
