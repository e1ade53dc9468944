"""Which renderer draws which document kind, and on which medium (queue) it is printed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from printing import akta, cards, kartu_keluarga, pindah, receipt

Renderer = Callable[[dict[str, Any]], bytes]

RENDERERS: dict[str, Renderer] = {
    "kartu_keluarga": kartu_keluarga.render,
    "akta_kelahiran": akta.render_birth,
    "akta_kematian": akta.render_death,
    "surat_pindah": pindah.render,
    "ktp_el": cards.render_ktp,
    "kia": cards.render_kia,
    "receipt": receipt.render_receipt,
    "test_page": receipt.render_test_page,
}
QUEUE_FOR_MEDIUM = {"a4": "adm-a4", "card": "adm-card"}


class UnknownDocumentKind(ValueError):
    pass


def render(payload: dict[str, Any]) -> bytes:
    kind = payload.get("kind")
    try:
        renderer = RENDERERS[str(kind)]
    except KeyError:
        raise UnknownDocumentKind(f"no renderer for document kind {kind!r}") from None
    return renderer(payload)
