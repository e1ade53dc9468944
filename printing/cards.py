"""KTP-el and KIA on CR80 cards (85.60 × 53.98 mm), front and back, pure renderers.

The card printer prints page 1 on the front and page 2 on the back of a blank.  Photo and
signature arrive hex-encoded in the payload (``data.photo``, ``data.signature``) and are
embedded from memory: nothing is written to disk.

KTP-el ``data``: ``nik, name, birth_place, birth_date, sex, blood_type, street, rt, rw,
kelurahan, kecamatan, kabupaten, province, religion, marital_status, occupation,
citizenship, valid_until, issue_place, photo, signature``.
KIA ``data``: ``nik, name, birth_place, birth_date, sex, religion, citizenship,
kk_number, head_name, birth_certificate, street, kabupaten, province, valid_until,
issue_place, photo`` (a photo only from age five).
"""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from printing import fonts
from printing.layout import (
    DocumentDataError,
    date_long,
    date_short,
    fit,
    need,
    opt,
    pdf_canvas,
    qr,
    seal_caption,
    wrap_fit,
)

CR80 = (85.60 * mm, 53.98 * mm)
KTP_BLUE = colors.Color(0.56, 0.76, 0.93)
KIA_GREEN = colors.Color(0.70, 0.88, 0.74)


def _image(hex_data: str, what: str) -> ImageReader | None:
    if not hex_data:
        return None
    try:
        return ImageReader(io.BytesIO(bytes.fromhex(hex_data)))
    except (ValueError, OSError):
        raise DocumentDataError(f"data.{what} is not a readable image") from None


def _background(c: Canvas, tint: colors.Color) -> None:
    w, h = CR80
    c.setFillColor(tint)
    c.rect(0, 0, w, h, stroke=0, fill=1)
    # A fine guilloche-like band: real cards carry security printing, ours marks the stock.
    c.setStrokeColor(colors.Color(1, 1, 1, alpha=0.5))
    c.setLineWidth(0.3)
    for i in range(0, 40):
        c.line(i * 2.4 * mm, 0, i * 2.4 * mm + 18 * mm, h)
    c.setFillColor(colors.black)


def _rows(
    c: Canvas,
    rows: list[tuple[str, str]],
    x: float,
    y: float,
    value_width: float,
    step: float = 2.75 * mm,
    size: float = 5.6,
) -> float:
    for label, value in rows:
        fit(c, label, x, y, 21 * mm, size=size, min_size=4.5)
        fit(c, f": {value}", x + 21.5 * mm, y, value_width, size=size, min_size=4.2)
        y -= step
    return y


def _photo(c: Canvas, image: ImageReader | None, x: float, y: float) -> None:
    w, h = 19 * mm, 25 * mm
    if image is not None:
        c.drawImage(image, x, y, w, h, preserveAspectRatio=True, anchor="c")
    else:
        c.setStrokeColor(colors.grey)
        c.rect(x, y, w, h, stroke=1, fill=0)
        fit(c, "tanpa foto", x + w / 2, y + h / 2, w - 2 * mm, size=5, align="center")
    c.setStrokeColor(colors.black)


def _photo_block(
    c: Canvas, photo: ImageReader | None, payload: dict[str, Any], d: dict[str, Any], place_y: float
) -> None:
    """The photo at the right, with the issue place and date under it."""
    w, h = CR80
    _photo(c, photo, w - 22 * mm, h - 37 * mm)
    fit(c, opt(d, "issue_place").upper(), w - 12.5 * mm, place_y, 22 * mm, size=5, align="center")
    fit(
        c,
        date_short(need(payload, "issued_at", "payload")),
        w - 12.5 * mm,
        place_y - 2.5 * mm,
        22 * mm,
        size=5,
        align="center",
    )


def _back(c: Canvas, payload: dict[str, Any], tint: colors.Color, lines: list[str]) -> None:
    """The card's back: what the card is, and the seal.  The QR takes 30 mm of the 54 mm
    height so that a seal link (version 7) prints at 0.61 mm a module, the size a phone
    reads; the text wraps in the width left of it."""
    w, h = CR80
    _background(c, tint)
    size = 30 * mm
    verification = need(payload, "verification", "payload")
    c.saveState()
    c.setFillColor(colors.white)  # the quiet zone: no stripes of the background in it
    c.rect(w - size - 4 * mm, 8 * mm, size, size, stroke=0, fill=1)
    c.restoreState()
    qr(c, verification, w - size - 4 * mm, 8 * mm, size)
    seal_caption(c, verification, w - size / 2 - 4 * mm, 5 * mm, size + 6 * mm)
    y = h - 8 * mm
    text_width = w - size - 13 * mm
    fit(c, lines[0], 5 * mm, y, text_width, font=fonts.BOLD, size=6, min_size=4.5)
    y -= 4 * mm
    for line in lines[1:]:
        y = wrap_fit(c, line, 5 * mm, y, text_width, 3, size=5.6, min_size=4.5) - 1.2 * mm
    fit(c, need(payload, "number", "payload"), 5 * mm, 4 * mm, text_width, size=4.8)


def render_ktp(payload: dict[str, Any]) -> bytes:
    d = need(payload, "data", "payload")
    w, h = CR80
    photo = _image(opt(d, "photo", ""), "photo")
    signature = _image(opt(d, "signature", ""), "signature")
    with pdf_canvas(CR80, "KTP-el", need(payload, "number", "payload")) as (c, buf):
        _background(c, KTP_BLUE)
        fit(
            c,
            "PROVINSI " + opt(d, "province").upper(),
            w / 2,
            h - 4.2 * mm,
            w - 6 * mm,
            font=fonts.BOLD,
            size=7,
            align="center",
        )
        fit(
            c,
            opt(d, "kabupaten").upper(),
            w / 2,
            h - 7.4 * mm,
            w - 6 * mm,
            font=fonts.BOLD,
            size=7,
            align="center",
        )
        fit(c, "NIK", 3 * mm, h - 11.5 * mm, 8 * mm, font=fonts.BOLD, size=7.5)
        fit(
            c,
            f": {need(d, 'nik', 'data')}",
            10 * mm,
            h - 11.5 * mm,
            45 * mm,
            font=fonts.BOLD,
            size=7.5,
        )
        born = need(d, "birth_date", "data")
        rows = [
            ("Nama", need(d, "name", "data").upper()),
            ("Tempat/Tgl Lahir", f"{opt(d, 'birth_place').upper()}, {date_short(born)}"),
            ("Jenis Kelamin", f"{opt(d, 'sex')}   Gol. Darah: {opt(d, 'blood_type')}"),
            ("Alamat", opt(d, "street").upper()),
            ("   RT/RW", f"{opt(d, 'rt')}/{opt(d, 'rw')}"),
            ("   Kel/Desa", opt(d, "kelurahan").upper()),
            ("   Kecamatan", opt(d, "kecamatan").upper()),
            ("Agama", opt(d, "religion")),
            ("Status Perkawinan", opt(d, "marital_status")),
            ("Pekerjaan", opt(d, "occupation")),
            ("Kewarganegaraan", opt(d, "citizenship")),
            ("Berlaku Hingga", opt(d, "valid_until")),
        ]
        _rows(c, rows, 3 * mm, h - 15 * mm, 36 * mm)
        _photo_block(c, photo, payload, d, h - 39.5 * mm)
        if signature is not None:
            c.drawImage(
                signature,
                w - 21 * mm,
                2.5 * mm,
                17 * mm,
                6 * mm,
                mask=[250, 255] * 3,
                preserveAspectRatio=True,
            )
        c.showPage()
        _back(
            c,
            payload,
            KTP_BLUE,
            [
                "KARTU TANDA PENDUDUK ELEKTRONIK",
                "Kartu ini milik Pemerintah Republik Indonesia.",
                "Jika menemukan kartu ini, harap dikembalikan ke "
                "Dinas Kependudukan dan Pencatatan Sipil terdekat.",
            ],
        )
        c.showPage()
        c.save()
        return buf.getvalue()


def render_kia(payload: dict[str, Any]) -> bytes:
    d = need(payload, "data", "payload")
    w, h = CR80
    photo = _image(opt(d, "photo", ""), "photo")
    with pdf_canvas(CR80, "Kartu Identitas Anak", need(payload, "number", "payload")) as (c, buf):
        _background(c, KIA_GREEN)
        fit(
            c,
            "KARTU IDENTITAS ANAK",
            w / 2,
            h - 4.5 * mm,
            w - 6 * mm,
            font=fonts.BOLD,
            size=8,
            align="center",
        )
        fit(
            c,
            opt(d, "kabupaten").upper() + " · " + opt(d, "province").upper(),
            w / 2,
            h - 7.8 * mm,
            w - 6 * mm,
            size=5.5,
            align="center",
        )
        born = need(d, "birth_date", "data")
        rows = [
            ("NIK", need(d, "nik", "data")),
            ("Nama", need(d, "name", "data").upper()),
            ("Tempat/Tgl Lahir", f"{opt(d, 'birth_place').upper()}, {date_short(born)}"),
            ("Jenis Kelamin", opt(d, "sex")),
            ("Agama", opt(d, "religion")),
            ("Kewarganegaraan", opt(d, "citizenship")),
            ("No. KK", opt(d, "kk_number")),
            ("Kepala Keluarga", opt(d, "head_name").upper()),
            ("No. Akta Lahir", opt(d, "birth_certificate")),
            ("Alamat", opt(d, "street").upper()),
            ("Berlaku Hingga", date_long(d["valid_until"]) if d.get("valid_until") else "-"),
        ]
        _rows(c, rows, 3 * mm, h - 12.5 * mm, 36 * mm, step=3.1 * mm, size=5.8)
        _photo_block(c, photo, payload, d, h - 40 * mm)
        c.showPage()
        _back(
            c,
            payload,
            KIA_GREEN,
            [
                "KARTU IDENTITAS ANAK",
                "Berlaku sampai anak berusia 17 tahun kurang satu hari.",
                "Jika menemukan kartu ini, harap dikembalikan ke "
                "Dinas Kependudukan dan Pencatatan Sipil terdekat.",
            ],
        )
        c.showPage()
        c.save()
        return buf.getvalue()
