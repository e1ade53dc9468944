"""Kartu Keluarga renderer: family data in, A4 landscape PDF bytes out (no I/O).

The layout follows the printed KK since 2020: a header with the KK number, the address
block, the members in two tables (identity; civil status and parents), the issue date and
official, and a QR code with the verification payload at the bottom right in place of a
wet signature and stamp.  Output is deterministic: the same payload gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, Table, TableStyle

from printing import fonts

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


class DocumentDataError(ValueError):
    """The payload lacks a field the document needs (names the field)."""


def _date_id(iso: str) -> str:
    d = dt.date.fromisoformat(iso)
    return f"{d.day:02d}-{d.month:02d}-{d.year}"


def _date_long(iso: str) -> str:
    d = dt.date.fromisoformat(iso)
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def _need(obj: dict[str, Any], key: str, where: str) -> Any:
    try:
        return obj[key]
    except KeyError:
        raise DocumentDataError(f"{where}.{key} is missing") from None


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _qr(canvas: Canvas, text: str, x: float, y: float, size: float) -> None:
    widget = QrCodeWidget(text, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, canvas, x, y)


def render(payload: dict[str, Any]) -> bytes:
    """Render a Kartu Keluarga payload (as the central server sends it) to PDF bytes."""
    fonts.register()
    family = _need(payload, "family", "payload")
    address = _need(family, "address", "family")
    members = _need(family, "members", "family")
    if not members:
        raise DocumentDataError("family.members is empty")
    kk_number = _need(family, "kk_number", "family")
    number = _need(payload, "number", "payload")
    verification = _need(payload, "verification", "payload")
    official = _need(payload, "official", "payload")
    issued = _need(payload, "issued_at", "payload")

    buf = io.BytesIO()
    width, height = landscape(A4)
    c = Canvas(buf, pagesize=(width, height), invariant=True, pageCompression=1)
    c.setTitle(f"Kartu Keluarga {kk_number}")
    c.setAuthor("Dinas Kependudukan dan Pencatatan Sipil")
    c.setSubject(number)
    margin = 12 * mm

    # Header
    c.setFont(fonts.BOLD, 18)
    c.drawCentredString(width / 2, height - margin - 6 * mm, "KARTU KELUARGA")
    c.setFont(fonts.BOLD, 12)
    c.drawCentredString(width / 2, height - margin - 12 * mm, f"No. {kk_number}")

    head = next((m for m in members if m.get("relationship") == "KEPALA KELUARGA"), members[0])
    left = [
        ("Nama Kepala Keluarga", head["name"]),
        ("Alamat", address.get("street", "-")),
        ("RT/RW", f"{address.get('rt', '-')}/{address.get('rw', '-')}"),
        ("Desa/Kelurahan", address.get("kelurahan", "-")),
    ]
    right = [
        ("Kecamatan", address.get("kecamatan", "-")),
        ("Kabupaten/Kota", address.get("kabupaten", "-")),
        ("Kode Pos", address.get("postal_code", "-")),
        ("Provinsi", address.get("province", "-")),
    ]
    y = height - margin - 22 * mm
    for i, ((lk, lv), (rk, rv)) in enumerate(zip(left, right, strict=True)):
        yy = y - i * 4.6 * mm
        c.setFont(fonts.REGULAR, 8.5)
        c.drawString(margin, yy, lk)
        c.drawString(margin + 38 * mm, yy, f": {lv}")
        c.drawString(width / 2 + 20 * mm, yy, rk)
        c.drawString(width / 2 + 50 * mm, yy, f": {rv}")

    cell = ParagraphStyle("cell", fontName=fonts.REGULAR, fontSize=7, leading=8.4)
    headcell = ParagraphStyle("head", parent=cell, fontName=fonts.BOLD, alignment=1)

    def table(header: list[str], rows: list[list[str]], widths: list[float]) -> Table:
        data = [[Paragraph(_esc(h), headcell) for h in header]]
        data += [[Paragraph(_esc(str(v)), cell) for v in row] for row in rows]
        t = Table(data, colWidths=widths, repeatRows=1)
        t.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.88, 0.88, 0.88)),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ]
            )
        )
        return t

    usable = width - 2 * margin
    t1 = table(
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
                m.get("sex", "-"),
                m.get("birth_place", "-"),
                _date_id(m["birth_date"]) if m.get("birth_date") else "-",
                m.get("religion", "-"),
                m.get("education", "-"),
                m.get("occupation", "-"),
            ]
            for i, m in enumerate(members)
        ],
        [f * usable for f in (0.03, 0.2, 0.12, 0.08, 0.1, 0.08, 0.08, 0.15, 0.16)],
    )
    t2 = table(
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
                m.get("marital_status", "-"),
                m.get("relationship", "-"),
                m.get("citizenship", "-"),
                m.get("passport", "-"),
                m.get("kitap", "-"),
                m.get("father", "-"),
                m.get("mother", "-"),
            ]
            for i, m in enumerate(members)
        ],
        [f * usable for f in (0.03, 0.12, 0.15, 0.11, 0.095, 0.095, 0.2, 0.2)],
    )
    y = height - margin - 42 * mm
    for t in (t1, t2):
        _, th = t.wrapOn(c, usable, height)
        t.drawOn(c, margin, y - th)
        y -= th + 5 * mm

    # Issue block and QR code (bottom right) in place of signature and stamp.
    qr_size = 30 * mm
    qx = width - margin - qr_size
    qy = margin + 5 * mm
    _qr(c, verification, qx, qy, qr_size)
    c.setFont(fonts.REGULAR, 7)
    c.drawCentredString(qx + qr_size / 2, qy - 3.5 * mm, number)
    tx = qx - 8 * mm
    c.setFont(fonts.REGULAR, 8.5)
    c.drawRightString(tx, qy + qr_size - 2 * mm, f"Dikeluarkan Tanggal: {_date_long(issued)}")
    c.drawRightString(tx, qy + qr_size - 7 * mm, official.get("title", ""))
    c.setFont(fonts.BOLD, 8.5)
    c.drawRightString(tx, qy + 8 * mm, official.get("name", ""))
    c.setFont(fonts.REGULAR, 8.5)
    c.drawRightString(tx, qy + 4 * mm, f"NIP. {official.get('nip', '-')}")
    c.setFont(fonts.REGULAR, 6.5)
    c.drawString(
        margin,
        margin,
        "Dokumen ini telah ditandatangani secara elektronik. Pindai kode QR untuk memeriksa "
        "keasliannya.",
    )
    c.showPage()
    c.save()
    return buf.getvalue()
