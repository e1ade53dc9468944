"""Which renderer draws which document kind, and on which medium it is printed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from printing import kartu_keluarga

Renderer = Callable[[dict[str, Any]], bytes]

RENDERERS: dict[str, Renderer] = {"kartu_keluarga": kartu_keluarga.render}
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
