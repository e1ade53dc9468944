"""The booted appliance's figures (``make bench-boot``): image size and build time, boot to
READY and to the idle screen, the kiosk's memory in the guest, the watchdog's and a
power cut's way back to idle.

It runs the boot tests (tests/boot, which measure as they prove) on the current image
and prints one table with the machine and the date, for docs/benchmarks.md.

    python bench/boot.py [--power-cuts N] [--accel tcg|kvm]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import header  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--power-cuts", type=int, default=10)
    p.add_argument("--accel", default=os.environ.get("ADM_GUEST_ACCEL", "tcg"))
    args = p.parse_args()
    image_info = ROOT / "dist" / "adm-kiosk-rig.img.json"
    if not image_info.is_file():
        print("bench/boot.py: no image: make image-rig")
        return 2
    figures = Path(tempfile.mkdtemp(prefix="adm-boot-bench-")) / "figures.json"
    env = {
        **os.environ,
        "ADM_BOOT": "1",
        "ADM_BOOT_FIGURES": str(figures),
        "ADM_BOOT_POWER_CUTS": str(args.power_cuts),
        "ADM_GUEST_ACCEL": args.accel,
    }
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "tests/boot"], cwd=ROOT, env=env
    )
    image = json.loads(image_info.read_text())
    got = json.loads(figures.read_text()) if figures.is_file() else {}
    print(f"\n{header()}, QEMU {args.accel}")
    rows = [
        ("image (sparse file; written)", f"{image['disk_bytes'] / 1e9:.1f} GB; "
         f"{image['allocated_bytes'] / 1e9:.2f} GB"),
        ("root file system", f"{image['root_tree_bytes'] / 1e9:.2f} GB"),
        ("image build (bootstrap)", f"{image['build_seconds']} s ({image['bootstrap_seconds']} s)"),
    ]  # fmt: skip
    rows += [(name, str(value)) for name, value in got.items()]
    for name, value in rows:
        print(f"| {name} | {value} |")
    return tests.returncode


if __name__ == "__main__":
    sys.exit(main())
