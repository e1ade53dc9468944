"""Biodata Penduduk WNI (A4 portrait), a pure renderer: one resident's record in the
population register, as the office prints it for a citizen (for a bank, a school, a
court): the family the person belongs to, then the person.

Payload ``data``: ``kk_number, head_name, address{street, rt, rw, kelurahan, kecamatan,
kabupaten, province, postal_code}, nik, name, sex, birth_place, birth_date, blood_type,
religion, marital_status, relationship, education, occupation, birth_certificate,
marriage_certificate, disability, father{name, nik}, mother{name, nik}``.  Sources and
what is not known of the real form: docs/documents.md.
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
    need,
    opt,
    pdf_canvas,
    qr_block,
    section,
    signature_block,
    tte_note,
)


def _parent(d: dict[str, Any], key: str) -> tuple[str, str]:
    parent = d.get(key) or {}
    if not isinstance(parent, dict):
        raise DocumentDataError(f"data.{key} must be an object")
    return opt(parent, "name"), opt(parent, "nik")


def render(payload: dict[str, Any]) -> bytes:
    d = need(payload, "data", "payload")
    address = need(d, "address", "data")
    width, height = A4
    number = need(payload, "number", "payload")
    father, father_nik = _parent(d, "father")
    mother, mother_nik = _parent(d, "mother")
    with pdf_canvas(A4, "Biodata Penduduk WNI", number) as (c, buf):
        for i, line in enumerate(
            (
                "PEMERINTAH " + opt(address, "kabupaten").upper(),
                "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL",
            )
        ):
            fit(
                c,
                line,
                width / 2,
                height - (20 + 6 * i) * mm,
                width - 40 * mm,
                font=fonts.BOLD,
                size=12,
                align="center",
            )
        c.setLineWidth(1.5)
        c.line(20 * mm, height - 30 * mm, width - 20 * mm, height - 30 * mm)
        fit(
            c,
            "BIODATA PENDUDUK WARGA NEGARA INDONESIA",
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
        y = section(
            c,
            "DATA KELUARGA",
            [
                ("Nomor Kartu Keluarga", need(d, "kk_number", "data")),
                ("Nama Kepala Keluarga", opt(d, "head_name")),
                ("Alamat", opt(address, "street")),
                ("RT/RW", f"{opt(address, 'rt')}/{opt(address, 'rw')}"),
                ("Desa/Kelurahan", opt(address, "kelurahan")),
                ("Kecamatan", opt(address, "kecamatan")),
                ("Kabupaten/Kota", opt(address, "kabupaten")),
                ("Provinsi", opt(address, "province")),
                ("Kode Pos", opt(address, "postal_code")),
            ],
            height - 58 * mm,
            width,
        )
        born = need(d, "birth_date", "data")
        section(
            c,
            "DATA INDIVIDU",
            [
                ("NIK", need(d, "nik", "data")),
                ("Nama Lengkap", need(d, "name", "data").upper()),
                ("Jenis Kelamin", opt(d, "sex")),
                ("Tempat/Tanggal Lahir", f"{opt(d, 'birth_place')}, {date_long(born)}"),
                ("No. Akta Kelahiran", opt(d, "birth_certificate")),
                ("Golongan Darah", opt(d, "blood_type")),
                ("Agama/Kepercayaan", opt(d, "religion")),
                ("Status Perkawinan", opt(d, "marital_status")),
                ("No. Akta Perkawinan", opt(d, "marriage_certificate")),
                ("Hubungan dalam Keluarga", opt(d, "relationship")),
                ("Kelainan Fisik/Mental", opt(d, "disability", "Tidak ada")),
                ("Pendidikan Terakhir", opt(d, "education")),
                ("Jenis Pekerjaan", opt(d, "occupation")),
                ("Nama Ayah", father),
                ("NIK Ayah", father_nik),
                ("Nama Ibu", mother),
                ("NIK Ibu", mother_nik),
            ],
            y,
            width,
        )
        signature_block(c, payload, width - 62 * mm, 66 * mm, place=opt(address, "kabupaten"))
        qr_block(c, payload, width - 20 * mm, 18 * mm)
        tte_note(c, 20 * mm, 12 * mm, width - 80 * mm)
        c.showPage()
        c.save()
        return buf.getvalue()
