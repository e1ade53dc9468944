"""Which renderer draws which document kind, and on which medium (queue) it is printed.

The renderers (reportlab, a third of a second to import) are imported at the first
render, or by :func:`warm` on a worker thread once the kiosk is up, so the idle screen
does not wait for them."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

from printing import fonts, qrmatrix

Renderer = Callable[[dict[str, Any]], bytes]

# kind -> (module in ``printing``, its function)
RENDERERS: dict[str, tuple[str, str]] = {
    "kartu_keluarga": ("kartu_keluarga", "render"),
    "akta_kelahiran": ("akta", "render_birth"),
    "akta_kematian": ("akta", "render_death"),
    "surat_pindah": ("pindah", "render"),
    "ktp_el": ("cards", "render_ktp"),
    "kia": ("cards", "render_kia"),
    "akta_perkawinan": ("akta", "render_marriage"),
    "akta_perceraian": ("akta", "render_divorce"),
    "akta_pengakuan_anak": ("akta", "render_recognition"),
    "akta_pengesahan_anak": ("akta", "render_legitimation"),
    "surat_pindah_datang": ("pindah", "render_arrival"),
    "biodata": ("biodata", "render"),
    "receipt": ("receipt", "render_receipt"),
    "test_page": ("receipt", "render_test_page"),
}
QUEUE_FOR_MEDIUM = {"a4": "adm-a4", "card": "adm-card"}


class UnknownDocumentKind(ValueError):
    pass


class RendererUnavailable(RuntimeError):
    """Something every document needs is missing on this machine (a library, a font):
    no document can be printed, so none may be reserved."""


def check() -> None:
    """What every render needs is installed: libqrencode, reportlab, the fonts.  Cheap
    (nothing is imported), so it runs before the kiosk first serves."""
    try:
        qrmatrix.check()
    except qrmatrix.QrError as exc:
        raise RendererUnavailable(str(exc)) from None
    if importlib.util.find_spec("reportlab") is None:
        raise RendererUnavailable("reportlab is not installed")
    gone = fonts.missing()
    if gone:
        raise RendererUnavailable(
            f"fonts {', '.join(gone)} not found in {', '.join(map(str, fonts.FONT_DIRS))}: "
            "install the Debian package fonts-dejavu-core"
        )


def renderer(kind: str) -> Renderer:
    try:
        module, function = RENDERERS[kind]
    except KeyError:
        raise UnknownDocumentKind(f"no renderer for document kind {kind!r}") from None
    found: Renderer = getattr(importlib.import_module(f"printing.{module}"), function)
    return found


def warm() -> None:
    """Import every renderer now (a worker thread after start-up): the first citizen's
    print does not wait for reportlab.  Raises :class:`RendererUnavailable` for anything
    missing; a kiosk reserves nothing until this has passed."""
    check()
    try:
        for kind in RENDERERS:
            renderer(kind)
        fonts.register()
    except (ImportError, OSError, fonts.FontMissing) as exc:
        raise RendererUnavailable(f"document renderers: {exc}") from None


_warmed = False


def ready() -> None:
    """:func:`warm` once (cheap afterwards): what a print job calls before the document is
    reserved, so a missing dependency refuses the job before the server holds anything."""
    global _warmed
    if not _warmed:
        warm()
        _warmed = True


def render(payload: dict[str, Any]) -> bytes:
    return renderer(str(payload.get("kind")))(payload)
