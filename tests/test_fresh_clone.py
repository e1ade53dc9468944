"""The make targets from a fresh clone (scripts/fresh_clone.py): every target is either
run by ``make fresh-clone`` or named with where else it is proven; the project is always
installed editable; and a real clone of HEAD sets itself up and runs the rig-free targets,
its virtualenv importing the clone's own source (a non-editable install is caught)."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fresh_clone", ROOT / "scripts/fresh_clone.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fresh = _script()


def test_every_target_is_run_from_a_clone_or_said_where_it_is_proven() -> None:
    phony = set(fresh.phony_targets(ROOT / "Makefile"))
    planned, elsewhere = set(fresh.PLAN), set(fresh.ELSEWHERE)
    assert not planned & elsewhere
    assert phony - planned - elsewhere == set(), "a make target nobody runs from a clone"
    assert (planned | elsewhere) - phony == set(), "a plan entry for a target that is gone"
    # Every target in the Makefile is declared phony (none is a file to be made).
    rules = set(re.findall(r"(?m)^([a-z][a-z0-9-]*):(?!=)", (ROOT / "Makefile").read_text()))
    assert rules - phony == set()


def test_the_project_is_only_ever_installed_editable() -> None:
    """A non-editable ``pip install .[extra]`` leaves the venv running a copy of the
    project: configuration files are then looked for in site-packages."""
    found = []
    files = [ROOT / "Makefile", *(ROOT / "scripts").glob("*.sh"), *(ROOT / ".ci").glob("*")]
    for path in files:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8").replace("\\\n", " ")
        for line in text.splitlines():
            if re.search(r"pip install", line) and re.search(r"""['"\s]\.(\[|['"\s]|$)""", line):
                found.append((path.name, line.strip()))
                assert re.search(r"\s-e\s", line), f"{path.name}: {line.strip()}"
    assert found, "no install of the project found: the check looks in the wrong place"


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_clone_of_head_sets_itself_up_and_runs_the_rig_free_targets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = fresh.main(["--only", "setup,lint,contracts,diagram", "--keep"])
    out = capsys.readouterr().out
    kept = re.search(r"fresh-clone: kept (\S+)", out)
    assert kept, out
    clone = Path(kept.group(1))
    try:
        assert code == 0, out
        for target in ("setup", "lint", "contracts", "diagram"):
            assert re.search(rf"(?m)^  {target}\s+ok\b", out), out
        assert (clone / "docs/flow.svg").stat().st_size > 0
        assert fresh.imports_from(clone) == []
        # The check can say no: an installed copy in the clone's venv is caught.
        pip = subprocess.run(
            [str(clone / ".venv/bin/python"), "-m", "pip", "install", "-q", "--no-deps",
             "--disable-pip-version-check", str(clone)],
            capture_output=True,
            text=True,
        )  # fmt: skip
        assert pip.returncode == 0, pip.stderr
        wrong = fresh.imports_from(clone)
        assert any(line.startswith("kiosk from ") and "site-packages" in line for line in wrong)
    finally:
        shutil.rmtree(clone.parent, ignore_errors=True)


def test_an_unknown_target_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert fresh.main(["--only", "lint,bench-nothing"]) == 2
    assert "bench-nothing" in capsys.readouterr().err


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
