"""Kartu Keluarga renderer: text (pdftotext), QR (zbarimg), determinism, bad data."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from printing import kartu_keluarga
from sim.population import FAMILIES, ISSUING_OFFICIAL


def payload(family: dict[str, Any] | None = None) -> dict[str, Any]:
    fam = copy.deepcopy(family or FAMILIES[0])
    number = f"KK-{fam['kk_number']}-20261102"
    return {
        "kind": "kartu_keluarga",
        "number": number,
        "verification": f"ADM1:{number}",
        "issued_at": "2026-11-02",
        "official": ISSUING_OFFICIAL,
        "family": fam,
    }


def pdftotext(pdf: bytes, tmp: Path) -> str:
    path = tmp / "kk.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_text_names_every_member(tmp_path: Path) -> None:
    text = pdftotext(kartu_keluarga.render(payload()), tmp_path)
    assert "KARTU KELUARGA" in text
    assert FAMILIES[0]["kk_number"] in text
    for member in FAMILIES[0]["members"]:
        assert member["name"] in text
        assert member["nik"] in text
    assert "Bogor Timur" in text


def test_same_input_same_bytes() -> None:
    assert kartu_keluarga.render(payload()) == kartu_keluarga.render(payload())


def test_page_is_a4_landscape(tmp_path: Path) -> None:
    path = tmp_path / "kk.pdf"
    path.write_bytes(kartu_keluarga.render(payload()))
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
    fields = {
        k.strip(): v.strip() for k, _, v in (line.partition(":") for line in info.splitlines())
    }
    assert fields["Pages"] == "1"
    assert fields["Page size"] == "841.89 x 595.276 pts (A4)"


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbar-tools not installed")
def test_qr_decodes_to_the_verification_payload(tmp_path: Path) -> None:
    path = tmp_path / "kk.pdf"
    path.write_bytes(kartu_keluarga.render(payload()))
    subprocess.run(["pdftoppm", "-png", "-r", "100", str(path), str(tmp_path / "p")], check=True)
    out = subprocess.run(
        ["zbarimg", "-q", "--raw", str(tmp_path / "p-1.png")], capture_output=True, text=True
    ).stdout.strip()
    assert out == payload()["verification"]


def test_non_ascii_names_survive(tmp_path: Path) -> None:
    fam = copy.deepcopy(FAMILIES[0])
    fam["members"][0]["name"] = "Ni Luh Ayu Déwi Pradnyaswari"
    text = pdftotext(kartu_keluarga.render(payload(fam)), tmp_path)
    assert "Ni Luh Ayu Déwi Pradnyaswari" in text


def test_missing_field_is_named() -> None:
    p = payload()
    del p["family"]["kk_number"]
    with pytest.raises(kartu_keluarga.DocumentDataError, match=r"family\.kk_number"):
        kartu_keluarga.render(p)
