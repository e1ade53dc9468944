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
    "akta_perkawinan": ("Kutipan Akta Perkawinan", "a4"),
    "akta_perceraian": ("Kutipan Akta Perceraian", "a4"),
    "akta_pengakuan_anak": ("Kutipan Akta Pengakuan Anak", "a4"),
    "akta_pengesahan_anak": ("Kutipan Akta Pengesahan Anak", "a4"),
    "surat_pindah_datang": ("Surat Keterangan Pindah Datang WNI", "a4"),
    "biodata": ("Biodata Penduduk WNI", "a4"),
}


# The one-byte code of each kind in a printed seal (protocol.seal).  Append-only: a code
# once printed on paper means that kind for as long as the paper exists.
KIND_CODES: Final[dict[str, int]] = {
    "kartu_keluarga": 1,
    "akta_kelahiran": 2,
    "akta_kematian": 3,
    "surat_pindah": 4,
    "ktp_el": 5,
    "kia": 6,
    "akta_perkawinan": 7,
    "akta_perceraian": 8,
    "akta_pengakuan_anak": 9,
    "akta_pengesahan_anak": 10,
    "surat_pindah_datang": 11,
    "biodata": 12,
}
KIND_OF_CODE: Final[dict[int, str]] = {code: kind for kind, code in KIND_CODES.items()}


def title_of(kind: str) -> str:
    return KINDS[kind][0]


def medium_of(kind: str) -> Medium:
    return KINDS[kind][1]
