"""HTTP client for the central server (httpx, mTLS).

Every call has a timeout.  Calls that are idempotent on the server (listing, reserve on
the kiosk's job id, confirm, release, status, heartbeat) are retried with backoff on
transport errors and 502/503/504; opening a session is not (a PIN guess must not count
twice and a QR token is single-use).  Every document payload is checked against the
pinned issuer key before anyone renders it.  Errors come as a small hierarchy the flow
can turn into citizen messages.
"""

from __future__ import annotations

import datetime as dt
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from kiosk import timeouts
from protocol.errors import WRONG_SECRET
from protocol.signing import SignatureError, load_public_key, verify_payload

log = logging.getLogger("kiosk.server")

RETRY_STATUS = (502, 503, 504)


class ServerError(Exception):
    """The central server could not be used; ``str()`` is fit for the technician log."""


class ServerUnavailable(ServerError):
    """Down, unreachable or too slow."""


class ServerRefused(ServerError):
    """The server answered with a refusal (4xx) or a fault (5xx)."""

    def __init__(self, status: int, detail: Any) -> None:
        self.status = status
        self.detail = detail if isinstance(detail, dict) else {"message": str(detail)}
        self.code = str(self.detail.get("code", ""))
        super().__init__(f"server answered {status}: {self.detail.get('message', detail)}")


class WrongSecret(ServerRefused):
    """Wrong PIN, print code or QR token (``attempts_left`` when the server says)."""

    @property
    def attempts_left(self) -> int | None:
        left = self.detail.get("attempts_left")
        return left if isinstance(left, int) else None


class Locked(ServerRefused):
    """Too many wrong guesses: the path is locked until ``locked_until``."""

    @property
    def locked_until(self) -> str:
        return str(self.detail.get("locked_until", ""))


class MalformedAnswer(ServerError):
    """The server said yes (2xx) but the answer does not have the promised shape: a
    fault of the server or of something between, not a refusal."""


class ForgedDocument(ServerError):
    """The payload's signature does not verify against the pinned issuer key."""


@dataclass(frozen=True)
class Tls:
    """The kiosk's credentials: its certificate and key, and the deployment CA."""

    ca: Path
    cert: Path
    key: Path

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca))
        ctx.load_cert_chain(str(self.cert), str(self.key))
        return ctx


def _moment(value: Any) -> dt.datetime | None:
    """An answer's ISO 8601 moment, or None when absent or not one."""
    try:
        return dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Reservation:
    job_id: str
    document_id: int
    state: str
    payload: dict[str, Any]
    # Until when the server holds the document for this job (None: it did not say).
    lease_until: dt.datetime | None = None


class ServerClient:
    def __init__(
        self,
        base_url: str,
        *,
        tls: Tls | None = None,
        issuer_key: Path | None = None,
        retries: int = 3,
        backoff: float = 0.25,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = timeouts.SERVER_READ,
        build: dict[str, Any] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # What the kiosk is made of (protocol.api.KioskBuild), sent with every session
        # opening and heartbeat so the server can refuse to believe a simulated kiosk.
        self.build = build
        self._issuer = load_public_key(issuer_key.read_bytes()) if issuer_key else None
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=timeouts.SERVER_CONNECT),
            verify=tls.context() if tls else True,
        )

    def close(self) -> None:
        self._client.close()

    # --- transport -------------------------------------------------------------------
    def _request(self, method: str, path: str, *, retry: bool, **kw: Any) -> Any:
        attempts = 1 + (self.retries if retry else 0)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                resp = self._client.request(method, path, **kw)
            except httpx.TimeoutException:
                if last:
                    raise ServerUnavailable(
                        f"central server timed out on {method} {path}"
                    ) from None
            except httpx.TransportError as exc:
                if last:
                    raise ServerUnavailable(f"central server unreachable: {exc}") from None
            else:
                if resp.status_code not in RETRY_STATUS or last:
                    return self._answer(resp)
            delay = self.backoff * (2**attempt)
            log.info("retrying %s %s in %.2f s", method, path, delay)
            self._sleep(delay)
        raise AssertionError("unreachable")

    @staticmethod
    def _answer(resp: httpx.Response) -> Any:
        if resp.status_code == 204:
            return None
        try:
            body = resp.json()
        except ValueError:
            if resp.status_code >= 400:
                raise ServerRefused(resp.status_code, resp.text[:200]) from None
            raise MalformedAnswer(f"{resp.status_code} answer is not JSON") from None
        if resp.status_code >= 400:
            detail = body.get("detail", body) if isinstance(body, dict) else body
            code = detail.get("code") if isinstance(detail, dict) else None
            if resp.status_code == 423:
                raise Locked(resp.status_code, detail)
            if code in WRONG_SECRET:
                raise WrongSecret(resp.status_code, detail)
            raise ServerRefused(resp.status_code, detail)
        return body

    @staticmethod
    def _bearer(session: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {session}"}

    # --- the kiosk API ----------------------------------------------------------------
    def health(self) -> bool:
        data = self._request("GET", "/api/v1/health", retry=False)
        return isinstance(data, dict) and data.get("status") == "ok"

    def open_session(self, method: str, **fields: Any) -> dict[str, Any]:
        """``method`` ektp (nik, card=assertion) | pin (nik, pin) | qr (token)."""
        body = {"method": method, **fields}
        if self.build is not None:
            body["build"] = self.build
        data = self._request("POST", "/api/v1/sessions", retry=False, json=body)
        if not isinstance(data, dict) or not isinstance(data.get("session"), str):
            raise MalformedAnswer("session answer has the wrong shape")
        return data

    def end_session(self, session: str) -> None:
        self._request(
            "DELETE", "/api/v1/sessions/current", retry=True, headers=self._bearer(session)
        )

    def list_documents(self, session: str) -> list[dict[str, Any]]:
        data = self._request("GET", "/api/v1/documents", retry=True, headers=self._bearer(session))
        docs = data.get("documents") if isinstance(data, dict) else None
        if not isinstance(docs, list):
            raise MalformedAnswer("document list has the wrong shape")
        return docs

    def reserve(self, session: str, job_id: str, document_id: int, print_code: str) -> Reservation:
        """Reserve ``document_id`` for ``job_id``; the payload is verified before returning."""
        data = self._request(
            "POST",
            "/api/v1/reservations",
            retry=True,
            headers=self._bearer(session),
            json={"job_id": job_id, "document_id": document_id, "print_code": print_code},
        )
        if not isinstance(data, dict) or not isinstance(data.get("payload"), dict):
            raise MalformedAnswer("reservation answer has the wrong shape")
        payload = data["payload"]
        self.verify(payload, str(data.get("signature", "")))
        if payload.get("job_id") != job_id or payload.get("id") != document_id:
            raise ForgedDocument("signed payload belongs to another job or document")
        return Reservation(
            job_id, document_id, str(data.get("state")), payload, _moment(data.get("lease_until"))
        )

    def verify(self, payload: dict[str, Any], signature: str) -> None:
        if self._issuer is None:
            raise ForgedDocument("no issuer key pinned: refusing unsigned documents")
        try:
            verify_payload(self._issuer, payload, signature)
        except SignatureError as exc:
            raise ForgedDocument(str(exc)) from None

    def confirm(self, job_id: str) -> dict[str, Any]:
        data = self._request("POST", f"/api/v1/reservations/{job_id}/confirm", retry=True)
        return data if isinstance(data, dict) else {}

    def release(self, job_id: str, reason: str = "") -> dict[str, Any]:
        data = self._request(
            "POST",
            f"/api/v1/reservations/{job_id}/release",
            retry=True,
            json={"reason": reason[:200]},
        )
        return data if isinstance(data, dict) else {}

    def hold(self, job_id: str, reason: str) -> dict[str, Any]:
        data = self._request(
            "POST",
            f"/api/v1/reservations/{job_id}/hold",
            retry=True,
            json={"reason": reason[:200]},
        )
        return data if isinstance(data, dict) else {}

    def command_result(
        self,
        command_id: int,
        outcome: str,
        detail: str = "",
        diagnostics: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The result of an office's action (kiosk.remote); idempotent on the server."""
        body: dict[str, Any] = {"outcome": outcome, "detail": detail[:200]}
        if diagnostics is not None:
            body["diagnostics"] = diagnostics
        data = self._request("POST", f"/api/v1/commands/{command_id}", retry=True, json=body)
        return data if isinstance(data, dict) else {}

    def reservation(self, job_id: str) -> dict[str, Any]:
        data = self._request("GET", f"/api/v1/reservations/{job_id}", retry=True)
        return data if isinstance(data, dict) else {}

    def heartbeat(
        self,
        state: str,
        devices: dict[str, str],
        supplies: dict[str, int],
        audit_head: str | None = None,
        **more: Any,
    ) -> dict[str, Any]:
        """``more``: the optional fields of ``protocol.api.HeartbeatRequest`` (audit
        count and anchor, reason, closed, version)."""
        data = self._request(
            "POST",
            "/api/v1/heartbeat",
            retry=True,
            json={
                "state": state,
                "devices": devices,
                "supplies": supplies,
                "audit_head": audit_head,
                **({"build": self.build} if self.build is not None else {}),
                **{k: v for k, v in more.items() if v is not None},
            },
        )
        return data if isinstance(data, dict) else {}
