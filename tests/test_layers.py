"""The layer rules of architecture.md: import-linter contracts (pyproject.toml) hold on
the tree, and they do catch a violation planted in a copy of it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cli", "sim", "ui", "kiosk", "server", "drivers", "printing", "protocol")
LINT = Path(sys.executable).with_name("lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )


def test_tree_keeps_every_contract() -> None:
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the packages and the contracts, to plant violations in."""
    root = tmp_path_factory.mktemp("tree")
    for pkg in PACKAGES:
        shutil.copytree(
            ROOT / pkg, root / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.mark.parametrize(
    ("where", "source", "contract"),
    [
        ("kiosk/leak.py", "import server.app\n", "Layers"),
        ("server/leak.py", "from kiosk import flow\n", "Layers"),
        ("protocol/leak.py", "import kiosk.flow\n", "Layers"),
        ("drivers/leak.py", "import printing.spooler\n", "Layers"),
        ("kiosk/leak.py", "import sim.rig\n", "Layers"),
        ("kiosk/leak.py", "from printing import sim_spooler\n", "simulators exist"),
        ("kiosk/leak.py", "from PySide6.QtCore import QObject\n", "PySide6 only"),
        ("printing/leak.py", "import smartcard.scard\n", "pyscard only"),
        ("kiosk/leak.py", "def f():\n    import cups\n", "pycups only"),
        ("drivers/card/leak.py", "import serial\n", "pyserial only"),
        ("server/leak.py", "import printing.renderers\n", "wire contract only"),
    ],
)
def test_a_planted_violation_is_caught(tree: Path, where: str, source: str, contract: str) -> None:
    """GIVEN the tree with one forbidden import WHEN the contracts run THEN they fail,
    naming the contract it breaks."""
    target = tree / where
    target.write_text(source)
    try:
        result = lint(tree)
    finally:
        target.unlink()
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken and where.replace("/", ".").removesuffix(".py") in broken
