"""The office's web console under ``/console``: the fleet, one kiosk, documents, office
work, alerts.  Server-rendered (Jinja2), usable without JavaScript, in Bahasa Indonesia
and English.

Trust is kept apart from the kiosk API on the same listener: the console reads only its
own cookie (a client certificate is never a login here) and the kiosk API reads only
certificates and citizen tokens (a console cookie opens nothing there).  Every form
carries the session's CSRF token, every page is ``no-store`` with a strict CSP, and every
action is in the server's audit log as ``console:<user>``.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import secrets
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote

import segno
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from protocol.identity import spoken
from protocol.kinds import KINDS
from protocol.nik import mask_nik
from server import commands, dbops, officer, rollout
from server.alerts import Alert, fleet
from server.console import accounts, charts, updates
from server.console.i18n import LANGUAGES, TEXT, translate
from server.db import (
    Application,
    AuditEntry,
    Document,
    Heartbeat,
    Kiosk,
    KioskCommandRow,
    KioskRequest,
    KioskSession,
    Reservation,
    utcnow,
)
from server.pki import PkiError

log = logging.getLogger("adm.console")

PREFIX = "/console"
COOKIE = "__Host-adm_console"  # Secure, Path=/, no Domain: only this origin over HTTPS
DEVICE_COOKIE = "__Host-adm_device"  # a browser that signed in to an account before
LOGIN_COOKIE = "__Host-adm_login"  # the login form's CSRF token (no session yet)
LANG_COOKIE = "adm_lang"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# What each role may do (the fleet is visible to every role).
CAN = {
    "office": {"officer", "supervisor"},
    "documents": {"officer", "supervisor"},
    "kiosks": {"supervisor"},
    "revoke": {"supervisor"},  # a printed document, for good: the public check says so
    # A held print job: "printed" or "offered again" (a wrong call prints it twice).
    "resolve": {"supervisor"},
    # The fleet's versions and rollouts (server.rollout): a wrong rollout reaches every kiosk.
    "updates": {"supervisor"},
    # Out of service and back, the idle notice, restart, diagnostics (server.commands).
    "remote": {"officer", "supervisor"},
    # ... even while a citizen is being served.
    "force": {"supervisor"},
}
HOUR = dt.timedelta(hours=1)


class Refused(Exception):
    """The request stops here with this response (login needed, forbidden, bad CSRF)."""

    def __init__(self, response: Response) -> None:
        self.response = response


def mount(app: FastAPI, context: Any) -> None:
    """Add the console's routes to ``app``; ``context`` is the API's ``Context`` (its
    engine follows the server's database, its settings hold the pepper and rules)."""
    env = Environment(
        loader=PackageLoader("server.console", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    static = Path(__file__).with_name("static")
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    settings = context.settings

    @contextmanager
    def database() -> Iterator[Session]:
        with Session(context.engine, expire_on_commit=False) as db:
            yield db

    def lang_of(request: Request) -> str:
        lang = request.cookies.get(LANG_COOKIE, "id")
        return lang if lang in LANGUAGES else "id"

    def page(
        request: Request,
        template: str,
        http_status: int = 200,
        browser: accounts.Browser | None = None,
        **values: Any,
    ) -> Response:
        lang = lang_of(request)

        def t(key: str, **kw: Any) -> str:
            return translate(lang, key, **kw)

        html = env.get_template(template).render(
            t=t,
            lang=lang,
            browser=browser,
            can=lambda what: browser is not None and browser.role in CAN.get(what, set()),
            path=request.url.path,
            ago=lambda at: _ago(t, at),
            alert_text=lambda a: _alert_text(t, a),
            codes=lambda c: _codes(t, c),
            when=_when,
            mask=mask_nik,
            kinds=KINDS,
            **values,
        )
        return secure(HTMLResponse(html, http_status))

    def secure(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"  # no-referrer makes Origin "null"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    def current(request: Request, *need: str) -> accounts.Browser:
        """The logged-in browser, allowed to do ``need`` (CAN keys), or Refused."""
        with database() as db:
            browser = accounts.session_of(
                db, settings.pepper, request.cookies.get(COOKIE), settings.console_idle
            )
        if browser is None:
            target = quote(request.url.path)
            raise Refused(secure(RedirectResponse(f"{PREFIX}/login?next={target}", 303)))
        for what in need:
            if browser.role not in CAN[what]:
                role = _role(lang_of(request), browser)
                refuse(request, browser, "forbidden_title", "forbidden", role=role)
        return browser

    def refuse(
        request: Request, browser: accounts.Browser | None, title: str, key: str, **kw: Any
    ) -> NoReturn:
        """Stop the request with a 403 page saying why."""
        text = translate(lang_of(request), key, **kw)
        raise Refused(page(request, "message.html", 403, browser, title=title, text=text))

    def not_found(request: Request, browser: accounts.Browser | None, what: str) -> Response:
        text = translate(lang_of(request), "not_found", what=what[:64])
        return page(request, "message.html", 404, browser, title="not_found_title", text=text)

    async def form_of(request: Request, browser: accounts.Browser | None) -> dict[str, str]:
        """The posted form, after its CSRF token (and origin, when the browser says)
        matched the session's; Refused with 403 otherwise."""
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        origin = request.headers.get("origin")
        expected = browser.csrf if browser else request.cookies.get(LOGIN_COOKIE, "")
        same_origin = origin is None or origin == f"https://{request.headers.get('host', '')}"
        if not (expected and same_origin and hmac.compare_digest(form.get("csrf", ""), expected)):
            log.warning(
                "console: form refused on %s (%s)",
                request.url.path,
                "origin" if not same_origin else "token" if expected else "no session token",
            )
            refuse(request, browser, "csrf_title", "csrf")
        return form

    # ------------------------------------------------------------------ login

    @router.get("/login")
    def login_form(request: Request, next: str = "") -> Response:
        token = secrets.token_urlsafe(24)
        response = page(request, "login.html", csrf=token, next=_safe_next(next), error="")
        response.set_cookie(
            LOGIN_COOKIE, token, secure=True, httponly=True, samesite="strict", path="/"
        )
        return response

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await form_of(request, None)
        return await run_in_threadpool(login_work, request, form)

    def login_work(request: Request, form: dict[str, str]) -> Response:
        with database() as db:
            result = accounts.authenticate(
                db,
                form.get("username", "")[:64],
                form.get("password", ""),
                form.get("otp", ""),
                source=request.client.host if request.client else "",
                device=request.cookies.get(DEVICE_COOKIE, "")[:100],
                pepper=settings.pepper,
            )
            if result.user is None:
                lang = lang_of(request)
                until = f"{result.locked_until:%H:%M}" if result.locked_until else ""
                error = translate(lang, f"login_{result.error}", until=until)
                return page(
                    request,
                    "login.html",
                    401,
                    csrf=form["csrf"],
                    next=_safe_next(form.get("next", "")),
                    error=error,
                    username=form.get("username", "")[:64],
                )
            token, _csrf = accounts.open_session(
                db, settings.pepper, result.user, settings.console_session
            )
        response = RedirectResponse(_safe_next(form.get("next", "")) or f"{PREFIX}/", 303)
        seconds = int(settings.console_session.total_seconds())
        response.set_cookie(
            COOKIE, token, secure=True, httponly=True, samesite="strict", path="/", max_age=seconds
        )
        response.delete_cookie(LOGIN_COOKIE, path="/", secure=True, httponly=True)
        # This browser has signed in to the account: a lock others cause does not hold it.
        response.set_cookie(
            DEVICE_COOKIE,
            accounts.device_token(settings.pepper, result.user.username),
            secure=True,
            httponly=True,
            samesite="strict",
            path="/",
            max_age=365 * 86400,
        )
        return secure(response)

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        browser = await run_in_threadpool(current, request)
        await form_of(request, browser)
        with database() as db:  # one short write
            accounts.close_session(db, settings.pepper, request.cookies.get(COOKIE))
            db.add(AuditEntry(actor=f"console:{browser.username}", action="console_logout"))
            db.commit()
        response = RedirectResponse(f"{PREFIX}/login", 303)
        response.delete_cookie(COOKIE, path="/", secure=True, httponly=True)
        return secure(response)

    @router.get("/lang/{to}")
    def language(request: Request, to: str, next: str = "") -> Response:
        response = RedirectResponse(_safe_next(next) or f"{PREFIX}/", 303)
        if to in LANGUAGES:
            response.set_cookie(
                LANG_COOKIE, to, secure=True, samesite="lax", path="/", max_age=365 * 86400
            )
        return secure(response)

    @router.get("/static/console.css")
    def stylesheet() -> Response:
        css = (static / "console.css").read_text(encoding="utf-8")
        return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    # ------------------------------------------------------------------ fleet

    @router.get("/")
    def fleet_page(request: Request, office: str = "") -> Response:
        browser = current(request)
        with database() as db:
            views = fleet(db, settings.alert_rules, utcnow())
        health = context.db_health.get()
        offices = sorted({v.office for v in views if v.office})
        shown = [v for v in views if not office or v.office == office]
        return page(
            request,
            "fleet.html",
            browser=browser,
            views=shown,
            offices=offices,
            office=office,
            problems=sum(1 for v in shown if v.problem),
            refresh=True,
            db=health,
            db_alerts=dbops.alerts(health, settings.backup, utcnow()),
        )

    @router.get("/alerts.json")
    def alerts_feed(request: Request) -> Response:
        """The alerts as JSON: for a console session, or a monitoring system holding the
        metrics token."""
        if not metrics_token_ok(settings, request.headers.get("authorization")):
            current(request)
        with database() as db:
            views = fleet(db, settings.alert_rules, utcnow())
        alerts = [a.as_json() for v in views for a in v.alerts]
        return secure(JSONResponse({"alerts": alerts, "generated": _iso(utcnow())}))

    # ------------------------------------------------------------------ one kiosk

    @router.get("/kiosks/{kiosk_id}")
    def kiosk_page(request: Request, kiosk_id: str, done: str = "") -> Response:
        browser = current(request)
        now = utcnow()
        since = now - dt.timedelta(hours=24)
        with database() as db:
            kiosk = db.get(Kiosk, kiosk_id[:64])
            if kiosk is None:
                return not_found(request, browser, kiosk_id)
            view = next(v for v in fleet(db, settings.alert_rules, now) if v.id == kiosk.id)
            beats = list(
                db.scalars(
                    select(Heartbeat)
                    .where(Heartbeat.kiosk_id == kiosk.id, Heartbeat.at >= since)
                    .order_by(Heartbeat.at)
                )
            )
            sessions = list(
                db.scalars(
                    select(KioskSession.created_at).where(
                        KioskSession.kiosk_id == kiosk.id, KioskSession.created_at >= since
                    )
                )
            )
            prints = list(
                db.scalars(
                    select(Reservation.settled_at).where(
                        Reservation.kiosk_id == kiosk.id,
                        Reservation.state == "confirmed",
                        Reservation.settled_at >= since,
                    )
                )
            )
            # Certificate requests waiting in this kiosk's name: signed on the office's
            # signing host after the fingerprint is compared, never here.
            requests = list(
                db.scalars(
                    select(KioskRequest)
                    .where(KioskRequest.kiosk_id == kiosk.id, KioskRequest.status == "pending")
                    .order_by(KioskRequest.created_at)
                )
            )
            asked = commands.recent(db, kiosk.id)
            busy = commands.in_session(kiosk)
        series: dict[str, list[tuple[dt.datetime, float]]] = {}
        faults: list[tuple[dt.datetime, str, str]] = []
        for beat in [*beats, *([] if not kiosk.last_seen else [_latest(kiosk)])]:
            for name, level in (beat.status.get("supplies") or {}).items():
                if name != "blank_cards" and level >= 0:
                    series.setdefault(name, []).append((beat.at, float(level)))
            for device, codes in (beat.status.get("devices") or {}).items():
                if codes not in ("ok", "empty", "present", "card_present"):
                    faults.append((beat.at, device, codes))
        lang = lang_of(request)
        seen: set[tuple[str, str]] = set()
        last_faults = []
        for at, device, codes in sorted(faults, reverse=True):
            if (device, codes) not in seen:
                seen.add((device, codes))
                last_faults.append((at, device, codes))
        return page(
            request,
            "kiosk.html",
            browser=browser,
            kiosk=kiosk,
            view=view,
            requests=[(r.id[:12], r.created_at, spoken(r.fingerprint)) for r in requests],
            supplies_chart=Markup(
                charts.lines(series, since, now, translate(lang, "chart_supplies"))
            ),
            legend=charts.legend(list(series)),
            sessions_chart=Markup(
                charts.bars(_per_hour(sessions, now), translate(lang, "chart_sessions"))
            ),
            prints_chart=Markup(
                charts.bars(_per_hour(prints, now), translate(lang, "chart_prints"))
            ),
            faults=last_faults[:10],
            done=done if done in TEXT else "",
            asked=asked,
            busy=busy,
        )

    @router.post("/kiosks/{kiosk_id}/{action}")
    async def kiosk_action(request: Request, kiosk_id: str, action: str) -> Response:
        browser = await run_in_threadpool(current, request, "kiosks")
        form = await form_of(request, browser)
        return await run_in_threadpool(kiosk_work, request, browser, form, kiosk_id, action)

    def kiosk_work(
        request: Request,
        browser: accounts.Browser,
        form: dict[str, str],
        kiosk_id: str,
        action: str,
    ) -> Response:
        actor = f"console:{browser.username}"
        with database() as db:
            kiosk = db.get(Kiosk, kiosk_id[:64])
            if kiosk is None:
                return not_found(request, browser, kiosk_id)
            if action == "revoke":
                officer.revoke_kiosk(db, kiosk.id, officer=actor)
                done = "kiosk_revoked_done"
            elif action == "office":
                kiosk.office = form.get("office", "").strip()[:100]
                db.add(AuditEntry(actor=actor, action="kiosk_office_set", subject=kiosk.id))
                db.commit()
                done = "office_saved"
            elif action in ACKNOWLEDGE:
                alert, cleared, done = ACKNOWLEDGE[action]
                was = getattr(kiosk, alert)
                setattr(kiosk, alert, None)
                setattr(kiosk, f"{alert}_at", None)
                if alert == "audit_alert":
                    # The next heartbeat sets a new baseline (the chain as it is now).
                    kiosk.audit_count = kiosk.audit_head = None
                db.add(
                    AuditEntry(actor=actor, action=cleared, subject=kiosk.id, detail={"was": was})
                )
                db.commit()
            else:
                return not_found(request, browser, action)
        return secure(RedirectResponse(f"{PREFIX}/kiosks/{quote(kiosk.id)}?done={done}", 303))

    @router.post("/kiosks/{kiosk_id}/do/{action}")
    async def remote_action(request: Request, kiosk_id: str, action: str) -> Response:
        browser = await run_in_threadpool(current, request, "remote")
        form = await form_of(request, browser)
        if form.get("force") and browser.role not in CAN["force"]:
            refuse(request, browser, "forbidden_title", "force_forbidden")
        return await run_in_threadpool(remote_work, request, browser, form, kiosk_id, action)

    def remote_work(
        request: Request,
        browser: accounts.Browser,
        form: dict[str, str],
        kiosk_id: str,
        action: str,
    ) -> Response:
        actor = f"console:{browser.username}"
        with database() as db:
            kiosk = db.get(Kiosk, kiosk_id[:64])
            if kiosk is None or action not in commands.ACTIONS:
                return not_found(request, browser, kiosk_id if kiosk is None else action)
            found = kiosk.id
            try:
                commands.ask(
                    db, kiosk, action, form.get("text", ""), actor, force=bool(form.get("force"))
                )
            except commands.CommandError as exc:
                db.rollback()
                done = f"command_error_{exc}"
            else:
                db.commit()
                done = "command_asked"
        return secure(RedirectResponse(f"{PREFIX}/kiosks/{quote(found)}?done={done}", 303))

    @router.get("/kiosks/{kiosk_id}/diagnostics/{command_id}.json")
    def diagnostics_bundle(request: Request, kiosk_id: str, command_id: int) -> Response:
        """A kiosk's diagnostics bundle, to download (checks, last errors, supplies,
        versions: no personal data)."""
        browser = current(request, "remote")
        with database() as db:
            row = db.get(KioskCommandRow, command_id)
            if row is None or row.kiosk_id != kiosk_id or row.result is None:
                return not_found(request, browser, str(command_id))
            body = commands.as_json(row)
        name = f"adm-diagnostics-{row.kiosk_id}-{row.id}.json"
        response = JSONResponse(body)
        response.headers["Content-Disposition"] = f'attachment; filename="{quote(name)}"'
        return secure(response)

    # ------------------------------------------------------------------ documents

    @router.get("/documents")
    def documents_page(request: Request, q: str = "", status: str = "") -> Response:
        browser = current(request, "documents")
        today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        with database() as db:
            waiting = dict(
                db.execute(
                    select(Document.kind, func.count())
                    .where(Document.status == "approved")
                    .group_by(Document.kind)
                ).all()
            )
            printed = db.execute(
                select(Document.kind, Document.printed_kiosk).where(
                    Document.status == "printed", Document.printed_at >= today
                )
            ).all()
            offices = dict(db.execute(select(Kiosk.id, Kiosk.office)).all())
            query = select(Document).order_by(Document.id.desc()).limit(100)
            q = q.strip()[:60]
            if q:
                query = query.where((Document.owner_nik == q) | (Document.number == q))
            if status in ("approved", "reserved", "printed", "revoked", "superseded"):
                query = query.where(Document.status == status)
            rows = list(db.scalars(query))
        printed_kind = Counter(kind for kind, _ in printed)
        printed_office = Counter(
            offices.get(kiosk or "", "") or (kiosk or "") for _, kiosk in printed
        )
        return page(
            request,
            "documents.html",
            browser=browser,
            waiting=sorted(waiting.items()),
            printed_kind=sorted(printed_kind.items()),
            printed_office=sorted(printed_office.items()),
            rows=rows,
            q=q,
            status=status,
        )

    @router.get("/documents/{number:path}")
    def document_page(request: Request, number: str, done: str = "") -> Response:
        return document_view(request, current(request, "documents"), number, done=done)

    def document_view(
        request: Request,
        browser: accounts.Browser,
        number: str,
        *,
        done: str = "",
        error: str = "",
        http_status: int = 200,
    ) -> Response:
        with database() as db:
            doc = db.scalar(select(Document).where(Document.number == number[:60]))
            if doc is None:
                return not_found(request, browser, number)
            entries = list(
                db.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.subject == doc.number)
                    .order_by(AuditEntry.at, AuditEntry.id)
                )
            )
            jobs = list(
                db.scalars(
                    select(Reservation)
                    .where(Reservation.document_id == doc.id)
                    .order_by(Reservation.created_at)
                )
            )
            newer = db.get(Document, doc.superseded_by) if doc.superseded_by else None
        held = next((j for j in jobs if j.state == "held"), None)
        lang = lang_of(request)
        events = _history(lang, entries, jobs, newer.number if newer else "")
        return page(
            request,
            "document.html",
            http_status,
            browser=browser,
            doc=doc,
            events=events,
            held=held,
            done=done if done in ("done_revoked", "done_hold_printed", "done_hold_offered") else "",
            error=error,
        )

    @router.post("/documents/{number:path}/resolve")
    async def document_resolve(request: Request, number: str) -> Response:
        """A supervisor decides a held print job (audited as console:<user>)."""
        browser = await run_in_threadpool(current, request, "resolve")
        form = await form_of(request, browser)
        return await run_in_threadpool(resolve_work, request, browser, form, number[:60])

    def resolve_work(
        request: Request, browser: accounts.Browser, form: dict[str, str], number: str
    ) -> Response:
        outcome = form.get("outcome", "")
        with database() as db:
            if db.scalar(select(Document.id).where(Document.number == number)) is None:
                return not_found(request, browser, number)
            try:
                if outcome not in ("printed", "not_printed"):
                    raise officer.OfficerError("choose printed or not printed")
                officer.resolve_hold(
                    db,
                    number,
                    printed=outcome == "printed",
                    officer=f"console:{browser.username}",
                )
            except officer.OfficerError as exc:
                db.rollback()
                message = translate(lang_of(request), "office_error", message=str(exc)[:300])
                return document_view(request, browser, number, error=message, http_status=400)
        done = "done_hold_printed" if outcome == "printed" else "done_hold_offered"
        target = f"{PREFIX}/documents/{quote(number)}?done={done}"
        return secure(RedirectResponse(target, 303))

    @router.post("/documents/{number:path}/revoke")
    async def document_revoke(request: Request, number: str) -> Response:
        """A supervisor revokes a document with a reason (audited as console:<user>)."""
        browser = await run_in_threadpool(current, request, "revoke")
        form = await form_of(request, browser)
        return await run_in_threadpool(revoke_work, request, browser, form, number[:60])

    def revoke_work(
        request: Request, browser: accounts.Browser, form: dict[str, str], number: str
    ) -> Response:
        with database() as db:
            if db.scalar(select(Document.id).where(Document.number == number)) is None:
                return not_found(request, browser, number)
            try:
                officer.revoke(
                    db,
                    number,
                    reason=form.get("reason", "")[:400],
                    officer=f"console:{browser.username}",
                )
            except officer.OfficerError as exc:
                db.rollback()
                message = translate(lang_of(request), "office_error", message=str(exc)[:300])
                return document_view(request, browser, number, error=message, http_status=400)
        target = f"{PREFIX}/documents/{quote(number)}?done=done_revoked"
        return secure(RedirectResponse(target, 303))

    # ------------------------------------------------------------------ office work

    @router.get("/office")
    def office_page(request: Request) -> Response:
        browser = current(request, "office")
        with database() as db:
            pending = _pending(db)
        return page(request, "office.html", browser=browser, pending=pending, result=None)

    @router.post("/office/{action}")
    async def office_action(request: Request, action: str) -> Response:
        browser = await run_in_threadpool(current, request, "office")
        form = await form_of(request, browser)
        return await run_in_threadpool(office_work, request, browser, form, action)

    def office_work(
        request: Request, browser: accounts.Browser, form: dict[str, str], action: str
    ) -> Response:
        actor = f"console:{browser.username}"
        lang = lang_of(request)
        home = settings.home
        result: dict[str, Any] = {}
        with database() as db:
            try:
                sender = home.sender_public() if home is not None else None
                result = _office(db, settings, action, form, actor, lang, sender, home)
            except (officer.OfficerError, PkiError, ValueError) as exc:
                db.rollback()
                result = {"error": translate(lang, "office_error", message=str(exc)[:300])}
            pending = _pending(db)
        code = 400 if "error" in result else 200
        return page(request, "office.html", code, browser=browser, pending=pending, result=result)

    # ------------------------------------------------------------------ updates

    @router.get("/updates")
    def updates_page(request: Request, done: str = "") -> Response:
        browser = current(request, "updates")
        with database() as db:
            shown = updates.view(db)
        done = done if done in TEXT else ""
        return page(request, "updates.html", browser=browser, done=done, error="", **shown)

    @router.post("/updates/{action}")
    async def updates_action(request: Request, action: str) -> Response:
        browser = await run_in_threadpool(current, request, "updates")
        form = await form_of(request, browser)
        return await run_in_threadpool(updates_work, request, browser, form, action)

    def updates_work(
        request: Request, browser: accounts.Browser, form: dict[str, str], action: str
    ) -> Response:
        with database() as db:
            try:
                done = updates.act(db, action, form, f"console:{browser.username}")
            except rollout.RolloutError as exc:
                db.rollback()
                shown = updates.view(db)
                error = translate(lang_of(request), f"rollout_error_{exc}")
                return page(
                    request, "updates.html", 400, browser=browser, done="", error=error, **shown
                )
        return secure(RedirectResponse(f"{PREFIX}/updates?done={done}", 303))

    app.include_router(router)

    @app.exception_handler(Refused)
    async def _refused(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        return exc.response


# ---------------------------------------------------------------------- helpers


def _pending(db: Session) -> list[Application]:
    """Applications waiting for a decision (the approve form's choices)."""
    query = select(Application).where(Application.status == "submitted").order_by(Application.id)
    return list(db.scalars(query.limit(200)))


def _office(
    db: Session,
    settings: Any,
    action: str,
    form: dict[str, str],
    actor: str,
    lang: str,
    sender: Any,
    home: Any,
) -> dict[str, Any]:
    """One piece of office work, as the CLI does it; what the page shows of the result."""

    def t(key: str, **kw: Any) -> str:
        return translate(lang, key, **kw)

    def field(name: str, most: int = 100) -> str:
        return form.get(name, "").strip()[:most]

    if action == "register":
        raw = field("data", 20_000)
        data = json.loads(raw) if raw else {}
        if not isinstance(data, dict):
            raise ValueError("the document fields must be a JSON object")
        app = officer.register(db, field("kind"), field("nik"), data, officer=actor)
        return {"message": t("done_registered", id=app.id, kind=app.kind)}
    if action == "approve":
        if home is None:
            raise ValueError("this server has no signing official configured")
        application = int(field("application") or 0)
        done = officer.approve(
            db, settings.pepper, application, home.official(), officer=actor, sender=sender
        )
        number = done.document.number
        return {
            "message": t("done_approved", number=number),
            "secret_label": t("print_code_once"),
            "secret": done.print_code,
        }
    if action == "supersede":
        officer.supersede(db, field("old"), field("new"), officer=actor)
        return {"message": t("done_superseded", old=field("old"), new=field("new"))}
    if action == "set-pin":
        officer.set_pin(db, settings.pepper, field("nik"), field("pin"), officer=actor)
        return {"message": t("done_pin", nik=mask_nik(field("nik")))}
    if action == "qr-token":
        token = officer.qr_token(db, settings.pepper, field("nik"), officer=actor, sender=sender)
        # A PNG (a data: URI) rather than SVG: an officer can save or forward the image.
        image = segno.make(token, error="m").png_data_uri(scale=6, border=4)
        return {"message": t("done_qr", nik=mask_nik(field("nik"))), "qr": image}
    if action == "reissue-code":
        code = officer.reissue_code(
            db, settings.pepper, field("number"), officer=actor, sender=sender
        )
        return {
            "message": t("done_reissued", number=field("number")),
            "secret_label": t("print_code_once"),
            "secret": code,
        }
    if action == "release":
        res = officer.release(db, field("job"), officer=actor)
        return {"message": t("done_released", job=res.job_id)}
    raise ValueError(f"unknown action {action[:40]!r}")


# The kiosk's alerts a supervisor marks checked: action -> (the kiosk's alert column,
# the audit action, the notice shown).  Each stays until then.
ACKNOWLEDGE = {
    "acknowledge": ("audit_alert", "audit_alert_cleared", "audit_acknowledged"),
    "acknowledge-trust": ("trust_alert", "trust_alert_cleared", "trust_acknowledged"),
}


def metrics_token_ok(settings: Any, authorization: str | None) -> bool:
    from server.security import keyed_hash

    expected = settings.metrics_token_hash
    if expected is None or not authorization or not authorization.startswith("Bearer "):
        return False
    given = keyed_hash(settings.pepper, "metrics", authorization[7:].strip()[:100])
    return hmac.compare_digest(given, expected)


def _safe_next(target: str) -> str:
    """Only a path inside the console (no open redirect to another site)."""
    if target.startswith(PREFIX + "/") and "//" not in target and "\\" not in target:
        return target[:200]
    return ""


def _role(lang: str, browser: accounts.Browser) -> str:
    return translate(lang, f"role_{browser.role}")


def _iso(at: dt.datetime) -> str:
    return at.replace(tzinfo=dt.UTC).isoformat()


def _when(at: dt.datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC" if at else ""


def _ago(t: Callable[..., str], at: dt.datetime | None) -> str:
    if at is None:
        return t("never")
    seconds = max(0, int((utcnow() - at).total_seconds()))
    if seconds < 120:
        return t("ago_s", n=seconds)
    if seconds < 7200:
        return t("ago_m", n=seconds // 60)
    if seconds < 2 * 86400:
        return t("ago_h", n=seconds // 3600)
    return t("ago_d", n=seconds // 86400)


def _codes(t: Callable[..., str], codes: str) -> str:
    """Printer condition codes from a heartbeat in words (unknown codes as they are)."""
    words = []
    for code in codes.split(","):
        key = f"cond_{code}"
        words.append(t(key) if key in TEXT else code)
    return ", ".join(words)


def _alert_text(t: Callable[..., str], alert: Alert) -> str:
    values = dict(alert.values)
    values["since"] = _when(alert.since)
    if alert.kind == "audit_chain":
        values["what"] = (
            t(f"audit_{values['what']}") if f"audit_{values['what']}" in TEXT else values["what"]
        )
    if alert.kind == "paper":
        values["condition"] = _codes(t, str(values["condition"]))
    return t(f"alert_{alert.kind}", **values)


def _latest(kiosk: Kiosk) -> Heartbeat:
    """The kiosk's latest status as a heartbeat row (it is always on the kiosk's record;
    the history keeps changes only)."""
    assert kiosk.last_seen is not None
    return Heartbeat(kiosk_id=kiosk.id, at=kiosk.last_seen, status=kiosk.last_status or {})


def _per_hour(moments: Sequence[dt.datetime | None], now: dt.datetime) -> list[int]:
    counts = [0] * 24
    for at in moments:
        if at is None:
            continue
        hours_ago = int((now - at) / HOUR)
        if 0 <= hours_ago < 24:
            counts[23 - hours_ago] += 1
    return counts


def _history(
    lang: str, entries: list[AuditEntry], jobs: list[Reservation], newer: str
) -> list[tuple[dt.datetime, str, str]]:
    """(when, who, what) of one document, oldest first: the officers' actions from the
    audit log and the kiosks' print jobs from the reservations."""

    def t(key: str, **kw: Any) -> str:
        return translate(lang, key, **kw)

    events: list[tuple[dt.datetime, str, str]] = []
    for entry in entries:
        key = f"ev_{entry.action}"
        if entry.action == "reserved":
            continue  # the print job below says so, with its kiosk and its outcome
        if entry.action == "superseded":
            text = t(key, by=str(entry.detail.get("by", newer)))
        elif key in TEXT:
            text = t(key)
        else:
            text = t("ev_other", action=entry.action)
        events.append((entry.at, entry.actor, text))
    for job in jobs:
        events.append((job.created_at, job.kiosk_id, t("ev_reserved", kiosk=job.kiosk_id)))
        if job.settled_at is None:
            continue
        if job.state == "confirmed":
            text = t("ev_confirmed", kiosk=job.kiosk_id)
        elif job.state in ("released", "expired", "held"):
            text = t(f"ev_{job.state}", reason=job.reason or "")
        else:
            continue
        events.append((job.settled_at, job.kiosk_id, text))
    return sorted(events, key=lambda e: e[0])
