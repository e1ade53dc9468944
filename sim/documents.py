"""Sample payloads of every printable kind, as the central server would send them.

Used for the rendered pictures in docs/documents, the golden tests and the render
benchmark.  Built from the demo population so the documents agree with each other.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol import seal
from sim.population import FAMILIES, ISSUING_OFFICIAL

ISSUED = "2026-11-02"
# The samples' seals: a fixed key (Ed25519 signs deterministically, so a sample renders
# to the same bytes every time) and a host of the reserved example domain.
SAMPLE_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"adm sample seal").digest())
SAMPLE_HOST = "CEK.ADM.EXAMPLE.ID"


def sample_seal(kind: str, number: str, issued: str = ISSUED) -> str:
    """The link a sample document's QR carries."""
    token = seal.seal(SAMPLE_KEY, kind, dt.date.fromisoformat(issued), number)
    return seal.url(SAMPLE_HOST, token)


def _base(kind: str, title: str, medium: str, number: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "title": title,
        "medium": medium,
        "number": number,
        "issued_at": ISSUED,
        "official": ISSUING_OFFICIAL,
        "verification": sample_seal(kind, number),
    }


def kartu_keluarga(family: int = 0) -> dict[str, Any]:
    fam = copy.deepcopy(FAMILIES[family])
    return {
        **_base("kartu_keluarga", "Kartu Keluarga", "a4", f"KK-{fam['kk_number']}-20261102"),
        "family": fam,
    }


def akta_kelahiran(model: str = "kedua_orang_tua") -> dict[str, Any]:
    child = FAMILIES[0]["members"][3]
    return {
        **_base("akta_kelahiran", "Kutipan Akta Kelahiran", "a4", "AKL-3271-LT-02112026-0042"),
        "data": {
            "registration_number": "3271-LT-02112026-0042",
            "name": child["name"],
            "nik": child["nik"],
            "sex": child["sex"],
            "birth_place": "Kota Bogor",
            "birth_date": child["birth_date"],
            "birth_time": "07.45 WIB",
            "birth_order": 2,
            "model": model,
            "father": child["father"],
            "father_citizenship": "WNI",
            "mother": child["mother"],
            "mother_citizenship": "WNI",
            "issue_place": "Kota Bogor",
        },
    }


def akta_kematian() -> dict[str, Any]:
    return {
        **_base("akta_kematian", "Kutipan Akta Kematian", "a4", "AKM-3578-KM-30102026-0007"),
        "data": {
            "registration_number": "3578-KM-30102026-0007",
            "name": "Abdul Karim",
            "nik": "3578010101450001",
            "sex": "LAKI-LAKI",
            "birth_place": "Lamongan",
            "birth_date": "1945-01-01",
            "death_place": "Kota Surabaya",
            "death_date": "2026-10-28",
            "death_time": "21.10 WIB",
            "cause": "Sakit",
            "issue_place": "Kota Surabaya",
        },
    }


def surat_pindah() -> dict[str, Any]:
    fam = FAMILIES[1]
    return {
        **_base("surat_pindah", "Surat Keterangan Pindah WNI", "a4", "SKPWNI/1271/11/2026/00315"),
        "data": {
            "kk_number": fam["kk_number"],
            "head_name": fam["members"][0]["name"],
            "origin": fam["address"],
            "destination": {
                "street": "Jl. Gatot Subroto No. 21",
                "rt": "002",
                "rw": "005",
                "kelurahan": "Sei Sikambing B",
                "kecamatan": "Medan Sunggal",
                "kabupaten": "Kota Medan",
                "province": "Sumatera Utara",
                "postal_code": "20122",
            },
            "reason": "Pekerjaan",
            "move_type": "Kepala keluarga dan seluruh anggota keluarga",
            "move_date": "2026-11-15",
            "members": [
                {"nik": m["nik"], "name": m["name"], "relationship": m["relationship"]}
                for m in fam["members"]
            ],
        },
    }


def ktp_el(photo: bytes = b"", signature: bytes = b"") -> dict[str, Any]:
    p = FAMILIES[0]["members"][0]
    addr = FAMILIES[0]["address"]
    return {
        **_base("ktp_el", "KTP-el", "card", "KTP-3271-20261102-000481"),
        "data": {
            "nik": p["nik"],
            "name": p["name"],
            "birth_place": p["birth_place"],
            "birth_date": p["birth_date"],
            "sex": p["sex"],
            "blood_type": "O",
            "street": addr["street"],
            "rt": addr["rt"],
            "rw": addr["rw"],
            "kelurahan": addr["kelurahan"],
            "kecamatan": addr["kecamatan"],
            "kabupaten": addr["kabupaten"],
            "province": addr["province"],
            "religion": p["religion"],
            "marital_status": p["marital_status"],
            "occupation": p["occupation"],
            "citizenship": "WNI",
            "valid_until": "SEUMUR HIDUP",
            "issue_place": addr["kabupaten"],
            "photo": photo.hex(),
            "signature": signature.hex(),
        },
    }


def kia(photo: bytes = b"") -> dict[str, Any]:
    fam = FAMILIES[0]
    child = fam["members"][3]
    return {
        **_base("kia", "Kartu Identitas Anak", "card", "KIA-3271-20261102-000112"),
        "data": {
            "nik": child["nik"],
            "name": child["name"],
            "birth_place": child["birth_place"],
            "birth_date": child["birth_date"],
            "sex": child["sex"],
            "religion": child["religion"],
            "citizenship": "WNI",
            "kk_number": fam["kk_number"],
            "head_name": fam["members"][0]["name"],
            "birth_certificate": "3271-LT-02112026-0042",
            "street": fam["address"]["street"],
            "kabupaten": fam["address"]["kabupaten"],
            "province": fam["address"]["province"],
            "valid_until": "2032-02-04",
            "issue_place": fam["address"]["kabupaten"],
            "photo": photo.hex(),
        },
    }


def akta_perkawinan() -> dict[str, Any]:
    """A Christian couple's marriage: the civil registry records the marriages of those
    who are not Muslim (a Muslim marriage is recorded by the KUA, not Dukcapil)."""
    fam = FAMILIES[1]
    husband, wife = fam["members"][0], fam["members"][1]
    return {
        **_base("akta_perkawinan", "Kutipan Akta Perkawinan", "a4", "AKW-1271-KW-15052004-0118"),
        "data": {
            "registration_number": "1271-KW-15052004-0118",
            "husband": _spouse(husband),
            "wife": _spouse(wife),
            "marriage_place": "Kota Medan",
            "marriage_date": "2004-05-15",
            "religion": husband["religion"],
            "religious_leader": "Pdt. Marudut Simatupang, S.Th",
            "issue_place": "Kota Medan",
        },
    }


def _spouse(person: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": person["name"],
        "nik": person["nik"],
        "birth_place": person["birth_place"],
        "birth_date": person["birth_date"],
        "citizenship": "WNI",
    }


def akta_perceraian() -> dict[str, Any]:
    """A divorce the district court decided (for those not Muslim: a Muslim divorce is
    the religious court's Akta Cerai).  The couple is not in the demo families."""
    return {
        **_base("akta_perceraian", "Kutipan Akta Perceraian", "a4", "AKC-1271-CR-20102026-0009"),
        "data": {
            "registration_number": "1271-CR-20102026-0009",
            "husband": {
                "name": "Jonatan Hutapea",
                "nik": "1271020304880001",
                "birth_place": "Kota Medan",
                "birth_date": "1988-04-03",
                "citizenship": "WNI",
            },
            "wife": {
                "name": "Maria Simbolon",
                "nik": "1271025109900002",
                "birth_place": "Pematangsiantar",
                "birth_date": "1990-09-11",
                "citizenship": "WNI",
            },
            "divorce_place": "Kota Medan",
            "divorce_date": "2026-10-20",
            "court": "Pengadilan Negeri Medan",
            "court_decision": "512/Pdt.G/2026/PN Mdn",
            "court_decision_date": "2026-09-14",
            "marriage_certificate": "1271-KW-02022013-0044",
            "issue_place": "Kota Medan",
        },
    }


def _child_act(kind: str, title: str, number: str, event: str, when: str) -> dict[str, Any]:
    return {
        **_base(kind, title, "a4", number),
        "data": {
            "registration_number": number.split("-", 1)[1],
            "name": "Kevin Aditya Wijaya",
            "nik": "3271012206240003",
            "birth_certificate": "3271-LU-01072024-0311",
            "father": {"name": "Andreas Wijaya", "nik": "3271011109920001"},
            "mother": {"name": "Lusiana Putri", "nik": "3271016712950002"},
            f"{event}_place": "Kota Bogor",
            f"{event}_date": when,
            "marriage_certificate": "3271-KW-14032026-0207",
            "issue_place": "Kota Bogor",
        },
    }


def akta_pengakuan_anak() -> dict[str, Any]:
    return _child_act(
        "akta_pengakuan_anak",
        "Kutipan Akta Pengakuan Anak",
        "APA-3271-PA-09102026-0004",
        "recognition",
        "2026-10-09",
    )


def akta_pengesahan_anak() -> dict[str, Any]:
    return _child_act(
        "akta_pengesahan_anak",
        "Kutipan Akta Pengesahan Anak",
        "APS-3271-PS-23102026-0002",
        "legitimation",
        "2026-10-23",
    )


def surat_pindah_datang() -> dict[str, Any]:
    leaving = surat_pindah()
    data = dict(leaving["data"])
    data |= {
        "departure_number": leaving["number"],
        "arrival_date": "2026-11-16",
        "new_kk_number": "1271050211260004",
    }
    return {
        **_base(
            "surat_pindah_datang",
            "Surat Keterangan Pindah Datang WNI",
            "a4",
            "SKPD/1271/11/2026/00288",
        ),
        "data": data,
    }


def biodata() -> dict[str, Any]:
    fam = FAMILIES[0]
    p = fam["members"][0]
    return {
        **_base("biodata", "Biodata Penduduk WNI", "a4", "BIO-3201-20261102-000517"),
        "data": {
            "kk_number": fam["kk_number"],
            "head_name": p["name"],
            "address": fam["address"],
            "nik": p["nik"],
            "name": p["name"],
            "sex": p["sex"],
            "birth_place": p["birth_place"],
            "birth_date": p["birth_date"],
            "blood_type": "O",
            "religion": p["religion"],
            "marital_status": p["marital_status"],
            "relationship": p["relationship"],
            "education": p["education"],
            "occupation": p["occupation"],
            "birth_certificate": "3201-LT-12031980-0088",
            "marriage_certificate": "-",
            "disability": "Tidak ada",
            "father": {"name": p["father"], "nik": "-"},
            "mother": {"name": p["mother"], "nik": "-"},
        },
    }


def receipt() -> dict[str, Any]:
    return {
        "kind": "receipt",
        "kiosk_id": "adm-sim-001",
        "location": "Mal Pelayanan Publik Kota Bogor",
        "printed_at": "2026-11-02T10:15:00",
        "citizen_name": "BUDI SANTOSO",
        "masked_nik": "3201********0001",
        "documents": [
            {"title": "Kartu Keluarga", "number": "KK-3201012505180001-20261102"},
            {"title": "KTP-el", "number": "KTP-3271-20261102-000481"},
        ],
    }


def technician_test_page() -> dict[str, Any]:
    return {
        "kind": "test_page",
        "kiosk_id": "adm-sim-001",
        "printer": "ADM Simulated A4 Laser",
        "queue": "adm-a4",
        "printed_at": "2026-11-02 08:00",
        "software_version": "0.1.0",
    }


def all_samples() -> dict[str, dict[str, Any]]:
    """One payload per kind (card photos from the virtual chips' generated portraits)."""
    from sim.cards import photo, signature_image

    budi = FAMILIES[0]["members"][0]
    dewi = FAMILIES[0]["members"][3]
    return {
        "kartu_keluarga": kartu_keluarga(),
        "akta_kelahiran": akta_kelahiran(),
        "akta_kematian": akta_kematian(),
        "surat_pindah": surat_pindah(),
        "ktp_el": ktp_el(photo(budi["nik"], budi["sex"]), signature_image(budi["nik"])),
        "kia": kia(photo(dewi["nik"], dewi["sex"])),
        "akta_perkawinan": akta_perkawinan(),
        "akta_perceraian": akta_perceraian(),
        "akta_pengakuan_anak": akta_pengakuan_anak(),
        "akta_pengesahan_anak": akta_pengesahan_anak(),
        "surat_pindah_datang": surat_pindah_datang(),
        "biodata": biodata(),
        "receipt": receipt(),
        "test_page": technician_test_page(),
    }
