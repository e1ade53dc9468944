"""The layer rules of architecture.md, enforced on the source tree.

PySide6 only under ui/; pyscard (smartcard) only in the PC/SC backend; pyserial only in
serial backends; pycups only in the CUPS spooler.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kiosk", "drivers", "printing", "ui", "server", "sim")

# module -> where it may be imported (path prefixes, relative to the repository root)
ALLOWED = {
    "PySide6": ("ui/",),
    "smartcard": ("drivers/card/pcsc.py",),
    "serial": ("drivers/fingerprint/serial_", "drivers/qr/serial_"),
    "cups": ("printing/cups_spooler.py",),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def violations(root: Path) -> list[str]:
    bad = []
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            for module in imported_modules(path):
                allowed = ALLOWED.get(module)
                if allowed is not None and not rel.startswith(allowed):
                    bad.append(f"{rel} imports {module}")
    return bad


def test_tree_respects_layers() -> None:
    assert violations(ROOT) == []


@pytest.mark.parametrize(
    ("where", "source", "module"),
    [
        ("kiosk/leak.py", "from PySide6.QtCore import QObject\n", "PySide6"),
        ("printing/leak.py", "import smartcard.scard\n", "smartcard"),
        ("kiosk/leak.py", "def f():\n    import cups\n", "cups"),
        ("drivers/card/leak.py", "import serial\n", "serial"),
        ("server/leak.py", "import PySide6\n", "PySide6"),
    ],
)
def test_checker_catches_a_leak(tmp_path: Path, where: str, source: str, module: str) -> None:
    """GIVEN a tree with one forbidden import WHEN checked THEN it is reported."""
    for pkg in PACKAGES:
        (tmp_path / pkg).mkdir(parents=True, exist_ok=True)
    target = tmp_path / where
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source)
    assert violations(tmp_path) == [f"{where} imports {module}"]


def test_allowed_places_pass(tmp_path: Path) -> None:
    for rel, source in [
        ("ui/screen.py", "from PySide6.QtWidgets import QLabel\n"),
        ("drivers/card/pcsc.py", "from smartcard import scard\n"),
        ("printing/cups_spooler.py", "import cups\n"),
    ]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(source)
    assert violations(tmp_path) == []
