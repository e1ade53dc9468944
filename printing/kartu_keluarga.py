"""Kartu Keluarga renderer: family data in, A4 landscape PDF bytes out (no I/O).

The layout follows the printed KK since 2020: a header with the KK number, the address
block, the members in two tables (identity; civil status and parents), the issue date and
official, and a QR code with the verification payload at the bottom right in place of a
wet signature and stamp.  Up to 12 members with 100-character names fit: the tables'
text shrinks until both fit between the address block and the signature.  Output is
deterministic: the same payload gives the same bytes.
"""

from __future__ import annotations

from typing import Any

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm

from printing import fonts
from printing.layout import (
    DocumentDataError,
    date_long,
    date_short,
    fit,
    fitted_table,
    need,
    opt,
    pdf_canvas,
    qr,
    seal_caption,
    tte_note,
)

MAX_MEMBERS = 16

__all__ = ["MAX_MEMBERS", "DocumentDataError", "render"]


def render(payload: dict[str, Any]) -> bytes:
    """Render a Kartu Keluarga payload (as the central server sends it) to PDF bytes."""
    family = need(payload, "family", "payload")
    address = need(family, "address", "family")
    members = need(family, "members", "family")
    if len(members) > MAX_MEMBERS:
        raise DocumentDataError(f"family.members: {len(members)} is more than {MAX_MEMBERS}")
    kk_number = need(family, "kk_number", "family")
    number = need(payload, "number", "payload")
    verification = need(payload, "verification", "payload")
    official = need(payload, "official", "payload")
    issued = need(payload, "issued_at", "payload")
    for i, m in enumerate(members):
        need(m, "name", f"family.members[{i}]")
        need(m, "nik", f"family.members[{i}]")

    width, height = landscape(A4)
    margin = 12 * mm
    with pdf_canvas((width, height), f"Kartu Keluarga {kk_number}", number) as (c, buf):
        fit(
            c,
            "KARTU KELUARGA",
            width / 2,
            height - margin - 6 * mm,
            width,
            font=fonts.BOLD,
            size=18,
            align="center",
        )
        fit(
            c,
            f"No. {kk_number}",
            width / 2,
            height - margin - 12 * mm,
            width,
            font=fonts.BOLD,
            size=12,
            align="center",
        )

        head = next((m for m in members if m.get("relationship") == "KEPALA KELUARGA"), members[0])
        left = [
            ("Nama Kepala Keluarga", head["name"]),
            ("Alamat", opt(address, "street")),
            ("RT/RW", f"{opt(address, 'rt')}/{opt(address, 'rw')}"),
            ("Desa/Kelurahan", opt(address, "kelurahan")),
        ]
        right = [
            ("Kecamatan", opt(address, "kecamatan")),
            ("Kabupaten/Kota", opt(address, "kabupaten")),
            ("Kode Pos", opt(address, "postal_code")),
            ("Provinsi", opt(address, "province")),
        ]
        y = height - margin - 22 * mm
        column = width / 2 + 20 * mm
        for i, ((lk, lv), (rk, rv)) in enumerate(zip(left, right, strict=True)):
            yy = y - i * 4.2 * mm
            fit(c, lk, margin, yy, 36 * mm, size=8.5)
            fit(c, f": {lv}", margin + 38 * mm, yy, column - margin - 42 * mm, size=8.5)
            fit(c, rk, column, yy, 28 * mm, size=8.5)
            fit(c, f": {rv}", column + 30 * mm, yy, width - margin - column - 30 * mm, size=8.5)

        usable = width - 2 * margin
        top = height - margin - 39 * mm
        bottom = margin + 32 * mm  # the signature block and QR live below this line
        gap = 4 * mm
        budget = (top - bottom - gap) / 2
        t1 = fitted_table(
            [
                "No",
                "Nama Lengkap",
                "NIK",
                "Jenis Kelamin",
                "Tempat Lahir",
                "Tanggal Lahir",
                "Agama",
                "Pendidikan",
                "Jenis Pekerjaan",
            ],
            [
                [
                    str(i + 1),
                    m["name"],
                    m["nik"],
                    opt(m, "sex"),
                    opt(m, "birth_place"),
                    date_short(m["birth_date"]) if m.get("birth_date") else "-",
                    opt(m, "religion"),
                    opt(m, "education"),
                    opt(m, "occupation"),
                ]
                for i, m in enumerate(members)
            ],
            [f * usable for f in (0.03, 0.26, 0.12, 0.08, 0.1, 0.08, 0.07, 0.12, 0.14)],
            budget,
        )
        t2 = fitted_table(
            [
                "No",
                "Status Perkawinan",
                "Status Hubungan Dalam Keluarga",
                "Kewarganegaraan",
                "No. Paspor",
                "No. KITAP",
                "Nama Ayah",
                "Nama Ibu",
            ],
            [
                [
                    str(i + 1),
                    opt(m, "marital_status"),
                    opt(m, "relationship"),
                    opt(m, "citizenship"),
                    opt(m, "passport"),
                    opt(m, "kitap"),
                    opt(m, "father"),
                    opt(m, "mother"),
                ]
                for i, m in enumerate(members)
            ],
            [f * usable for f in (0.03, 0.11, 0.14, 0.11, 0.09, 0.09, 0.215, 0.215)],
            budget,
        )
        y = top
        for t in (t1, t2):
            t.draw(c, margin, y)
            y -= t.height + gap

        qr_size = 30 * mm  # 0.61 mm a module for a seal link (layout.qr_block)
        qx, qy = width - margin - qr_size, margin + 6.5 * mm
        qr(c, verification, qx, qy, qr_size)
        fit(c, number, qx + qr_size / 2, qy - 3.5 * mm, qr_size + 20 * mm, size=7, align="center")
        seal_caption(c, verification, qx + qr_size / 2, qy - 6.5 * mm, qr_size + 20 * mm)
        tx = qx - 8 * mm
        fit(
            c,
            f"Dikeluarkan Tanggal: {date_long(issued)}",
            tx,
            qy + qr_size - 2 * mm,
            100 * mm,
            size=8.5,
            align="right",
        )
        fit(
            c,
            opt(official, "title", ""),
            tx,
            qy + qr_size - 7 * mm,
            100 * mm,
            size=8.5,
            align="right",
        )
        fit(
            c,
            opt(official, "name", ""),
            tx,
            qy + 8 * mm,
            100 * mm,
            font=fonts.BOLD,
            size=8.5,
            align="right",
        )
        fit(c, f"NIP. {opt(official, 'nip')}", tx, qy + 4 * mm, 100 * mm, size=8.5, align="right")
        tte_note(c, margin, margin + 2 * mm, 150 * mm)
        c.showPage()
        c.save()
        return buf.getvalue()
