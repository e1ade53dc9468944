"""Demo citizens and families: the people the simulated kiosk and the demo server know.

Realistic but fictitious data: NIKs follow the real layout (6-digit region code, birth
date with 40 added to the day for women, 4-digit serial) so parsers see real shapes.
The server's ``seed-demo`` and ``adm-sim card insert`` both read this one list.
"""

from __future__ import annotations

from typing import Any

Member = dict[str, str]

_COMMON = {"citizenship": "WNI", "passport": "-", "kitap": "-"}


def _m(**kw: str) -> Member:
    return {**_COMMON, **kw}


FAMILIES: list[dict[str, Any]] = [
    {
        "kk_number": "3201012505180001",
        "address": {
            "street": "Jl. Raya Pajajaran No. 45",
            "rt": "003",
            "rw": "007",
            "kelurahan": "Baranangsiang",
            "kecamatan": "Bogor Timur",
            "kabupaten": "Kota Bogor",
            "province": "Jawa Barat",
            "postal_code": "16143",
        },
        "members": [
            _m(
                nik="3201011203800001",
                name="Budi Santoso",
                sex="LAKI-LAKI",
                birth_place="Bogor",
                birth_date="1980-03-12",
                religion="ISLAM",
                education="DIPLOMA IV/STRATA I",
                occupation="KARYAWAN SWASTA",
                marital_status="KAWIN",
                relationship="KEPALA KELUARGA",
                father="Slamet Riyadi",
                mother="Sri Wahyuni",
            ),
            _m(
                nik="3201015507850002",
                name="Siti Aminah",
                sex="PEREMPUAN",
                birth_place="Sukabumi",
                birth_date="1985-07-15",
                religion="ISLAM",
                education="SLTA/SEDERAJAT",
                occupation="MENGURUS RUMAH TANGGA",
                marital_status="KAWIN",
                relationship="ISTRI",
                father="Ahmad Hidayat",
                mother="Euis Komariah",
            ),
            _m(
                nik="3201010908100003",
                name="Rizky Pratama Santoso",
                sex="LAKI-LAKI",
                birth_place="Bogor",
                birth_date="2010-08-09",
                religion="ISLAM",
                education="SLTP/SEDERAJAT",
                occupation="PELAJAR/MAHASISWA",
                marital_status="BELUM KAWIN",
                relationship="ANAK",
                father="Budi Santoso",
                mother="Siti Aminah",
            ),
            _m(
                nik="3201014402150004",
                name="Dewi Lestari Santoso",
                sex="PEREMPUAN",
                birth_place="Bogor",
                birth_date="2015-02-04",
                religion="ISLAM",
                education="TAMAT SD/SEDERAJAT",
                occupation="PELAJAR/MAHASISWA",
                marital_status="BELUM KAWIN",
                relationship="ANAK",
                father="Budi Santoso",
                mother="Siti Aminah",
            ),
        ],
    },
    {
        "kk_number": "1271010203190002",
        "address": {
            "street": "Jl. Sisingamangaraja Gg. Mawar No. 12",
            "rt": "001",
            "rw": "004",
            "kelurahan": "Teladan Barat",
            "kecamatan": "Medan Kota",
            "kabupaten": "Kota Medan",
            "province": "Sumatera Utara",
            "postal_code": "20217",
        },
        "members": [
            _m(
                nik="1271010506750001",
                name="Hendra Sitorus",
                sex="LAKI-LAKI",
                birth_place="Pematangsiantar",
                birth_date="1975-06-05",
                religion="KRISTEN",
                education="SLTA/SEDERAJAT",
                occupation="WIRASWASTA",
                marital_status="KAWIN",
                relationship="KEPALA KELUARGA",
                father="Mangasi Sitorus",
                mother="Tiurma Nainggolan",
            ),
            _m(
                nik="1271014708780002",
                name="Rina Marpaung",
                sex="PEREMPUAN",
                birth_place="Tarutung",
                birth_date="1978-08-07",
                religion="KRISTEN",
                education="DIPLOMA III",
                occupation="GURU",
                marital_status="KAWIN",
                relationship="ISTRI",
                father="Bonar Marpaung",
                mother="Rosmawati Simanjuntak",
            ),
            _m(
                nik="1271016103050003",
                name="Yohana Maria Sitorus",
                sex="PEREMPUAN",
                birth_place="Medan",
                birth_date="2005-03-21",
                religion="KRISTEN",
                education="SLTA/SEDERAJAT",
                occupation="PELAJAR/MAHASISWA",
                marital_status="BELUM KAWIN",
                relationship="ANAK",
                father="Hendra Sitorus",
                mother="Rina Marpaung",
            ),
        ],
    },
    {
        "kk_number": "3578011411200003",
        "address": {
            "street": "Jl. Kertajaya Indah Timur IV No. 8",
            "rt": "005",
            "rw": "002",
            "kelurahan": "Manyar Sabrangan",
            "kecamatan": "Mulyorejo",
            "kabupaten": "Kota Surabaya",
            "province": "Jawa Timur",
            "postal_code": "60116",
        },
        "members": [
            _m(
                nik="3578011010700001",
                name="Ahmad Fauzi",
                sex="LAKI-LAKI",
                birth_place="Lamongan",
                birth_date="1970-10-10",
                religion="ISLAM",
                education="DIPLOMA IV/STRATA I",
                occupation="PEGAWAI NEGERI SIPIL",
                marital_status="KAWIN",
                relationship="KEPALA KELUARGA",
                father="Abdul Karim",
                mother="Siti Maryam",
            ),
            _m(
                nik="3578015011720002",
                name="Nur Aini",
                sex="PEREMPUAN",
                birth_place="Surabaya",
                birth_date="1972-11-10",
                religion="ISLAM",
                education="SLTA/SEDERAJAT",
                occupation="PEDAGANG",
                marital_status="KAWIN",
                relationship="ISTRI",
                father="Mochammad Said",
                mother="Khadijah",
            ),
            _m(
                nik="3578010203000003",
                name="Muhammad Rizal Fauzi",
                sex="LAKI-LAKI",
                birth_place="Surabaya",
                birth_date="2000-03-02",
                religion="ISLAM",
                education="DIPLOMA IV/STRATA I",
                occupation="KARYAWAN SWASTA",
                marital_status="BELUM KAWIN",
                relationship="ANAK",
                father="Ahmad Fauzi",
                mother="Nur Aini",
            ),
            _m(
                nik="3578014504030004",
                name="Fitri Handayani",
                sex="PEREMPUAN",
                birth_place="Surabaya",
                birth_date="2003-04-05",
                religion="ISLAM",
                education="SLTA/SEDERAJAT",
                occupation="PELAJAR/MAHASISWA",
                marital_status="BELUM KAWIN",
                relationship="ANAK",
                father="Ahmad Fauzi",
                mother="Nur Aini",
            ),
            _m(
                nik="3578011207080005",
                name="Bayu Saputra",
                sex="LAKI-LAKI",
                birth_place="Surabaya",
                birth_date="2008-07-12",
                religion="ISLAM",
                education="SLTP/SEDERAJAT",
                occupation="PELAJAR/MAHASISWA",
                marital_status="BELUM KAWIN",
                relationship="ANAK",
                father="Ahmad Fauzi",
                mother="Nur Aini",
            ),
        ],
    },
]

ISSUING_OFFICIAL = {
    "name": "Drs. H. Rahmat Hidayat, M.Si",
    "nip": "196805121994031005",
    "title": "Kepala Dinas Kependudukan dan Pencatatan Sipil",
}


def citizens() -> list[Member]:
    """Every demo citizen, flattened, each with its family's KK number."""
    return [
        {**member, "kk_number": fam["kk_number"]} for fam in FAMILIES for member in fam["members"]
    ]


def citizen(nik: str) -> Member:
    """The demo citizen with ``nik`` (KeyError names the NIK when there is none)."""
    for person in citizens():
        if person["nik"] == nik:
            return person
    raise KeyError(f"no demo citizen with NIK {nik}")


DEMO_NIK = FAMILIES[0]["members"][0]["nik"]

# The technician PIN whose SHA-256 is in config/kiosk.toml (a test value, like the keys).
TEST_TECHNICIAN_PIN = "246810"
