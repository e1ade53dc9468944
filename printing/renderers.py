"""Which renderer draws which document kind, and on which medium (queue) it is printed.

The renderers (reportlab, a third of a second to import) are imported at the first
render, or by :func:`warm` on a worker thread once the kiosk is up, so the idle screen
does not wait for them."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from printing import qrmatrix

Renderer = Callable[[dict[str, Any]], bytes]

# kind -> (module in ``printing``, its function)
RENDERERS: dict[str, tuple[str, str]] = {
    "kartu_keluarga": ("kartu_keluarga", "render"),
    "akta_kelahiran": ("akta", "render_birth"),
    "akta_kematian": ("akta", "render_death"),
    "surat_pindah": ("pindah", "render"),
    "ktp_el": ("cards", "render_ktp"),
    "kia": ("cards", "render_kia"),
    "receipt": ("receipt", "render_receipt"),
    "test_page": ("receipt", "render_test_page"),
}
QUEUE_FOR_MEDIUM = {"a4": "adm-a4", "card": "adm-card"}


class UnknownDocumentKind(ValueError):
    pass


def renderer(kind: str) -> Renderer:
    try:
        module, function = RENDERERS[kind]
    except KeyError:
        raise UnknownDocumentKind(f"no renderer for document kind {kind!r}") from None
    found: Renderer = getattr(importlib.import_module(f"printing.{module}"), function)
    return found


def warm() -> None:
    """Import every renderer now (a worker thread after start-up): the first citizen's
    print does not wait for reportlab.  A missing QR library is reported here, at start-up,
    rather than at the first print."""
    qrmatrix.check()
    for kind in RENDERERS:
        renderer(kind)


def render(payload: dict[str, Any]) -> bytes:
    return renderer(str(payload.get("kind")))(payload)
