"""Every make target from a fresh clone, in any order.

A target that works in the developer's checkout can still fail for a newcomer: it may lean
on a file another target left behind, on a virtualenv holding an installed copy of the
project instead of the checkout (a non-editable ``pip install .[extra]`` does that, and
then configuration files are looked for inside site-packages and source edits stop taking
effect), or on a rig another target brought up.  This script clones the repository's
HEAD into a new folder, runs ``make setup`` there (its own ``.venv``), then runs the make
targets one after another in a seeded random order, the costly ones with a short option.
After each it checks that the clone's virtualenv still imports every package from the
clone itself.

    .venv/bin/python scripts/fresh_clone.py [--seed N] [--only a,b] [--keep]

``make fresh-clone`` runs every target of ``PLAN`` (about 15 minutes; it uses the shared
rig, so nothing else may use the rig meanwhile, and it takes the rig down at the end).
The test suite runs the rig-free part (``--only setup,lint,contracts,diagram``).  The
clone holds HEAD: uncommitted changes are not in it.  Exit status: 0 every target passed,
1 one failed (its output's tail is printed), 2 the clone or its set-up could not be made.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The top-level packages the project installs (pyproject.toml's packages).
PACKAGES = ("protocol", "kiosk", "drivers", "printing", "ui", "server", "sim", "cli")

# target -> make variables of its short run ({} = the target as a newcomer types it).
PLAN: dict[str, dict[str, str]] = {
    "setup": {},
    "lint": {},
    "typecheck": {},
    "contracts": {},
    "diagram": {},
    "golden": {},
    "translations": {},
    "rig-up": {},
    "rig-status": {},
    "rig-down": {},
    "clean": {},
    "demo": {},
    "screenshots": {},
    "deb": {},
    "bench-card": {"BENCH_ARGS": "-n 2 --taps 2"},
    "bench-flow": {},
    "bench-ui": {"BENCH_ARGS": "--sessions 3 --cold-runs 1"},
    "bench-serial": {"BENCH_ARGS": "--runs 2"},
    "bench-render": {"BENCH_ARGS": "-n 2 --submits 2"},
    "bench-server": {"BENCH_ARGS": "--db sqlite --workers 1 --seconds 2 --rates 50"},
    "bench-public": {"BENCH_ARGS": "--db sqlite --seconds 2 --rate 20 --documents 50"},
    "faults": {"BENCH_ARGS": "--sessions 2"},
    "faults-long": {"FAULT_PARTS": "1", "BENCH_ARGS": "--sessions 2"},
    "kills": {"KILL_PARTS": "1", "BENCH_ARGS": "--kills 2"},
    "schemathesis": {"SCHEMATHESIS_EXAMPLES": "5", "SCHEMATHESIS_DB": "sqlite"},
    "bench-fleet": {"BENCH_ARGS": "--kiosks 20 --interval 1"},
    "release": {"VERSION": "0.1.0+fresh"},
}

# Targets this script does not run, and where each is proven from a clean clone instead.
ELSEWHERE: dict[str, str] = {
    "all": "the same as test",
    "test": "CI's .ci/run (make check) on a clean clone",
    "check": "CI's .ci/run on a clean clone",
    "pytest": "part of test",
    "boot-smoke": "part of make check in CI (builds image-rig, boots it in QEMU)",
    "image-rig": "built by boot-smoke in CI",
    "image-tools": "installed by boot-smoke in CI",
    "failover-test": "part of make check in CI",
    "image": "the same build as image-rig without the rig's extras (minutes of mmdebstrap)",
    "boot-test": "the long boot proof (about 20 minutes); boot-smoke is its short run",
    "bench-boot": "boots the image many times (tens of minutes); boot-smoke covers its set-up",
    "bench-failover": "a replicated cluster and a million-document restore; failover-test "
    "covers its set-up",
    "fresh-clone": "this script",
    "update-test": "the long update proof in the booted guest (about an hour: two "
    "releases, a rollback, ten power cuts); release and image-rig are its builds",
}

TIMEOUT = 1200.0


def phony_targets(makefile: Path) -> list[str]:
    """The targets the Makefile declares phony (every target a person is meant to type)."""
    text = makefile.read_text(encoding="utf-8").replace("\\\n", " ")
    found: list[str] = []
    for line in text.splitlines():
        if line.startswith(".PHONY:"):
            found += line.split(":", 1)[1].split()
    return found


def _run(cmd: list[str], cwd: Path, timeout: float = TIMEOUT) -> tuple[int, str, float]:
    started = time.monotonic()
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else exc.stdout
        return 124, f"{out or ''}\n(timed out after {timeout:.0f} s)", time.monotonic() - started
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - started


def imports_from(clone: Path) -> list[str]:
    """Packages the clone's virtualenv imports from anywhere but the clone's own source
    (should be []): from another checkout, or from an installed copy in its ``.venv``."""
    code = (
        "import importlib, sys\n"
        "for n in sys.argv[1:]: print(n, importlib.import_module(n).__file__)"
    )
    # -P and another folder: the current directory must not put the clone on the path.
    python = [str(clone / ".venv/bin/python"), "-P", "-c", code, *PACKAGES]
    code_rc, out, _ = _run(python, clone.parent, 120)
    if code_rc != 0:
        return [f"import failed: {out.strip().splitlines()[-1:]}"]
    wrong = []
    for line in out.splitlines():
        name, _, where = line.partition(" ")
        path = Path(where).resolve()
        if not path.is_relative_to(clone.resolve()) or path.is_relative_to(
            (clone / ".venv").resolve()
        ):
            wrong.append(f"{name} from {where}")
    return wrong


def clone_head(source: Path, into: Path) -> None:
    """A clone of ``source``'s HEAD, as a newcomer gets it (no untracked or ignored file)."""
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(source), str(into)],
        check=True,
        capture_output=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=None, help="order of the targets")
    parser.add_argument("--only", default="", help="comma-separated targets (in this order)")
    parser.add_argument("--keep", action="store_true", help="leave the clone on disk")
    parser.add_argument("--source", type=Path, default=ROOT, help="repository to clone")
    args = parser.parse_args(argv)

    if args.only:
        targets = [t for t in args.only.split(",") if t]
        unknown = [t for t in targets if t not in PLAN]
        if unknown:
            print(f"fresh-clone: not in the plan: {', '.join(unknown)}", file=sys.stderr)
            return 2
    else:
        seed = args.seed if args.seed is not None else random.randrange(1 << 16)
        targets = [t for t in PLAN if t != "setup"]
        random.Random(seed).shuffle(targets)
        # rig-down last, so the machine is left as found whatever the order.
        targets = ["setup", *targets, "rig-down"]
        print(f"fresh-clone: seed {seed}")

    folder = Path(tempfile.mkdtemp(prefix="adm-fresh-"))
    folder.chmod(0o755)  # CUPS filters (user lp) read the clone's rig files
    clone = folder / "adm-kiosk"
    try:
        clone_head(args.source, clone)
    except subprocess.CalledProcessError as exc:
        print(f"fresh-clone: git clone failed: {exc.stderr.decode().strip()}", file=sys.stderr)
        shutil.rmtree(folder, ignore_errors=True)
        return 2
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True
    ).stdout.strip()
    print(f"fresh-clone: {head} in {clone}")

    failed: list[str] = []
    try:
        for target in targets:
            variables = [f"{k}={v}" for k, v in PLAN[target].items()]
            code, out, seconds = _run(["make", "--no-print-directory", target, *variables], clone)
            wrong = imports_from(clone) if code == 0 and (clone / ".venv").exists() else []
            verdict = "ok" if code == 0 and not wrong else "FAILED"
            shown = " ".join(variables)
            print(f"  {target:<14} {verdict:<6} {seconds:7.1f} s  {shown}", flush=True)
            if code != 0:
                tail = "\n".join(out.rstrip().splitlines()[-15:])
                print(re.sub(r"(?m)^", "      | ", tail))
            for line in wrong:
                print(f"      | the clone's venv imports {line}")
            if verdict != "ok":
                failed.append(target)
                if target == "setup":
                    return 2
    finally:
        if args.keep:
            print(f"fresh-clone: kept {clone}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"fresh-clone: {len(targets) - len(failed)} of {len(targets)} targets passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
