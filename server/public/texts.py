"""What the public check says, in Bahasa Indonesia and English (key -> (id, en))."""

from __future__ import annotations

from typing import Any

LANGUAGES = ("id", "en")

TEXT: dict[str, tuple[str, str]] = {
    "title": ("Cek Keaslian Dokumen", "Document check"),
    "subtitle": (
        "Dokumen kependudukan dari Anjungan Dukcapil Mandiri",
        "Civil-registration documents from the Dukcapil self-service kiosks",
    ),
    "language": ("Bahasa", "Language"),
    "head_valid": ("Dokumen asli dan berlaku", "Genuine and in force"),
    "text_valid": (
        "Dokumen ini diterbitkan oleh kantor kami dan tidak dicabut. Cocokkan data di bawah "
        "dengan kertasnya: bila ada yang berbeda, kertas itu bukan dokumen ini.",
        "This document was issued by our office and has not been revoked. Compare the "
        "details below with the paper: if anything differs, the paper is not this document.",
    ),
    "head_revoked": ("Dokumen telah DICABUT", "This document has been REVOKED"),
    "text_revoked": (
        "Kantor penerbit mencabut dokumen ini pada {at}. Dokumen ini tidak boleh diterima.",
        "The issuing office revoked this document on {at}. It must not be accepted.",
    ),
    "head_superseded": ("Sudah diganti cetakan baru", "Replaced by a newer print"),
    "text_superseded": (
        "Dokumen ini sudah diganti oleh dokumen nomor {newer}. Mintalah dokumen yang baru.",
        "This document has been replaced by document number {newer}. Ask for the new one.",
    ),
    "text_superseded_unknown": (
        "Dokumen ini sudah diganti oleh dokumen yang lebih baru. Mintalah dokumen yang baru.",
        "This document has been replaced by a newer one. Ask for the new one.",
    ),
    "head_unrecorded": ("Tidak tercatat sebagai dicetak", "Not on record as printed"),
    "text_unrecorded": (
        "Tanda tangan kode ini milik kantor kami, tetapi tidak ada dokumen tercetak dengan "
        "data ini. Jangan terima dokumen ini sebelum menghubungi kantor Dukcapil.",
        "The code carries our office's signature, but no printed document with these "
        "details is on record. Do not accept it before asking the Dukcapil office.",
    ),
    "head_foreign": ("Tanda tangan sah, kantor lain", "Valid signature, another office"),
    "text_foreign": (
        "Kode ini ditandatangani dengan sah oleh {office}. Status terkininya (misalnya "
        "dicabut) hanya dapat diperiksa di kantor tersebut.",
        "The code is validly signed by {office}. Its current state (revoked, say) can be "
        "checked only with that office.",
    ),
    "head_invalid": ("BUKAN dokumen yang kami terbitkan", "NOT a document we issued"),
    "text_invalid": (
        "Tanda tangan kode ini tidak sah: kode diubah atau dibuat oleh pihak lain. Jangan "
        "terima dokumen ini.",
        "The code's signature is not valid: it was altered or made by someone else. Do not "
        "accept this document.",
    ),
    "head_malformed": ("Bukan kode dokumen", "Not a document code"),
    "text_malformed": (
        "Alamat ini tidak berisi kode dokumen yang dapat dibaca. Pindai lagi QR pada "
        "dokumen, dari dekat dan dengan cahaya cukup.",
        "This address holds no readable document code. Scan the document's QR again, "
        "closer and in good light.",
    ),
    "head_too_long": ("Alamat terlalu panjang", "Address too long"),
    "text_too_long": (
        "Kode dokumen tidak sepanjang ini. Pindai lagi QR pada dokumen.",
        "No document code is this long. Scan the document's QR again.",
    ),
    "head_limited": ("Terlalu banyak pemeriksaan", "Too many checks"),
    "text_limited": (
        "Dari alamat jaringan Anda datang terlalu banyak pemeriksaan. Coba lagi dalam "
        "{seconds} detik.",
        "Too many checks came from your network address. Try again in {seconds} seconds.",
    ),
    "head_unavailable": ("Sedang tidak dapat memeriksa", "Cannot check just now"),
    "text_unavailable": (
        "Pemeriksaan sedang tidak tersedia. Coba lagi beberapa menit lagi.",
        "Checking is not available just now. Try again in a few minutes.",
    ),
    "kind": ("Jenis dokumen", "Kind of document"),
    "number": ("Nomor", "Number"),
    "issued": ("Tanggal terbit", "Issued on"),
    "office": ("Diterbitkan oleh", "Issued by"),
    "holder": ("Nama pemegang", "Holder's name"),
    "holder_help": (
        "sebagian disamarkan; cocokkan dengan kertasnya",
        "partly hidden; compare with the paper",
    ),
    "privacy": (
        "Pemeriksaan ini dihitung untuk dokumennya, tetapi siapa yang memeriksa tidak "
        "dicatat. Halaman ini tidak memakai cookie atau JavaScript.",
        "This check is counted for the document, but who checked is not recorded. This "
        "page uses no cookies and no JavaScript.",
    ),
    "offline_link": ("Pemeriksa tanpa internet", "Checker without internet"),
    # The offline checker
    "off_title": ("Cek Keaslian Dokumen tanpa internet", "Document check without internet"),
    "off_intro": (
        "Halaman ini memeriksa tanda tangan kode QR dokumen di peramban Anda, tanpa "
        "jaringan. Tempel alamat atau kode dari QR, lalu tekan Periksa.",
        "This page checks the signature of a document's QR code in your browser, without "
        "a network. Paste the address or code from the QR, then press Check.",
    ),
    "off_warning": (
        "Tanpa internet, pencabutan dan penggantian dokumen TIDAK dapat diketahui. Bila "
        "bisa, buka alamat QR secara online.",
        "Without internet, whether a document was revoked or replaced CANNOT be known. When "
        "you can, open the QR's address online.",
    ),
    "off_input": ("Alamat atau kode dari QR", "Address or code from the QR"),
    "off_check": ("Periksa", "Check"),
    "off_noscript": (
        "Pemeriksa ini memerlukan JavaScript untuk menghitung tanda tangan.",
        "This checker needs JavaScript to compute signatures.",
    ),
    "off_valid": (
        "Tanda tangan SAH. Cocokkan data ini dengan kertasnya. Pencabutan tidak dapat "
        "diperiksa tanpa internet.",
        "Signature VALID. Compare these details with the paper. Revocation cannot be "
        "checked without internet.",
    ),
    "off_invalid": (
        "Tanda tangan TIDAK SAH: kode diubah atau bukan dari kantor yang dikenal halaman ini.",
        "Signature NOT VALID: the code was altered or is not from an office this page knows.",
    ),
    "off_malformed": ("Bukan kode dokumen yang dapat dibaca.", "Not a readable document code."),
    "off_unsupported": (
        "Peramban ini tidak dapat memeriksa tanda tangan Ed25519. Gunakan Chrome/Edge 137, "
        "Firefox 129 atau Safari 17 atau yang lebih baru. Tidak ada yang diperiksa.",
        "This browser cannot check Ed25519 signatures. Use Chrome/Edge 137, Firefox 129, "
        "Safari 17 or newer. Nothing was checked.",
    ),
    "off_keys": ("Kunci penerbit di halaman ini", "Issuer keys in this page"),
}


def translate(lang: str, key: str, **values: Any) -> str:
    text = TEXT[key][LANGUAGES.index(lang) if lang in LANGUAGES else 0]
    return text.format(**values) if values else text
