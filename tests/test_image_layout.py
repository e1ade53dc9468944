"""The disk image's layout (scripts/build_image.py), on small partitions: GPT with the
ESP, two root slots and the data partition by name and type, each partition's file
system where it belongs, slot B left empty; and the boot entry names its slot's root.
The full image is built and booted by make boot-test."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("build_image", ROOT / "scripts/build_image.py")
assert _spec is not None and _spec.loader is not None
bi = importlib.util.module_from_spec(_spec)
sys.modules["build_image"] = bi
_spec.loader.exec_module(bi)

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("sfdisk", "mkfs.ext4", "mkfs.vfat", "mcopy")),
    reason="fdisk, e2fsprogs, dosfstools and mtools (make image-tools)",
)


def test_the_disk_is_laid_out_for_an_ab_updater(tmp_path: Path) -> None:
    esp, root, data = tmp_path / "esp", tmp_path / "root", tmp_path / "data"
    for d in (esp / "loader" / "entries", root / "etc", data / "adm"):
        d.mkdir(parents=True)
    (esp / "loader" / "entries" / "adm-1-a.conf").write_text(bi.sdboot.entry_text("a", bi.CMDLINE))
    (root / "etc" / "hostname").write_text("adm-kiosk\n")
    (data / "adm" / "kiosk.toml").write_text("[kiosk]\n")
    mib = bi.MIB
    bi.vfat_image(tmp_path / "esp.img", 34 * mib, esp, "ADM-ESP")
    bi.ext4_image(tmp_path / "root.img", 16 * mib, root, "adm-root-a")
    bi.ext4_image(tmp_path / "data.img", 8 * mib, data, "adm-data")
    disk = tmp_path / "disk.img"
    bi.assemble(
        disk,
        [
            ("adm-esp", 34 * mib, tmp_path / "esp.img", bi.ESP_TYPE),
            ("adm-root-a", 16 * mib, tmp_path / "root.img", bi.ROOT_TYPE),
            ("adm-root-b", 16 * mib, None, bi.ROOT_TYPE),
            ("adm-data", 8 * mib, tmp_path / "data.img", bi.DATA_TYPE),
        ],
    )
    table = json.loads(subprocess.run(["sfdisk", "--json", str(disk)], capture_output=True,
                                      text=True, check=True).stdout)["partitiontable"]  # fmt: skip
    assert table["label"] == "gpt"
    parts = [(p["name"], p["type"], p["size"] * 512) for p in table["partitions"]]
    assert parts == [
        ("adm-esp", bi.ESP_TYPE, 34 * mib),
        ("adm-root-a", bi.ROOT_TYPE, 16 * mib),
        ("adm-root-b", bi.ROOT_TYPE, 16 * mib),
        ("adm-data", bi.DATA_TYPE, 8 * mib),
    ]
    starts = [p["start"] * 512 for p in table["partitions"]]

    def part(i: int) -> bytes:
        with open(disk, "rb") as f:
            f.seek(starts[i])
            return f.read(parts[i][2])

    assert part(0)[82:87] == b"FAT32"  # the ESP's boot sector
    for i in (1, 3):
        assert part(i)[1080:1082] == b"\x53\xef"  # the ext4 superblock's magic
    assert part(2) == bytes(len(part(2)))  # slot B: nothing yet
    # the boot entry of slot A names slot A's root (and to RAUC its slot), the board's
    # serial layout, and a reboot after a kernel panic (a try used: boot counting)
    entry = bi.sdboot.entry_text("a", bi.CMDLINE)
    assert "root=PARTLABEL=adm-root-a rauc.slot=a" in entry and "adm.fingerprint=ttyS1" in entry
    assert "panic=10" in entry
    assert "default adm-*" in bi.LOADER
    # RAUC's slots are the disk's, by the names the partitions carry
    conf = bi.SYSTEM_CONF.format(compatible=bi.COMPATIBLE)
    assert "device=/dev/disk/by-partlabel/adm-root-a" in conf and "bootname=b" in conf
    assert "bootloader-custom-backend=/opt/adm-kiosk/venv/bin/adm-rauc-bootloader" in conf
    assert disk.stat().st_blocks * 512 < disk.stat().st_size  # sparse


def test_sizes_and_dependencies_are_read_plainly() -> None:
    assert bi.size_bytes("3G") == 3 * 1024**3 and bi.size_bytes("512M") == 512 * 1024**2
    assert bi.size_bytes("4096") == 4096
