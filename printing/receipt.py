"""The citizen's receipt and the technician's test page (A4), pure renderers.

Receipt payload: ``kiosk_id, location, printed_at (ISO date-time), citizen_name,
masked_nik, documents[{title, number}]`` — no full NIK, no photo.
Test page payload: ``kiosk_id, printer, queue, printed_at, software_version``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from printing import fonts
from printing.layout import fit, need, opt, pdf_canvas, wrap_fit


def _when(iso: str) -> str:
    t = dt.datetime.fromisoformat(iso)
    return t.strftime("%d-%m-%Y %H:%M")


def render_receipt(payload: dict[str, Any]) -> bytes:
    width, height = A4
    docs = need(payload, "documents", "payload")
    with pdf_canvas(A4, "Tanda Terima", opt(payload, "kiosk_id")) as (c, buf):
        x, y = 25 * mm, height - 25 * mm
        fit(c, "ANJUNGAN DUKCAPIL MANDIRI", x, y, width - 50 * mm, font=fonts.BOLD, size=14)
        fit(
            c,
            "TANDA TERIMA CETAK DOKUMEN",
            x,
            y - 7 * mm,
            width - 50 * mm,
            font=fonts.BOLD,
            size=11,
        )
        y -= 18 * mm
        for label, value in (
            ("Nama", need(payload, "citizen_name", "payload")),
            ("NIK", need(payload, "masked_nik", "payload")),
            ("Waktu", _when(need(payload, "printed_at", "payload"))),
            ("Anjungan", f"{opt(payload, 'kiosk_id')} — {opt(payload, 'location')}"),
        ):
            fit(c, label, x, y, 30 * mm, size=10)
            fit(c, f": {value}", x + 30 * mm, y, width - 80 * mm, size=10)
            y -= 6 * mm
        y -= 4 * mm
        fit(c, "Dokumen yang dicetak:", x, y, width - 50 * mm, font=fonts.BOLD, size=10)
        y -= 6.5 * mm
        for i, doc in enumerate(docs, 1):
            fit(c, f"{i}. {opt(doc, 'title')}", x + 3 * mm, y, 80 * mm, size=10)
            fit(c, opt(doc, "number"), x + 85 * mm, y, width - 110 * mm, size=10)
            y -= 6 * mm
        y -= 6 * mm
        wrap_fit(
            c,
            "Setiap dokumen hanya dapat dicetak satu kali untuk setiap persetujuan. "
            "Layanan ini gratis. Laporkan pungutan dalam bentuk apa pun ke Dinas "
            "Kependudukan dan Pencatatan Sipil.",
            x,
            y,
            width - 50 * mm,
            3,
            size=9,
        )
        c.showPage()
        c.save()
        return buf.getvalue()


def render_test_page(payload: dict[str, Any]) -> bytes:
    """Alignment marks at 10 mm from each edge, a 10 mm ruler, an 11-step grey ramp, and
    who printed it: a technician compares the marks' distance from the paper's edge."""
    width, height = A4
    with pdf_canvas(A4, "Halaman Uji", opt(payload, "kiosk_id")) as (c, buf):
        c.setLineWidth(0.3)
        inset, arm = 10 * mm, 8 * mm
        for cx, sx in ((inset, 1), (width - inset, -1)):
            for cy, sy in ((inset, 1), (height - inset, -1)):
                c.line(cx, cy, cx + sx * arm, cy)
                c.line(cx, cy, cx, cy + sy * arm)
        cx, cy = width / 2, height / 2
        c.circle(cx, cy, 5 * mm)
        c.line(cx - 10 * mm, cy, cx + 10 * mm, cy)
        c.line(cx, cy - 10 * mm, cx, cy + 10 * mm)
        # ruler along the bottom: 0..150 mm
        rx, ry = 30 * mm, 30 * mm
        for i in range(0, 151):
            tick = 4 * mm if i % 10 == 0 else (2.5 * mm if i % 5 == 0 else 1.2 * mm)
            c.line(rx + i * mm, ry, rx + i * mm, ry + tick)
            if i % 10 == 0:
                fit(c, str(i), rx + i * mm, ry - 3.5 * mm, 8 * mm, size=6, align="center")
        # grey ramp
        step = (width - 60 * mm) / 11
        for i in range(11):
            c.setFillColor(colors.Color(1 - i / 10, 1 - i / 10, 1 - i / 10))
            c.rect(30 * mm + i * step, height - 100 * mm, step, 18 * mm, stroke=1, fill=1)
            c.setFillColor(colors.black)
            fit(
                c,
                f"{i * 10}%",
                30 * mm + (i + 0.5) * step,
                height - 105 * mm,
                step,
                size=7,
                align="center",
            )
        y = height - 30 * mm
        fit(
            c,
            "HALAMAN UJI PRINTER",
            width / 2,
            y,
            width - 60 * mm,
            font=fonts.BOLD,
            size=16,
            align="center",
        )
        for i, (label, key) in enumerate(
            (
                ("Anjungan", "kiosk_id"),
                ("Printer", "printer"),
                ("Antrean", "queue"),
                ("Waktu", "printed_at"),
                ("Perangkat lunak", "software_version"),
            )
        ):
            fit(
                c,
                f"{label}: {opt(payload, key)}",
                30 * mm,
                y - (10 + i * 5.5) * mm,
                width - 60 * mm,
                size=10,
            )
        fit(
            c,
            "Tanda sudut berjarak 10 mm dari tepi kertas; penggaris 150 mm.",
            width / 2,
            45 * mm,
            width - 60 * mm,
            size=9,
            align="center",
        )
        c.showPage()
        c.save()
        return buf.getvalue()
