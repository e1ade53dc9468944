"""Drawing helpers shared by the document renderers: canvases, fitted text, the QR block.

Every renderer is a pure function (payload in, PDF bytes out).  Text that might be long
(names, addresses) goes through :func:`fit` or :func:`wrap_fit`, which shrink it down to a
floor and then wrap it, so nothing runs off a form.
"""

from __future__ import annotations

import datetime as dt
import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfdoc
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from printing import fonts, qrmatrix

MONTHS = (
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
)
DAY_WORDS = (
    "",
    "satu",
    "dua",
    "tiga",
    "empat",
    "lima",
    "enam",
    "tujuh",
    "delapan",
    "sembilan",
    "sepuluh",
    "sebelas",
)

TTE_NOTE = (
    "Dokumen ini telah ditandatangani secara elektronik menggunakan sertifikat elektronik. "
    "Pindai kode QR untuk memeriksa keasliannya."
)


class DocumentDataError(ValueError):
    """The payload lacks a field the document needs (the message names the field)."""


def need(obj: dict[str, Any], key: str, where: str) -> Any:
    try:
        value = obj[key]
    except (KeyError, TypeError):
        raise DocumentDataError(f"{where}.{key} is missing") from None
    if value is None or value == "":
        raise DocumentDataError(f"{where}.{key} is empty")
    return value


def opt(obj: dict[str, Any], key: str, default: str = "-") -> str:
    value = obj.get(key)
    return str(value) if value not in (None, "") else default


def date_long(iso: str) -> str:
    d = dt.date.fromisoformat(iso)
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def date_short(iso: str) -> str:
    d = dt.date.fromisoformat(iso)
    return f"{d.day:02d}-{d.month:02d}-{d.year}"


def _number_words(n: int) -> str:
    """Indonesian words for 0..9999 (dates are written out on civil-registry extracts)."""
    if n < 12:
        return DAY_WORDS[n] if n else "nol"
    if n < 20:
        return f"{DAY_WORDS[n - 10]} belas"
    if n < 100:
        tens, rest = divmod(n, 10)
        return f"{DAY_WORDS[tens]} puluh" + (f" {DAY_WORDS[rest]}" if rest else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        head = "seratus" if hundreds == 1 else f"{DAY_WORDS[hundreds]} ratus"
        return head + (f" {_number_words(rest)}" if rest else "")
    thousands, rest = divmod(n, 1000)
    head = "seribu" if thousands == 1 else f"{_number_words(thousands)} ribu"
    return head + (f" {_number_words(rest)}" if rest else "")


def date_words(iso: str) -> str:
    """ "12 Maret 1980" as "dua belas Maret tahun seribu sembilan ratus delapan puluh"."""
    d = dt.date.fromisoformat(iso)
    return f"{_number_words(d.day)} {MONTHS[d.month - 1]} tahun {_number_words(d.year)}"


# Flate at level 1 instead of zlib's default 6 for every stream reportlab writes (pages,
# font subsets): a third less time compressing, about 1.3 ms of a 7-8 ms render, for files
# 4 % larger (50 KB instead of 48 for a KK), which nobody waits for on the printer's LAN.
# reportlab has no setting for the level; its one Flate filter object is told here.
FLATE_LEVEL = 1


def _flate(_self: object, text: str | bytes) -> bytes:
    return zlib.compress(text.encode("utf8") if isinstance(text, str) else text, FLATE_LEVEL)


pdfdoc.PDFStreamFilterZCompress.encode = _flate


@contextmanager
def pdf_canvas(
    size: tuple[float, float], title: str, subject: str
) -> Iterator[tuple[Canvas, io.BytesIO]]:
    """A deterministic canvas (no timestamps or random ids in the file) with fonts ready."""
    fonts.register()
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=size, invariant=True, pageCompression=1)
    c.setTitle(title)
    c.setAuthor("Dinas Kependudukan dan Pencatatan Sipil")
    c.setSubject(subject)
    c.setCreator("ADM kiosk")
    yield c, buf


def fit(
    c: Canvas,
    text: str,
    x: float,
    y: float,
    max_width: float,
    *,
    font: str = fonts.REGULAR,
    size: float = 9,
    min_size: float = 6,
    align: str = "left",
) -> float:
    """Draw one line, shrinking the font (down to ``min_size``) to fit ``max_width``, and
    cutting with an ellipsis only if even that is too wide.  Returns the size used."""
    while size > min_size and stringWidth(text, font, size) > max_width:
        size -= 0.25
    if stringWidth(text, font, size) > max_width:
        while text and stringWidth(text + "…", font, size) > max_width:
            text = text[:-1]
        text += "…"
    c.setFont(font, size)
    if align == "center":
        c.drawCentredString(x, y, text)
    elif align == "right":
        c.drawRightString(x, y, text)
    else:
        c.drawString(x, y, text)
    return size


def wrap_fit(
    c: Canvas,
    text: str,
    x: float,
    y: float,
    max_width: float,
    max_lines: int,
    *,
    font: str = fonts.REGULAR,
    size: float = 9,
    min_size: float = 6,
    leading: float = 1.25,
) -> float:
    """Draw ``text`` wrapped to ``max_width`` in at most ``max_lines`` lines, shrinking the
    font first.  Returns the y below the last line."""
    lines = simpleSplit(text, font, size, max_width)
    while len(lines) > max_lines and size > min_size:
        size -= 0.25
        lines = simpleSplit(text, font, size, max_width)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip() + "…"
    c.setFont(font, size)
    for line in lines:
        c.drawString(x, y, line)
        y -= size * leading
    return y


def qr(c: Canvas, text: str, x: float, y: float, size: float, border: int = 2) -> None:
    """Draw a QR code (error correction M) with its quiet zone as a ``size`` square.

    The matrix comes from libqrencode (:mod:`printing.qrmatrix`): C, and the interpreter
    lock released while it runs, where reportlab's pure-Python encoder held it for 14-30 ms
    per code.  It is drawn as one filled path of horizontal runs, written as PDF operators
    in module units under a scaling transform: whole numbers, where reportlab's path
    object formatted four floats per run (about 2 ms a document).  A path, not an image:
    rasterisers smooth a scaled bitmap, and at 100 dpi a smoothed code no longer reads."""
    width, runs = qrmatrix.runs(text)
    box = size / (width + 2 * border)
    ops = [f"{col + border} {row + border} {n} 1 re" for row, col, n in runs]
    c.saveState()
    c.setFillColor(colors.black)
    c.translate(x, y + size)
    c.scale(box, -box)  # module units, rows downwards as the matrix has them
    c.addLiteral("\n".join(ops) + "\nf")
    c.restoreState()


def section(c: Canvas, title: str, rows: list[tuple[str, str]], y: float, width: float) -> float:
    """A grey title bar across the page and label/value rows under it (the registry's
    forms: pindah, biodata); returns the y below it."""
    c.setFillColor(colors.Color(0.9, 0.9, 0.9))
    c.rect(20 * mm, y - 1.8 * mm, width - 40 * mm, 6 * mm, stroke=0, fill=1)
    c.setFillColor(colors.black)
    fit(c, title, 22 * mm, y, width - 44 * mm, font=fonts.BOLD, size=9.5)
    y -= 7 * mm
    for label, value in rows:
        fit(c, label, 24 * mm, y, 45 * mm, size=9)
        fit(c, f": {value}", 72 * mm, y, width - 92 * mm, size=9)
        y -= 4.3 * mm
    return y - 2 * mm


def seal_host(verification: str) -> str | None:
    """The host a seal link sends a phone to (printed under the code, so that a reader
    without a camera can type it, and anyone can see where the QR leads), or None for
    an older code that is not a link."""
    head, sep, rest = verification.partition("://")
    if not sep or head.lower() not in ("https", "http"):
        return None
    return rest.split("/", 1)[0].lower() or None


def seal_caption(c: Canvas, verification: str, x: float, y: float, width: float) -> None:
    """``Cek keaslian: <host>`` centred at ``x`` (nothing for a code that is no link)."""
    host = seal_host(verification)
    if host:
        fit(c, f"Cek keaslian: {host}", x, y, width, size=6, min_size=4.5, align="center")


def qr_block(
    c: Canvas, payload: dict[str, Any], right: float, bottom: float, size: float = 30 * mm
) -> None:
    """The verification QR (bottom right) with the document number and the checking
    host under it.  30 mm: a seal link (QR version 7 with its quiet zone, 49 modules)
    prints at 0.61 mm a module, which a phone reads from arm's length."""
    verification = need(payload, "verification", "payload")
    number = need(payload, "number", "payload")
    qr(c, verification, right - size, bottom + 4 * mm, size)
    fit(c, number, right - size / 2, bottom, size + 24 * mm, size=7, align="center")
    seal_caption(c, verification, right - size / 2, bottom - 3 * mm, size + 24 * mm)


def signature_block(
    c: Canvas, payload: dict[str, Any], right: float, top: float, place: str | None = None
) -> None:
    """Issue place and date, the official's title, name and NIP, right-aligned at ``right``."""
    official = need(payload, "official", "payload")
    issued = need(payload, "issued_at", "payload")
    where = f"{place}, " if place else ""
    fit(c, f"{where}{date_long(issued)}", right, top, 85 * mm, size=9, align="right")
    fit(c, opt(official, "title", ""), right, top - 5 * mm, 85 * mm, size=8.5, align="right")
    fit(
        c,
        opt(official, "name", ""),
        right,
        top - 22 * mm,
        85 * mm,
        font=fonts.BOLD,
        size=9,
        align="right",
    )
    fit(c, f"NIP. {opt(official, 'nip')}", right, top - 26.5 * mm, 85 * mm, size=8.5, align="right")


def tte_note(c: Canvas, x: float, y: float, width: float) -> None:
    wrap_fit(c, TTE_NOTE, x, y, width, 2, size=6.5, min_size=5.5)


class FittedTable:
    """A gridded table drawn straight onto the canvas; cell text wraps to its column.

    Platypus tables build a Paragraph per cell; for a form whose layout is fixed this is
    needless work, and measuring at several font sizes multiplies it."""

    def __init__(
        self,
        header: list[str],
        rows: list[list[str]],
        widths: list[float],
        size: float,
        pad: float = 2.0,
    ) -> None:
        self.widths = widths
        self.size = size
        self.pad = pad
        self.leading = size * 1.18
        self.header = [self._lines(h, w, fonts.BOLD) for h, w in zip(header, widths, strict=True)]
        self.rows = [
            [self._lines(str(v), w, fonts.REGULAR) for v, w in zip(row, widths, strict=True)]
            for row in rows
        ]
        self.heights = [self._height(r) for r in [self.header, *self.rows]]
        self.height = sum(self.heights)

    def _lines(self, text: str, width: float, font: str) -> list[str]:
        return simpleSplit(text, font, self.size, width - 2 * self.pad) or [""]

    def _height(self, row: list[list[str]]) -> float:
        return max(len(cell) for cell in row) * self.leading + 1.6  # 0.8 pt above and below

    def draw(self, c: Canvas, x: float, top: float) -> None:
        total_w = sum(self.widths)
        c.saveState()
        c.setFillColor(colors.Color(0.88, 0.88, 0.88))
        c.rect(x, top - self.heights[0], total_w, self.heights[0], stroke=0, fill=1)
        c.setFillColor(colors.black)
        c.setLineWidth(0.5)
        y = top
        for i, (row, h) in enumerate(zip([self.header, *self.rows], self.heights, strict=True)):
            font = fonts.BOLD if i == 0 else fonts.REGULAR
            c.setFont(font, self.size)
            cx = x
            for cell, w in zip(row, self.widths, strict=True):
                block = len(cell) * self.leading
                ty = y - (h - block) / 2 - self.size * 0.95  # vertically centred
                for line in cell:
                    if i == 0:
                        c.drawCentredString(cx + w / 2, ty, line)
                    else:
                        c.drawString(cx + self.pad, ty, line)
                    ty -= self.leading
                cx += w
            c.line(x, y, x + total_w, y)
            y -= h
        c.line(x, y, x + total_w, y)
        cx = x
        for w in [0.0, *self.widths]:
            cx += w
            c.line(cx, top, cx, y)
        c.restoreState()


def fitted_table(
    header: list[str],
    rows: list[list[str]],
    widths: list[float],
    max_height: float,
    *,
    size: float = 7.5,
    min_size: float = 4.5,
) -> FittedTable:
    """A table whose text shrinks (then wraps) until it fits ``max_height``.
    Raises :class:`DocumentDataError` when even the smallest legible size does not fit."""
    while True:
        table = FittedTable(header, rows, widths, size)
        if table.height <= max_height:
            return table
        if size <= min_size:
            raise DocumentDataError(f"{len(rows)} rows do not fit the page even at {min_size} pt")
        size = max(min_size, size - 0.5)
