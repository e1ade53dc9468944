"""Surat Keterangan Pindah WNI and Surat Keterangan Pindah Datang (A4 portrait), pure
renderers: the certificate the origin's office issues when a family leaves, and the one
the destination's office issues when it arrives (on the strength of the first).

Payload ``data``: ``kk_number, head_name, origin{street, rt, rw, kelurahan, kecamatan,
kabupaten, province, postal_code}, destination{...same}, reason, move_type, move_date,
members[{nik, name, relationship}]``; the arrival also ``departure_number`` (the
SKPWNI's number), ``arrival_date`` and ``new_kk_number`` (optional: the KK at the
destination, when one is issued).
"""

from __future__ import annotations

from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

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
    section,
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


def render(payload: dict[str, Any]) -> bytes:
    """Surat Keterangan Pindah WNI (leaving)."""
    return _render(payload, arrival=False)


def render_arrival(payload: dict[str, Any]) -> bytes:
    """Surat Keterangan Pindah Datang WNI (arriving)."""
    return _render(payload, arrival=True)


def _render(payload: dict[str, Any], *, arrival: bool) -> bytes:
    d = need(payload, "data", "payload")
    members = need(d, "members", "data")
    if len(members) > MAX_MEMBERS:
        raise DocumentDataError(
            f"data.members: at most {MAX_MEMBERS} people move on one certificate"
        )
    width, height = A4
    number = need(payload, "number", "payload")
    office = need(d, "destination" if arrival else "origin", "data")
    title = "Surat Keterangan Pindah Datang WNI" if arrival else "Surat Keterangan Pindah WNI"
    with pdf_canvas(A4, title, number) as (c, buf):
        fit(
            c,
            "PEMERINTAH " + opt(office, "kabupaten").upper(),
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
            "SURAT KETERANGAN PINDAH DATANG WARGA NEGARA INDONESIA"
            if arrival
            else "SURAT KETERANGAN PINDAH WARGA NEGARA INDONESIA",
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
        origin = [
            ("Nomor Kartu Keluarga", need(d, "kk_number", "data")),
            ("Nama Kepala Keluarga", need(d, "head_name", "data")),
            *_address(need(d, "origin", "data")),
        ]
        if arrival:
            origin.append(("Nomor SKPWNI", need(d, "departure_number", "data")))
        y = section(c, "DATA DAERAH ASAL", origin, y, width)
        if arrival:
            moving = [
                ("Tanggal kedatangan", date_long(need(d, "arrival_date", "data"))),
                ("Nomor KK di tujuan", opt(d, "new_kk_number")),
                ("Jenis kepindahan", opt(d, "move_type")),
                *_address(need(d, "destination", "data")),
            ]
        else:
            moving = [
                ("Alasan pindah", opt(d, "reason")),
                ("Jenis kepindahan", opt(d, "move_type")),
                ("Rencana tanggal pindah", date_long(need(d, "move_date", "data"))),
                *_address(need(d, "destination", "data")),
            ]
        y = section(c, "DATA KEDATANGAN" if arrival else "DATA KEPINDAHAN", moving, y, width)

        usable = width - 40 * mm
        heading = "ANGGOTA KELUARGA YANG DATANG" if arrival else "ANGGOTA KELUARGA YANG PINDAH"
        fit(c, heading, 20 * mm, y, usable, font=fonts.BOLD, size=9.5)
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
        signature_block(c, payload, width - 62 * mm, 62 * mm, place=opt(office, "kabupaten"))
        qr_block(c, payload, width - 20 * mm, 18 * mm)
        tte_note(c, 20 * mm, 12 * mm, width - 80 * mm)
        c.showPage()
        c.save()
        return buf.getvalue()
