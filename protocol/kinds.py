"""The document kinds the kiosk prints: title on the document and medium it needs."""

from __future__ import annotations

from typing import Final, Literal

Medium = Literal["a4", "card"]
MEDIA: Final[tuple[Medium, ...]] = ("a4", "card")

KINDS: Final[dict[str, tuple[str, Medium]]] = {
    "kartu_keluarga": ("Kartu Keluarga", "a4"),
    "akta_kelahiran": ("Kutipan Akta Kelahiran", "a4"),
    "akta_kematian": ("Kutipan Akta Kematian", "a4"),
    "surat_pindah": ("Surat Keterangan Pindah WNI", "a4"),
    "ktp_el": ("KTP-el", "card"),
    "kia": ("Kartu Identitas Anak", "card"),
}


def title_of(kind: str) -> str:
    return KINDS[kind][0]


def medium_of(kind: str) -> Medium:
    return KINDS[kind][1]
