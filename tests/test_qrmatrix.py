"""The QR matrices from libqrencode: what zbar reads back is exactly what was encoded, the
structure is a real QR code, and bad input gets a clear error."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from printing import qrmatrix
from printing.qrmatrix import QrError


def decode(rows: list[list[bool]], scale: int = 4, border: int = 4) -> str:
    """Draw the matrix as a PNG with a quiet zone and read it back with zbarimg."""
    n = len(rows)
    img = Image.new("L", (n, n))
    img.putdata([0 if dark else 255 for row in rows for dark in row])
    img = ImageOps.expand(
        img.resize((n * scale, n * scale), Image.Resampling.NEAREST), border * scale, fill=255
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "qr.png"
        img.save(path)
        out = subprocess.run(["zbarimg", "-q", "--raw", "-Sbinary", str(path)], capture_output=True)
    assert out.returncode == 0, "zbar found no QR code"
    return out.stdout.rstrip(b"\n").decode("utf-8")


def finder_at(rows: list[list[bool]], r0: int, c0: int) -> bool:
    """A 7×7 finder pattern (dark ring, light ring, dark 3×3 core) at (r0, c0)."""
    for r in range(7):
        for c in range(7):
            ring = max(abs(r - 3), abs(c - 3))
            if rows[r0 + r][c0 + c] != (ring != 2):
                return False
    return True


def test_a_verification_text_reads_back_exactly() -> None:
    text = "https://verifikasi.dukcapil.example/v/3201-KK-2026-000123?s=Zm9vYmFyYmF6cXV4"
    rows = qrmatrix.matrix(text)
    assert decode(rows) == text


def test_structure_is_a_square_qr_code_with_three_finders() -> None:
    rows = qrmatrix.matrix("ADM")
    n = len(rows)
    assert all(len(row) == n for row in rows)
    assert (n - 17) % 4 == 0  # version v has 17 + 4v modules a side
    assert finder_at(rows, 0, 0) and finder_at(rows, 0, n - 7) and finder_at(rows, n - 7, 0)
    assert not finder_at(rows, n - 7, n - 7)


def test_longer_text_takes_a_larger_version() -> None:
    assert len(qrmatrix.matrix("x" * 300)) > len(qrmatrix.matrix("x" * 10))


def test_nul_and_non_ascii_are_encoded_not_cut() -> None:
    text = "Tanda tangan: Ni Luh Putu Ayu — Denpasar\x00ekor"
    assert decode(qrmatrix.matrix(text)) == text


@pytest.mark.parametrize("text", ["", "é" * 2000])
def test_what_cannot_be_encoded_is_a_clear_error(text: str) -> None:
    with pytest.raises(QrError, match=r"empty|does not fit"):
        qrmatrix.matrix(text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(min_size=1, max_size=400).filter(lambda s: "\n" not in s))
def test_any_text_reads_back_exactly(text: str) -> None:
    rows = qrmatrix.matrix(text)
    assert decode(rows, scale=3) == text
