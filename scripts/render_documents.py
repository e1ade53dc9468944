"""Render every document kind from the sample payloads to PNG (docs/documents) and, with
--golden, to the reference images of the golden tests (tests/golden)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from printing.renderers import render
from sim.documents import all_samples

ROOT = Path(__file__).resolve().parent.parent
DPI = {"docs": 60, "golden": 40}  # A4 pages; cards (CR80) get four times the resolution


def to_png(pdf: bytes, out_prefix: Path, dpi: int) -> list[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "doc.pdf"
        src.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(src), str(out_prefix)], check=True)
    return sorted(out_prefix.parent.glob(out_prefix.name + "-*.png"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--golden", action="store_true", help="write tests/golden instead")
    args = parser.parse_args()
    target = ROOT / ("tests/golden" if args.golden else "docs/documents")
    dpi = DPI["golden" if args.golden else "docs"]
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.png"):
        old.unlink()
    for kind, payload in all_samples().items():
        scale = 4 if payload.get("medium") == "card" else 1
        for page in to_png(render(payload), target / kind, dpi * scale):
            print(page.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
