"""The Kutipan Akta of the civil registry (A4 portrait), pure renderers: birth, death,
marriage, divorce, recognition and legitimation of a child.

Birth certificates follow the four legal models of the civil registry: a child of a
married couple, of a mother only, of a father (by recognition or legitimation), and of
unknown parentage.  The model decides the sentence that names the parents.

Payload ``data`` fields — birth: ``registration_number, name, nik, sex, birth_place,
birth_date, birth_time, birth_order, model, father, father_citizenship, mother,
mother_citizenship, issue_place``; death: ``registration_number, name, nik, sex,
birth_place, birth_date, death_place, death_date, death_time, cause, issue_place``;
marriage: ``registration_number, husband{name, nik, birth_place, birth_date,
citizenship}, wife{...}, marriage_place, marriage_date, religion, religious_leader,
issue_place``; divorce: ``registration_number, husband, wife, divorce_place,
divorce_date, court, court_decision, court_decision_date, marriage_certificate,
issue_place``; recognition: ``registration_number, name, nik, birth_certificate,
father{name, nik}, mother{name, nik}, recognition_place, recognition_date,
issue_place``; legitimation: the same with ``legitimation_place, legitimation_date`` and
``marriage_certificate``.  Sources and what is not known of the real forms:
docs/documents.md.
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
    details: Callable[[Canvas, dict[str, Any], float, float], float],
    *,
    named: bool = True,
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
        if named:  # one person the act is about; a couple's act names both in ``details``
            y = _name(c, need(d, "name", "data"), width, y - 6 * mm)
        below = details(c, d, y, width)
        fit(
            c,
            f"({date_long(when)})",
            width / 2,
            min(120 * mm, below - 2 * mm),  # a couple's act runs longer
            width - 60 * mm,
            font=fonts.SERIF,
            size=9,
            align="center",
        )
        _footer(c, payload, d, width)
        c.showPage()
        c.save()
        return buf.getvalue()


def _birth_details(c: Canvas, d: dict[str, Any], y: float, width: float) -> float:
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
        y = _body(c, f"Kewarganegaraan ibu: {opt(d, 'mother_citizenship', 'WNI')}", y, width, 1)
    return y


def _death_details(c: Canvas, d: dict[str, Any], y: float, width: float) -> float:
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
    return y


def render_birth(payload: dict[str, Any]) -> bytes:
    return _kutipan(payload, "Kutipan Akta Kelahiran", "birth", "telah lahir", _birth_details)


def render_death(payload: dict[str, Any]) -> bytes:
    return _kutipan(
        payload, "Kutipan Akta Kematian", "death", "telah meninggal dunia", _death_details
    )


def _rows(c: Canvas, rows: list[tuple[str, str]], y: float, width: float) -> float:
    for label, value in rows:
        fit(c, label, 40 * mm, y, 45 * mm, font=fonts.SERIF, size=10)
        fit(c, f": {value}", 88 * mm, y, width - 118 * mm, font=fonts.SERIF, size=10)
        y -= 5.6 * mm
    return y


def _person(d: dict[str, Any], key: str) -> dict[str, Any]:
    person = need(d, key, "data")
    if not isinstance(person, dict):
        raise DocumentDataError(f"data.{key} must be an object")
    return person


def _couple(c: Canvas, d: dict[str, Any], y: float, width: float) -> float:
    """Husband and wife, each by name (large) with NIK and birth."""
    for i, key in enumerate(("husband", "wife")):
        p = _person(d, key)
        if i:
            fit(c, "dan", width / 2, y, 40 * mm, font=fonts.SERIF, size=11, align="center")
            y -= 7 * mm
        y = _name(c, need(p, "name", f"data.{key}"), width, y) + 4 * mm
        born = need(p, "birth_date", f"data.{key}")
        y = _rows(
            c,
            [
                ("NIK", need(p, "nik", f"data.{key}")),
                ("Tempat/tanggal lahir", f"{opt(p, 'birth_place')}, {date_long(born)}"),
                ("Kewarganegaraan", opt(p, "citizenship", "WNI")),
            ],
            y - 2 * mm,
            width,
        )
        y -= 3 * mm
    return y


def _marriage_details(c: Canvas, d: dict[str, Any], y: float, width: float) -> float:
    y = _couple(c, d, y - 4 * mm, width)
    return _rows(
        c,
        [
            ("Agama/kepercayaan", opt(d, "religion")),
            ("Di hadapan pemuka agama", opt(d, "religious_leader")),
        ],
        y,
        width,
    )


def _divorce_details(c: Canvas, d: dict[str, Any], y: float, width: float) -> float:
    y = _couple(c, d, y - 4 * mm, width)
    decided = need(d, "court_decision_date", "data")
    return _rows(
        c,
        [
            ("Akta perkawinan", opt(d, "marriage_certificate")),
            ("Pengadilan", opt(d, "court")),
            ("Putusan nomor", need(d, "court_decision", "data")),
            ("Tanggal putusan", date_long(decided)),
        ],
        y,
        width,
    )


def _child_and_parents(d: dict[str, Any], extra: list[tuple[str, str]]) -> list[tuple[str, str]]:
    father, mother = _person(d, "father"), _person(d, "mother")
    return [
        ("NIK anak", need(d, "nik", "data")),
        ("Akta kelahiran", need(d, "birth_certificate", "data")),
        ("Ayah", f"{need(father, 'name', 'data.father')} (NIK {opt(father, 'nik')})"),
        ("Ibu", f"{need(mother, 'name', 'data.mother')} (NIK {opt(mother, 'nik')})"),
        *extra,
    ]


def _recognition_details(c: Canvas, d: dict[str, Any], y: float, width: float) -> float:
    y = _body(
        c,
        "diakui sebagai anaknya oleh ayah tersebut di bawah, dengan persetujuan ibunya.",
        y - 2 * mm,
        width,
        2,
    )
    return _rows(c, _child_and_parents(d, []), y - 3 * mm, width)


def _legitimation_details(c: Canvas, d: dict[str, Any], y: float, width: float) -> float:
    y = _body(
        c,
        "disahkan sebagai anak dari perkawinan ayah dan ibu tersebut di bawah.",
        y - 2 * mm,
        width,
        2,
    )
    rows = _child_and_parents(d, [("Akta perkawinan", opt(d, "marriage_certificate"))])
    return _rows(c, rows, y - 3 * mm, width)


def render_marriage(payload: dict[str, Any]) -> bytes:
    return _kutipan(
        payload,
        "Kutipan Akta Perkawinan",
        "marriage",
        "telah dilangsungkan perkawinan antara",
        _marriage_details,
        named=False,
    )


def render_divorce(payload: dict[str, Any]) -> bytes:
    return _kutipan(
        payload,
        "Kutipan Akta Perceraian",
        "divorce",
        "telah dicatat perceraian antara",
        _divorce_details,
        named=False,
    )


def render_recognition(payload: dict[str, Any]) -> bytes:
    return _kutipan(
        payload,
        "Kutipan Akta Pengakuan Anak",
        "recognition",
        "seorang anak bernama",
        _recognition_details,
    )


def render_legitimation(payload: dict[str, Any]) -> bytes:
    return _kutipan(
        payload,
        "Kutipan Akta Pengesahan Anak",
        "legitimation",
        "seorang anak bernama",
        _legitimation_details,
    )
