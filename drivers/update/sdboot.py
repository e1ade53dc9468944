"""RAUC's boot loader backend for systemd-boot with boot counting (``bootloader=custom``).

RAUC 1.8 knows GRUB, U-Boot, barebox and UEFI boot variables, not systemd-boot; its
custom backend is a program it calls as ``get-primary``, ``set-primary SLOT``,
``get-state SLOT`` and ``set-state SLOT good|bad``.  This is that program, on the ESP's
Boot Loader Specification entries, one per slot:

    loader/loader.conf          default adm-*      (never rewritten)
    loader/entries/adm-1-a.conf                    slot a, generation 1, good
    loader/entries/adm-2-b+3.conf                  slot b, generation 2, 3 tries left
    adm-a/vmlinuz, adm-a/initrd.img                each slot's own kernel

What systemd-boot 252 does with them (src/boot/efi/boot.c, config_entry_compare and
config_default_entry_select): entries whose counter reached 0 sort last, the others by
id, highest version first, and the ``default`` pattern takes the first match.  So the
newest generation that is not used up boots; each boot of an entry with a counter
renames it first (``+3`` → ``+2-1``), and when it is used up (``+0-3``) the other slot's
entry comes first again, with no program of ours involved: a kernel that panics
(``panic=10`` reboots) or a system that never passes its health gate returns to the
previous slot by itself.  ``set-state good`` removes the counter (what systemd's
bless-boot does; that unit is masked on the image so that only the updater's health
gate blesses a slot), ``set-state bad`` sets it to 0.

Power cuts: every change is one new file written under a name systemd-boot ignores,
flushed, then renamed (FAT's rename rewrites one directory entry), and the slot's
kernel is on the ESP before its entry names it.  ``set-primary`` copies the kernel from
the slot RAUC has just written, because RAUC runs its post-install handler only after
it has switched the boot target.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ESP = Path("/boot/efi")
SLOTS = ("a", "b")
TRIES = 3
ENTRY = re.compile(r"^adm-(\d{1,9})-([ab])(?:\+(\d{1,3})(?:-(\d{1,3}))?)?\.conf$")


class BootError(Exception):
    """The ESP is not as this backend left it, or a slot cannot be made bootable."""


@dataclass(frozen=True)
class Entry:
    path: Path
    generation: int
    slot: str
    left: int | None  # tries left; None: no counter (blessed)
    done: int

    @property
    def bad(self) -> bool:
        return self.left == 0

    @property
    def trying(self) -> bool:
        return self.left is not None and self.left > 0

    def renamed(self, left: int | None, done: int = 0) -> str:
        base = f"adm-{self.generation}-{self.slot}"
        if left is None:
            return base + ".conf"
        return f"{base}+{left}" + (f"-{done}" if done else "") + ".conf"


def entries(esp: Path) -> list[Entry]:
    """The slots' entries in the order systemd-boot tries them."""
    found = []
    folder = esp / "loader" / "entries"
    for path in folder.iterdir() if folder.is_dir() else ():
        m = ENTRY.match(path.name)
        if m:
            left = int(m.group(3)) if m.group(3) is not None else None
            found.append(Entry(path, int(m.group(1)), m.group(2), left, int(m.group(4) or 0)))
    return sorted(found, key=lambda e: (e.bad, -e.generation, e.slot))


def of_slot(esp: Path, slot: str) -> Entry | None:
    """The slot's newest entry."""
    mine = [e for e in entries(esp) if e.slot == slot]
    return max(mine, key=lambda e: e.generation) if mine else None


def primary(esp: Path) -> str:
    listed = entries(esp)
    if not listed:
        raise BootError(f"no boot entry of a slot in {esp}/loader/entries")
    return listed[0].slot


def state(esp: Path, slot: str) -> str:
    entry = of_slot(esp, slot)
    return "good" if entry is not None and not entry.bad else "bad"


def _sync() -> None:
    os.sync()  # FAT has no journal: the data is on the disk before the name that uses it


def _rename(entry: Entry, name: str) -> None:
    if entry.path.name != name:
        os.replace(entry.path, entry.path.with_name(name))
        _sync()


def set_state(esp: Path, slot: str, good: bool) -> None:
    entry = of_slot(esp, slot)
    if entry is None:
        if good:
            raise BootError(f"slot {slot} has no boot entry to mark good")
        return
    _rename(entry, entry.renamed(None) if good else entry.renamed(0, entry.done or TRIES))


def _write(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".new")  # not *.conf: systemd-boot skips it
    with partial.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)


def _newest(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern), key=lambda p: [int(x) for x in re.findall(r"\d+", p.name)])
    if not found:
        raise BootError(f"no {pattern} in {folder}")
    return found[-1]


def install_kernel(esp: Path, slot: str, root: Path) -> None:
    """The kernel and initrd of the slot's system (mounted at ``root``) onto the ESP."""
    folder = esp / f"adm-{slot}"
    folder.mkdir(exist_ok=True)
    for src, name in (
        (_newest(root / "boot", "vmlinuz-*"), "vmlinuz"),
        (_newest(root / "boot", "initrd.img-*"), "initrd.img"),
    ):
        _write(folder / name, src.read_bytes())
    _sync()


def entry_text(slot: str, cmdline: str) -> str:
    return (
        f"title ADM kiosk (slot {slot})\n"
        f"linux /adm-{slot}/vmlinuz\n"
        f"initrd /adm-{slot}/initrd.img\n"
        f"options root=PARTLABEL=adm-root-{slot} rauc.slot={slot} {cmdline.strip()}\n"
    )


def set_primary(esp: Path, slot: str, root: Path, cmdline: str) -> None:
    """Make ``slot`` the next boot's, on trial: its kernel onto the ESP, then a new entry
    of the next generation with ``TRIES`` tries, then the slot's older entries gone."""
    listed = entries(esp)
    current = of_slot(esp, slot)
    if listed and listed[0] is current and current is not None and current.left is None:
        return  # already the blessed primary
    install_kernel(esp, slot, root)
    generation = max((e.generation for e in listed), default=0) + 1
    name = f"adm-{generation}-{slot}+{TRIES}.conf"
    _write(esp / "loader" / "entries" / name, entry_text(slot, cmdline).encode())
    _sync()
    for old in listed:
        if old.slot == slot:
            old.path.unlink(missing_ok=True)
    _sync()


@contextlib.contextmanager
def mounted(device: str) -> Iterator[Path]:
    """The slot's file system, read-only, for as long as the block lasts."""
    where = Path(tempfile.mkdtemp(prefix="adm-slot-"))
    try:
        done = subprocess.run(
            ["mount", "-o", "ro", device, str(where)], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise BootError(f"mount {device}: {done.stderr.strip()}")
        try:
            yield where
        finally:
            subprocess.run(["umount", str(where)], capture_output=True)
    finally:
        with contextlib.suppress(OSError):
            where.rmdir()


def _slot(name: str) -> str:
    if name not in SLOTS:
        raise BootError(f"unknown slot {name!r} (the slots are {', '.join(SLOTS)})")
    return name


def main(argv: list[str] | None = None) -> int:
    """``adm-rauc-bootloader get-primary | set-primary S | get-state S | set-state S good|bad``
    (RAUC's custom backend interface; ADM_ESP names another ESP, for tests)."""
    args = sys.argv[1:] if argv is None else argv
    esp = Path(os.environ.get("ADM_ESP", str(ESP)))
    try:
        if args == ["get-primary"]:
            print(primary(esp))
        elif len(args) == 2 and args[0] == "get-state":
            print(state(esp, _slot(args[1])))
        elif len(args) == 3 and args[0] == "set-state" and args[2] in ("good", "bad"):
            set_state(esp, _slot(args[1]), args[2] == "good")
        elif len(args) == 2 and args[0] == "set-primary":
            slot = _slot(args[1])
            cmdline = Path("/etc/kernel/cmdline").read_text()
            root = os.environ.get("ADM_SLOT_ROOT")
            if root:
                set_primary(esp, slot, Path(root), cmdline)
            else:
                with mounted(f"/dev/disk/by-partlabel/adm-root-{slot}") as where:
                    set_primary(esp, slot, where, cmdline)
        else:
            print(main.__doc__, file=sys.stderr)
            return 2
    except (BootError, OSError) as exc:
        print(f"adm-rauc-bootloader: {exc}", file=sys.stderr)
        return 1
    return 0
