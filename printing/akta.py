"""Kutipan Akta Kelahiran and Kutipan Akta Kematian (A4 portrait), pure renderers.

Birth certificates follow the four legal models of the civil registry: a child of a
married couple, of a mother only, of a father (by recognition or legitimation), and of
unknown parentage.  The model decides the sentence that names the parents.

Payload ``data`` fields — birth: ``registration_number, name, nik, sex, birth_place,
birth_date, birth_time, birth_order, model, father, father_citizenship, mother,
mother_citizenship, issue_place``; death: ``registration_number, name, nik, sex,
birth_place, birth_date, death_place, death_date, death_time, cause, issue_place``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from printing import fonts
from printing.layout import (
    DocumentDataError,
    date_long,
    date_words,
    fit,
    need,
    opt,
    pdf_canvas,
    qr_block,
    signature_block,
    tte_note,
    wrap_fit,
)

MODELS = ("kedua_orang_tua", "ibu", "ayah", "tidak_diketahui")
ORDINALS = (
    "",
    "pertama",
    "kedua",
    "ketiga",
    "keempat",
    "kelima",
    "keenam",
    "ketujuh",
    "kedelapan",
    "kesembilan",
    "kesepuluh",
)


def _header(c: Canvas, width: float, height: float, title: str, number: str) -> float:
    top = height - 22 * mm
    for i, line in enumerate(("REPUBLIK INDONESIA", "PENCATATAN SIPIL")):
        fit(
            c,
            line,
            width / 2,
            top - i * 6 * mm,
            width,
            font=fonts.SERIF_BOLD,
            size=13,
            align="center",
        )
    c.setLineWidth(1.2)
    c.line(30 * mm, top - 10 * mm, width - 30 * mm, top - 10 * mm)
    fit(c, "WARGA NEGARA: INDONESIA", 30 * mm, top - 17 * mm, 80 * mm, font=fonts.SERIF, size=9)
    fit(
        c,
        title,
        width / 2,
        top - 30 * mm,
        width - 40 * mm,
        font=fonts.SERIF_BOLD,
        size=16,
        align="center",
    )
    fit(
        c,
        f"No. {number}",
        width / 2,
        top - 37 * mm,
        width - 40 * mm,
        font=fonts.SERIF,
        size=11,
        align="center",
    )
    return top - 52 * mm


def _name(c: Canvas, name: str, width: float, y: float) -> float:
    fit(
        c,
        name.upper(),
        width / 2,
        y,
        width - 50 * mm,
        font=fonts.SERIF_BOLD,
        size=16,
        min_size=9,
        align="center",
    )
    return y - 12 * mm


def _ordinal(n: int) -> str:
    return ORDINALS[n] if 0 < n < len(ORDINALS) else f"ke-{n}"


def _parents_sentence(d: dict[str, Any]) -> str:
    model = need(d, "model", "data")
    order = _ordinal(int(need(d, "birth_order", "data")))
    if model == "kedua_orang_tua":
        return (
            f"anak {order} dari ayah {need(d, 'father', 'data')} "
            f"dan ibu {need(d, 'mother', 'data')}"
        )
    if model == "ibu":
        return f"anak {order} dari seorang ibu bernama {need(d, 'mother', 'data')}"
    if model == "ayah":
        return f"anak {order} dari ayah {need(d, 'father', 'data')}"
    if model == "tidak_diketahui":
        return "anak yang tidak diketahui asal-usul atau keberadaan orang tuanya"
    raise DocumentDataError(f"data.model must be one of {', '.join(MODELS)}, not {model!r}")


def _body(c: Canvas, text: str, y: float, width: float, max_lines: int = 4) -> float:
    return wrap_fit(
        c,
        text,
        30 * mm,
        y,
        width - 60 * mm,
        max_lines,
        font=fonts.SERIF,
        size=11.5,
        min_size=8,
        leading=1.5,
    )


def _footer(c: Canvas, payload: dict[str, Any], d: dict[str, Any], width: float) -> None:
    place = need(d, "issue_place", "data")
    fit(
        c,
        f"Kutipan ini dikeluarkan di {place}",
        30 * mm,
        95 * mm,
        width - 60 * mm,
        font=fonts.SERIF,
        size=10,
    )
    signature_block(c, payload, width - 62 * mm, 80 * mm, place=place)
    qr_block(c, payload, width - 22 * mm, 20 * mm)
    tte_note(c, 22 * mm, 15 * mm, width - 80 * mm)


def _kutipan(
    payload: dict[str, Any],
    title: str,
    event: str,
    verb: str,
    details: Callable[[Canvas, dict[str, Any], float, float], None],
) -> bytes:
    """The frame both extracts share: header, "Berdasarkan Akta … Nomor …, bahwa di
    {place} pada tanggal {date in words} … {verb}:", the name, ``details``, the date in
    figures, issue place, official, QR."""
    d = need(payload, "data", "payload")
    width, height = A4
    number = need(d, "registration_number", "data")
    with pdf_canvas(A4, title, need(payload, "number", "payload")) as (c, buf):
        y = _header(c, width, height, title.upper(), number)
        when = need(d, f"{event}_date", "data")
        time_part = f" pukul {d[event + '_time']}" if d.get(f"{event}_time") else ""
        y = _body(
            c,
            f"Berdasarkan {title.removeprefix('Kutipan ')} Nomor {number}, bahwa di "
            f"{need(d, event + '_place', 'data')} pada tanggal {date_words(when)}"
            f"{time_part} {verb}:",
            y,
            width,
        )
        y = _name(c, need(d, "name", "data"), width, y - 6 * mm)
        details(c, d, y, width)
        fit(
            c,
            f"({date_long(when)})",
            width / 2,
            120 * mm,
            width - 60 * mm,
            font=fonts.SERIF,
            size=9,
            align="center",
        )
        _footer(c, payload, d, width)
        c.showPage()
        c.save()
        return buf.getvalue()


def _birth_details(c: Canvas, d: dict[str, Any], y: float, width: float) -> None:
    fit(
        c,
        f"NIK {need(d, 'nik', 'data')} · {opt(d, 'sex')}",
        width / 2,
        y + 5 * mm,
        width - 60 * mm,
        font=fonts.SERIF,
        size=10,
        align="center",
    )
    y = _body(c, _parents_sentence(d) + ".", y - 4 * mm, width)
    if d.get("model") in ("kedua_orang_tua", "ayah"):
        y = _body(
            c, f"Kewarganegaraan ayah: {opt(d, 'father_citizenship', 'WNI')}", y - 2 * mm, width, 1
        )
    if d.get("model") in ("kedua_orang_tua", "ibu"):
        _body(c, f"Kewarganegaraan ibu: {opt(d, 'mother_citizenship', 'WNI')}", y, width, 1)


def _death_details(c: Canvas, d: dict[str, Any], y: float, width: float) -> None:
    born = need(d, "birth_date", "data")
    for label, value in (
        ("NIK", need(d, "nik", "data")),
        ("Jenis kelamin", opt(d, "sex")),
        ("Tempat/tanggal lahir", f"{opt(d, 'birth_place')}, {date_long(born)}"),
        ("Sebab kematian", opt(d, "cause")),
    ):
        fit(c, label, 40 * mm, y, 45 * mm, font=fonts.SERIF, size=10.5)
        fit(c, f": {value}", 88 * mm, y, width - 118 * mm, font=fonts.SERIF, size=10.5)
        y -= 7 * mm


def render_birth(payload: dict[str, Any]) -> bytes:
    return _kutipan(payload, "Kutipan Akta Kelahiran", "birth", "telah lahir", _birth_details)


def render_death(payload: dict[str, Any]) -> bytes:
    return _kutipan(
        payload, "Kutipan Akta Kematian", "death", "telah meninggal dunia", _death_details
    )
