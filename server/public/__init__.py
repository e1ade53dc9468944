"""The public check of printed documents: ``/v/<token>`` (what a document's QR opens) and
the offline checker ``/verify-offline``.

For anyone with a phone: no login, no cookies, no JavaScript, no third-party asset, in
Bahasa Indonesia and English (``?lang=``, else the browser's first language).  Each
answer is a page, whatever the input: a forged or garbled code, an over-long address, too
many checks from one address (429 with Retry-After), the database gone (503); never a
stack trace or a 500.  Nothing lets a caller list documents: a page answers only a token
whose signature verifies, and each client address has a budget of checks per minute.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from protocol import seal
from protocol.kinds import KIND_OF_CODE, KINDS
from server.public.texts import LANGUAGES, TEXT, translate
from server.verification import Verdict, VerificationConfig, verdict

log = logging.getLogger("adm.public")

STATIC = Path(__file__).with_name("static")
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
# Beyond the longest token: a path this long is refused before it is decoded.
MAX_PATH = seal.MAX_TOKEN + 8
MONTHS = {
    "id": [
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ],
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
}
# state -> (headline key, tone, mark)
LOOK = {
    "valid": ("head_valid", "ok", "✓"),
    "revoked": ("head_revoked", "bad", "✗"),
    "superseded": ("head_superseded", "warn", "!"),
    "unrecorded": ("head_unrecorded", "warn", "!"),
    "foreign": ("head_foreign", "warn", "?"),
    "invalid": ("head_invalid", "bad", "✗"),
    "malformed": ("head_malformed", "bad", "?"),
    "too_long": ("head_too_long", "bad", "?"),
    "limited": ("head_limited", "warn", "…"),
    "unavailable": ("head_unavailable", "warn", "…"),
}


class ClientBudget:
    """Checks per client address and minute, as a token bucket per address (per worker
    process: with N workers an address gets up to N times the budget, still far too
    little to walk the space of numbers, which a forged signature cannot open anyway).
    The table is bounded: at 100 000 addresses the ones with a full bucket are dropped."""

    LIMIT = 100_000

    def __init__(self, config: VerificationConfig) -> None:
        self.config = config  # read at each check: a changed budget applies at once
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    @property
    def per_minute(self) -> int:
        return self.config.per_minute

    @property
    def rate(self) -> float:
        return self.config.per_minute / 60.0

    def take(self, client: str, now: float | None = None) -> float:
        """0 when ``client`` may check now (and the check is counted), else the seconds
        until it may."""
        now = time.monotonic() if now is None else now
        with self.lock:
            tokens, at = self.buckets.get(client, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - at) * self.rate)
            if tokens < 1:
                self.buckets[client] = (tokens, now)
                return (1 - tokens) / self.rate
            if len(self.buckets) >= self.LIMIT:
                self._prune(now)
            self.buckets[client] = (tokens - 1, now)
            return 0.0

    def _prune(self, now: float) -> None:
        full = [
            c
            for c, (t, at) in self.buckets.items()
            if t + (now - at) * self.rate >= self.per_minute
        ]
        for c in full or list(self.buckets)[: self.LIMIT // 10]:
            del self.buckets[c]


def long_date(lang: str, day: dt.date | None) -> str:
    if day is None:
        return "-"
    return f"{day.day} {MONTHS[lang][day.month - 1]} {day.year}"


def language(request: Request) -> str:
    asked = request.query_params.get("lang", "")
    if asked in LANGUAGES:
        return asked
    first = request.headers.get("accept-language", "").split(",")[0].strip().lower()
    return "en" if first.startswith("en") else "id"


def public_keys(own: Ed25519PublicKey, office: str, config: VerificationConfig) -> list[dict]:
    """Every key the checker believes: (hex key id, office, raw key in base64)."""

    def raw(key: Ed25519PublicKey) -> str:
        data = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(data).decode()

    keys = [{"id": seal.raw_key_id(own).hex(), "office": office, "key": raw(own)}]
    for kid, peer in config.peers.items():
        keys.append({"id": kid.hex(), "office": peer.office, "key": raw(peer.key)})
    return keys


def offline_page(keys: list[dict], lang: str = "id") -> tuple[str, str]:
    """The offline checker, one self-contained HTML file with ``keys`` embedded, and the
    Content-Security-Policy it needs (its one script and stylesheet by hash)."""
    env = _environment()
    script = (STATIC / "offline.js").read_text(encoding="utf-8")
    css = (STATIC / "check.css").read_text(encoding="utf-8")

    def digest(text: str) -> str:
        return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    csp = (
        f"default-src 'none'; script-src 'sha256-{digest(script)}'; "
        f"style-src 'sha256-{digest(css)}'; base-uri 'none'; form-action 'none'"
    )
    text = {
        key: translate(lang, f"off_{key}")
        for key in ("valid", "invalid", "malformed", "unsupported")
    }
    text |= {key: translate(lang, key) for key in ("kind", "number", "issued", "office")}
    data = {
        "domain": seal.DOMAIN.decode("latin-1"),
        "format": seal.FORMAT,
        "alphabet": seal.ALPHABET,
        "max_token": seal.MAX_TOKEN,
        "kinds": {code: KINDS[kind][0] for code, kind in KIND_OF_CODE.items() if kind in KINDS},
        "keys": {k["id"]: {"office": k["office"], "key": k["key"]} for k in keys},
        "text": text,
        "months": MONTHS[lang],
    }
    # Inside <script> nothing is unescaped: "<" as \u003c keeps "</script>" out of it.
    blob = json.dumps(data, ensure_ascii=True).replace("<", "\\u003c")
    html = env.get_template("offline.html").render(
        lang=lang,
        t=lambda key, **kw: translate(lang, key, **kw),
        csp=csp,
        css=Markup(css),
        script=Markup(script),
        data=Markup(blob),
        key_list=[(k["id"], k["office"]) for k in keys],
    )
    return html, csp


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("server.public", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def mount(app: FastAPI, context: Any) -> None:
    """Add ``/v/<token>``, ``/V/<token>``, the stylesheet and the offline checker."""
    env = _environment()
    settings = context.settings
    budget = ClientBudget(settings.verification)
    stylesheet = (STATIC / "check.css").read_bytes()
    assert set(TEXT)  # the texts are loaded once, here

    def secure(response: Response, csp: str = CSP) -> Response:
        response.headers["Content-Security-Policy"] = csp
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cache-Control"] = "no-store"
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        return response

    def render(
        lang: str, state: str, http_status: int, found: Verdict | None = None, **kw: Any
    ) -> Response:
        head, tone, mark = LOOK[state]

        def t(key: str, **values: Any) -> str:
            return translate(lang, key, **values)

        facts: list[tuple[str, str, str]] = []
        explanation = ""
        if found is not None:
            if found.state in ("valid", "revoked", "superseded", "foreign"):
                facts = [
                    ("kind", found.title, ""),
                    ("number", found.number, ""),
                    ("issued", long_date(lang, found.issued), ""),
                    ("office", found.office, ""),
                ]
                if found.holder:
                    facts.append(("holder", found.holder, "holder_help"))
            if found.state == "revoked":
                explanation = t("text_revoked", at=long_date(lang, found.revoked_at))
            elif found.state == "superseded":
                explanation = (
                    t("text_superseded", newer=found.newer)
                    if found.newer
                    else t("text_superseded_unknown")
                )
            elif found.state == "foreign":
                explanation = t("text_foreign", office=found.office)
        if not explanation:
            explanation = t(f"text_{state}", **kw)
        html = env.get_template("check.html").render(
            lang=lang,
            t=t,
            head=head,
            tone=tone,
            mark=mark,
            state=state,
            explanation=explanation,
            facts=facts,
        )
        return secure(HTMLResponse(html, http_status))

    async def check(request: Request, rest: str) -> Response:
        lang = language(request)
        if len(rest) > MAX_PATH:
            return render(lang, "too_long", 414)
        client = request.client.host if request.client else "-"
        wait = budget.take(client)
        if wait:
            seconds = max(1, int(wait + 0.999))
            response = render(lang, "limited", 429, seconds=seconds)
            response.headers["Retry-After"] = str(seconds)
            return response
        token = rest.strip("/")

        def work() -> Verdict:
            with Session(context.engine) as db:
                return verdict(db, token, settings.issuer.public, settings.verification)

        try:
            found = await context.run(work)
        except SQLAlchemyError as exc:
            log.error("public check: the register cannot be read: %s", type(exc).__name__)
            response = render(lang, "unavailable", 503)
            response.headers["Retry-After"] = "30"
            return response
        codes = {"malformed": 400, "invalid": 200}
        return render(lang, found.state, codes.get(found.state, 200), found)

    @app.get("/v/{rest:path}", include_in_schema=False)
    async def check_lower(request: Request, rest: str) -> Response:
        return await check(request, rest)

    @app.get("/V/{rest:path}", include_in_schema=False)
    async def check_upper(request: Request, rest: str) -> Response:
        return await check(request, rest)

    @app.get("/verify-static/check.css", include_in_schema=False)
    async def check_css() -> Response:
        response = Response(stylesheet, media_type="text/css")
        secure(response)
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response

    @app.get("/verify-offline", include_in_schema=False)
    async def offline(request: Request) -> Response:
        lang = language(request)
        office = settings.verification.office or "Dukcapil"
        html, csp = offline_page(
            public_keys(settings.issuer.public, office, settings.verification), lang
        )
        return secure(HTMLResponse(html), csp)
