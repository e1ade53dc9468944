"""Embedded TrueType fonts that cover Indonesian text (DejaVu, from fonts-dejavu-core).

reportlab's built-in Helvetica is not embedded in the PDF; printers and viewers then
substitute glyphs.  Registering a TTF embeds the subset actually used.
"""

from __future__ import annotations

from pathlib import Path

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)
REGULAR = "DejaVuSans"
BOLD = "DejaVuSans-Bold"
SERIF = "DejaVuSerif"
SERIF_BOLD = "DejaVuSerif-Bold"


class FontMissing(RuntimeError):
    """A document font is not installed (install fonts-dejavu-core)."""


def missing() -> list[str]:
    """The document fonts not installed (a start-up check: reportlab is not imported)."""
    return [
        f"{name}.ttf"
        for name in (REGULAR, BOLD, SERIF, SERIF_BOLD)
        if not any((d / f"{name}.ttf").is_file() for d in FONT_DIRS)
    ]


def register() -> None:
    """Register the document fonts once per process."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if REGULAR in pdfmetrics.getRegisteredFontNames():
        return
    for name in (REGULAR, BOLD, SERIF, SERIF_BOLD):
        for d in FONT_DIRS:
            path = d / f"{name}.ttf"
            if path.exists():
                pdfmetrics.registerFont(TTFont(name, str(path)))
                break
        else:
            raise FontMissing(f"{name}.ttf not found in {', '.join(map(str, FONT_DIRS))}")
