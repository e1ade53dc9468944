"""The kiosk's icons: SVG drawn in one colour of the theme, rendered in memory.

The sources live here as text, not as files, so showing an icon reads nothing from disk
on the GUI thread; each (icon, colour, size) is rendered once and kept.
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QIcon, QImage, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

_STROKE = 'fill="none" stroke="{c}" stroke-width="4" stroke-linecap="round" stroke-linejoin="round"'

# viewBox 0 0 48 48; "{c}" is the colour.
SOURCES: dict[str, str] = {
    "contrast": (
        f'<circle cx="24" cy="24" r="18" {_STROKE}/>'
        '<path d="M24 6 A18 18 0 0 1 24 42 Z" fill="{c}"/>'
    ),
    "text": (
        f'<path d="M4 41 L16 9 L28 41 M8.5 30 H23.5" {_STROKE}/>'
        f'<path d="M30 41 L37 22 L44 41 M32.6 34 H41.4" {_STROKE}/>'
    ),
    "voice": (
        '<path d="M5 18 H13 L24 9 V39 L13 30 H5 Z" fill="{c}"/>'
        f'<path d="M30 18 Q34 24 30 30 M35 12 Q43 24 35 36" {_STROKE}/>'
    ),
    "reach": (
        f'<path d="M24 5 V31 M13 21 L24 32 L35 21" {_STROKE}/><path d="M8 42 H40" {_STROKE}/>'
    ),
    "tick": '<path d="M8 25 L19 36 L40 12" fill="none" stroke="{c}" stroke-width="6" '
    'stroke-linecap="round" stroke-linejoin="round"/>',
    "a4": (
        f'<path d="M11 4 H29 L37 12 V44 H11 Z" {_STROKE}/><path d="M29 4 V12 H37" {_STROKE}/>'
        f'<path d="M17 22 H31 M17 29 H31 M17 36 H26" {_STROKE}/>'
    ),
    "card": (
        f'<rect x="3" y="10" width="42" height="28" rx="4" {_STROKE}/>'
        '<rect x="9" y="17" width="10" height="8" rx="1.5" fill="{c}"/>'
        f'<path d="M25 19 H38 M25 26 H38 M9 31 H38" {_STROKE}/>'
    ),
    "finger": (
        f'<path d="M14 40 C10 34 10 26 12 20 C15 11 33 11 36 20 C38 26 37 32 35 38" {_STROKE}/>'
        f'<path d="M19 40 C16 33 16 26 18 22 C20 17 28 17 30 22 C32 27 31 33 29 40" {_STROKE}/>'
        f'<path d="M24 26 C25 31 25 36 23 42" {_STROKE}/>'
    ),
    "reader": (
        f'<rect x="6" y="20" width="36" height="22" rx="5" {_STROKE}/>'
        f'<path d="M17 31 Q24 25 31 31 M20 35 Q24 32 28 35" {_STROKE}/>'
        f'<path d="M15 12 Q24 5 33 12" {_STROKE}/>'
    ),
    "arrow_down": f'<path d="M24 6 V40 M12 28 L24 40 L36 28" {_STROKE}/>',
}


def svg(name: str, colour: str) -> bytes:
    body = SOURCES[name].replace("{c}", colour)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48" width="48" height="48">'
        f"{body}</svg>"
    ).encode()


@lru_cache(maxsize=256)
def pixmap(name: str, colour: str, size: int) -> QPixmap:
    """``name`` drawn in ``colour`` on a transparent square of ``size`` pixels."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    renderer = QSvgRenderer(QByteArray(svg(name, colour)))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return QPixmap.fromImage(image)


def icon(name: str, colour: str, size: int) -> QIcon:
    return QIcon(pixmap(name, colour, size))
