"""Surat Keterangan Pindah WNI (A4 portrait), a pure renderer.

Payload ``data``: ``kk_number, head_name, origin{street, rt, rw, kelurahan, kecamatan,
kabupaten, province, postal_code}, destination{...same}, reason, move_type, move_date,
members[{nik, name, relationship}]``.
"""

from __future__ import annotations

from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from printing import fonts
from printing.layout import (
    DocumentDataError,
    date_long,
    fit,
    fitted_table,
    need,
    opt,
    pdf_canvas,
    qr_block,
    signature_block,
    tte_note,
)

MAX_MEMBERS = 12


def _address(a: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("Alamat", opt(a, "street")),
        ("RT/RW", f"{opt(a, 'rt')}/{opt(a, 'rw')}"),
        ("Desa/Kelurahan", opt(a, "kelurahan")),
        ("Kecamatan", opt(a, "kecamatan")),
        ("Kabupaten/Kota", opt(a, "kabupaten")),
        ("Provinsi", opt(a, "province")),
        ("Kode Pos", opt(a, "postal_code")),
    ]


def _section(c: Canvas, title: str, rows: list[tuple[str, str]], y: float, width: float) -> float:
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


def render(payload: dict[str, Any]) -> bytes:
    d = need(payload, "data", "payload")
    members = need(d, "members", "data")
    if len(members) > MAX_MEMBERS:
        raise DocumentDataError(
            f"data.members: at most {MAX_MEMBERS} people move on one certificate"
        )
    width, height = A4
    number = need(payload, "number", "payload")
    with pdf_canvas(A4, "Surat Keterangan Pindah WNI", number) as (c, buf):
        fit(
            c,
            "PEMERINTAH " + opt(need(d, "origin", "data"), "kabupaten").upper(),
            width / 2,
            height - 20 * mm,
            width - 40 * mm,
            font=fonts.BOLD,
            size=12,
            align="center",
        )
        fit(
            c,
            "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL",
            width / 2,
            height - 26 * mm,
            width - 40 * mm,
            font=fonts.BOLD,
            size=12,
            align="center",
        )
        c.setLineWidth(1.5)
        c.line(20 * mm, height - 30 * mm, width - 20 * mm, height - 30 * mm)
        fit(
            c,
            "SURAT KETERANGAN PINDAH WARGA NEGARA INDONESIA",
            width / 2,
            height - 40 * mm,
            width - 40 * mm,
            font=fonts.BOLD,
            size=12.5,
            align="center",
        )
        fit(
            c,
            f"Nomor: {number}",
            width / 2,
            height - 46 * mm,
            width - 40 * mm,
            size=10,
            align="center",
        )
        y = height - 58 * mm
        y = _section(
            c,
            "DATA DAERAH ASAL",
            [
                ("Nomor Kartu Keluarga", need(d, "kk_number", "data")),
                ("Nama Kepala Keluarga", need(d, "head_name", "data")),
                *_address(d["origin"]),
            ],
            y,
            width,
        )
        y = _section(
            c,
            "DATA KEPINDAHAN",
            [
                ("Alasan pindah", opt(d, "reason")),
                ("Jenis kepindahan", opt(d, "move_type")),
                ("Rencana tanggal pindah", date_long(need(d, "move_date", "data"))),
                *_address(need(d, "destination", "data")),
            ],
            y,
            width,
        )

        usable = width - 40 * mm
        fit(c, "ANGGOTA KELUARGA YANG PINDAH", 20 * mm, y, usable, font=fonts.BOLD, size=9.5)
        table = fitted_table(
            ["No", "NIK", "Nama Lengkap", "SHDK"],
            [
                [str(i + 1), opt(m, "nik"), opt(m, "name"), opt(m, "relationship")]
                for i, m in enumerate(members)
            ],
            [f * usable for f in (0.06, 0.22, 0.5, 0.22)],
            y - 3 * mm - 68 * mm,  # down to the signature block
            size=8.5,
        )
        table.draw(c, 20 * mm, y - 3 * mm)
        signature_block(c, payload, width - 62 * mm, 62 * mm, place=opt(d["origin"], "kabupaten"))
        qr_block(c, payload, width - 20 * mm, 18 * mm)
        tte_note(c, 20 * mm, 12 * mm, width - 80 * mm)
        c.showPage()
        c.save()
        return buf.getvalue()
