"""Every document renderer: text (pdftotext), QR (zbarimg), page size, determinism,
golden images, and edge-case data (12 members, 100-character names, missing fields)."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops

from printing import akta, cards
from printing.layout import DocumentDataError
from printing.renderers import RENDERERS, UnknownDocumentKind, render
from sim import documents
from sim.documents import all_samples

GOLDEN = Path(__file__).parent / "golden"
SAMPLES = all_samples()
A4_KINDS = [k for k, p in SAMPLES.items() if p.get("medium") == "a4"]


def pdf_file(pdf: bytes, tmp: Path, name: str = "doc.pdf") -> Path:
    path = tmp / name
    path.write_bytes(pdf)
    return path


def text_of(pdf: bytes, tmp: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf_file(pdf, tmp)), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def info(pdf: bytes, tmp: Path) -> dict[str, str]:
    out = subprocess.run(
        ["pdfinfo", str(pdf_file(pdf, tmp))], capture_output=True, text=True, check=True
    ).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


def pages(pdf: bytes, tmp: Path, dpi: int) -> list[Path]:
    src = pdf_file(pdf, tmp)
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(src), str(tmp / "p")], check=True)
    return sorted(tmp.glob("p-*.png"))


def test_every_kind_has_a_renderer_and_a_sample() -> None:
    assert set(SAMPLES) == set(RENDERERS)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(UnknownDocumentKind):
        render({"kind": "sim_card"})


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_same_input_same_bytes(kind: str) -> None:
    assert render(SAMPLES[kind]) == render(copy.deepcopy(SAMPLES[kind]))


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_matches_golden_image(kind: str, tmp_path: Path) -> None:
    """Rendered pages against the reference images (scripts/render_documents.py --golden),
    with a tolerance for rasteriser differences; a moved or missing element fails."""
    dpi = 160 if SAMPLES[kind].get("medium") == "card" else 40
    got = pages(render(SAMPLES[kind]), tmp_path, dpi)
    want = sorted(GOLDEN.glob(f"{kind}-*.png"))
    assert len(got) == len(want) > 0
    for g, w in zip(got, want, strict=True):
        a, b = Image.open(g).convert("L"), Image.open(w).convert("L")
        assert a.size == b.size
        diff = ImageChops.difference(a, b)
        hist = diff.histogram()
        changed = sum(hist[64:]) / (a.width * a.height)
        assert changed < 0.002, f"{w.name}: {changed:.2%} of pixels differ"


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            "kartu_keluarga",
            [
                "KARTU KELUARGA",
                "3201012505180001",
                "Budi Santoso",
                "Dewi Lestari Santoso",
                "Bogor Timur",
                "Slamet Riyadi",
            ],
        ),
        (
            "akta_kelahiran",
            [
                "KUTIPAN AKTA KELAHIRAN",
                "DEWI LESTARI SANTOSO",
                "empat Februari tahun dua ribu lima belas",
                "anak kedua dari ayah Budi",
            ],
        ),
        (
            "akta_kematian",
            [
                "KUTIPAN AKTA KEMATIAN",
                "ABDUL KARIM",
                "3578010101450001",
                "dua puluh delapan Oktober",
            ],
        ),
        (
            "surat_pindah",
            [
                "SURAT KETERANGAN PINDAH",
                "Hendra Sitorus",
                "Medan Sunggal",
                "1271016103050003",
                "15 November 2026",
            ],
        ),
        ("ktp_el", ["PROVINSI JAWA BARAT", "3201011203800001", "BUDI SANTOSO", "SEUMUR HIDUP"]),
        ("kia", ["KARTU IDENTITAS ANAK", "3201014402150004", "DEWI LESTARI SANTOSO"]),
        ("receipt", ["TANDA TERIMA", "3201********0001", "KK-3201012505180001-20261102"]),
        ("test_page", ["HALAMAN UJI PRINTER", "adm-sim-001", "100%"]),
    ],
)
def test_text(kind: str, expected: list[str], tmp_path: Path) -> None:
    text = " ".join(text_of(render(SAMPLES[kind]), tmp_path).split())
    for piece in expected:
        assert piece in text, piece


def test_receipt_never_carries_the_full_nik(tmp_path: Path) -> None:
    assert "3201011203800001" not in text_of(render(SAMPLES["receipt"]), tmp_path)


@pytest.mark.parametrize("kind", A4_KINDS)
def test_a4_documents_are_a4_and_one_page(kind: str, tmp_path: Path) -> None:
    meta = info(render(SAMPLES[kind]), tmp_path)
    assert meta["Pages"] == "1"
    assert "(A4)" in meta["Page size"]


@pytest.mark.parametrize("kind", ["ktp_el", "kia"])
def test_cards_are_cr80_front_and_back(kind: str, tmp_path: Path) -> None:
    meta = info(render(SAMPLES[kind]), tmp_path)
    assert meta["Pages"] == "2"
    assert meta["Page size"].startswith("242.646 x 153.014 pts")


@pytest.mark.parametrize("kind", [k for k in A4_KINDS] + ["ktp_el", "kia"])
def test_qr_decodes_to_the_verification_payload(kind: str, tmp_path: Path) -> None:
    payload = SAMPLES[kind]
    if "verification" not in payload:
        pytest.skip("receipts and test pages carry no verification code")
    dpi = 300 if payload.get("medium") == "card" else 100
    found = set()
    for page in pages(render(payload), tmp_path, dpi):
        out = subprocess.run(
            ["zbarimg", "-q", "--raw", str(page)], capture_output=True, text=True
        ).stdout.strip()
        found.update(out.splitlines())
    assert found == {payload["verification"]}


def twelve_long_members() -> dict[str, Any]:
    p = documents.kartu_keluarga()
    template = p["family"]["members"][0]
    p["family"]["members"] = [
        dict(
            template,
            nik=f"32010112038000{i:02d}",
            name=("Ni Luh Putu Ayu Kadek Sekar Wangi Pradnyaswari " * 3)[:99] + chr(65 + i),
            father=("Gusti Ngurah Made Oka " * 6)[:100],
        )
        for i in range(12)
    ]
    return p


def test_kk_with_twelve_members_and_long_names_stays_on_one_page(tmp_path: Path) -> None:
    pdf = render(twelve_long_members())
    assert info(pdf, tmp_path)["Pages"] == "1"
    text = text_of(pdf, tmp_path)
    for i in range(12):
        assert f"32010112038000{i:02d}" in text
    # the QR still decodes: the tables did not run over it
    out = subprocess.run(
        ["zbarimg", "-q", "--raw", str(pages(pdf, tmp_path, 100)[0])],
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert out == twelve_long_members()["verification"]


def test_kk_missing_optional_fields_render_as_dash(tmp_path: Path) -> None:
    p = documents.kartu_keluarga()
    for m in p["family"]["members"]:
        for key in ("passport", "kitap", "education", "occupation", "birth_place"):
            m.pop(key, None)
    del p["family"]["address"]["postal_code"]
    text = text_of(render(p), tmp_path)
    assert "Kode Pos" in text and "Budi Santoso" in text


def test_non_ascii_names_survive(tmp_path: Path) -> None:
    p = documents.kartu_keluarga()
    p["family"]["members"][0]["name"] = "Ni Luh Ayu Déwi Pradnyaswari Çakra"
    assert "Ni Luh Ayu Déwi Pradnyaswari Çakra" in text_of(render(p), tmp_path)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: p["family"].pop("kk_number"), r"family\.kk_number"),
        (lambda p: p["family"]["members"][1].pop("nik"), r"family\.members\[1\]\.nik"),
        (lambda p: p.pop("verification"), r"payload\.verification"),
    ],
)
def test_missing_required_field_is_named(mutate: Any, field: str) -> None:
    p = documents.kartu_keluarga()
    mutate(p)
    with pytest.raises(DocumentDataError, match=field):
        render(p)


@pytest.mark.parametrize(
    ("model", "sentence"),
    [
        ("kedua_orang_tua", "anak kedua dari ayah Budi Santoso dan ibu Siti Aminah"),
        ("ibu", "anak kedua dari seorang ibu bernama Siti Aminah"),
        ("ayah", "anak kedua dari ayah Budi Santoso"),
        ("tidak_diketahui", "tidak diketahui asal-usul"),
    ],
)
def test_birth_certificate_models(model: str, sentence: str, tmp_path: Path) -> None:
    text = " ".join(text_of(render(documents.akta_kelahiran(model)), tmp_path).split())
    assert sentence in text
    if model == "ibu":
        assert "Budi Santoso" not in text


def test_unknown_birth_model_is_refused() -> None:
    with pytest.raises(DocumentDataError, match=r"data\.model"):
        akta.render_birth(documents.akta_kelahiran("kakek"))


def test_card_without_photo_says_so(tmp_path: Path) -> None:
    assert "tanpa foto" in text_of(cards.render_kia(documents.kia()), tmp_path)


def test_card_with_a_broken_photo_is_refused() -> None:
    with pytest.raises(DocumentDataError, match=r"data\.photo"):
        cards.render_ktp(documents.ktp_el(photo=b"not a jpeg"))


def test_renderers_load_at_first_use_or_when_warmed() -> None:
    """The kiosk starts without reportlab: the renderers come in at the first render or
    from ``warm`` on a worker thread once the kiosk is up."""
    import subprocess
    import sys

    probe = (
        "import sys, kiosk.app, printing.renderers as r;"
        "print('reportlab' in sys.modules);"
        "r.warm(); print('reportlab' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "True"]
    with pytest.raises(UnknownDocumentKind):
        render({"kind": "no_such_kind"})
