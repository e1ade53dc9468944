"""HTTP client for the central server (httpx), with a timeout on every call."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from kiosk import timeouts

log = logging.getLogger("kiosk.server")


class ServerError(Exception):
    """The central server could not be used; ``str()`` is fit for the technician log."""


class ServerUnavailable(ServerError):
    """Down, unreachable or too slow."""


class ServerRefused(ServerError):
    """The server answered with a refusal (4xx) or a fault (5xx)."""

    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        super().__init__(f"server answered {status}: {detail}")


class ServerClient:
    def __init__(self, base_url: str, kiosk_id: str, client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.kiosk_id = kiosk_id
        self._client = client or httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeouts.SERVER_READ, connect=timeouts.SERVER_CONNECT),
        )

    def close(self) -> None:
        self._client.close()

    def _request(self, method: str, path: str, **kw: Any) -> Any:
        try:
            resp = self._client.request(method, path, **kw)
        except httpx.TimeoutException:
            raise ServerUnavailable(f"central server timed out on {method} {path}") from None
        except httpx.TransportError as exc:
            raise ServerUnavailable(f"central server unreachable: {exc}") from None
        if resp.status_code >= 400:
            try:
                detail = str(resp.json().get("detail", resp.text))
            except ValueError:
                detail = resp.text[:200]
            raise ServerRefused(resp.status_code, detail)
        try:
            return resp.json()
        except ValueError:
            raise ServerRefused(resp.status_code, "answer is not JSON") from None

    def list_documents(self, nik: str) -> list[dict[str, Any]]:
        data = self._request("GET", f"/api/v1/citizens/{nik}/documents")
        docs = data.get("documents") if isinstance(data, dict) else None
        if not isinstance(docs, list):
            raise ServerRefused(200, "document list has the wrong shape")
        return docs

    def get_document(self, doc_id: int) -> dict[str, Any]:
        data = self._request("GET", f"/api/v1/documents/{doc_id}")
        if not isinstance(data, dict):
            raise ServerRefused(200, "document payload has the wrong shape")
        return data

    def confirm(self, doc_id: int, job_id: str) -> dict[str, Any]:
        data = self._request(
            "POST",
            f"/api/v1/documents/{doc_id}/confirm",
            json={"job_id": job_id, "kiosk_id": self.kiosk_id},
        )
        return data if isinstance(data, dict) else {}
