"""Run the test suite as two pytest processes side by side: the tests on the simulated rig
(marked ``rig``; one card slot, one cupsd: they run one at a time) and all the others
(server, console, flow, configuration, packaging...), which share nothing with them.

Most of the rig half waits on devices and child processes, so on two cores the whole
suite takes about the time of its longer half.  Each half's output is printed whole
when it ends; the last line sums both ("N passed, N failed").

    .venv/bin/python scripts/run_tests.py [extra pytest arguments]
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# (name, marker, niceness).  The rest runs at a lower priority: the rig's tests wait on
# deadlines a real kiosk has (a refilled printer ready within a health-check period) and
# its daemons (cupsd, ippeveprinter, pcscd) must not queue behind CPU-bound tests.
# The rest runs on two pytest-xdist workers, a test file per worker at a time (a file's
# module fixtures stay in one process; each worker has its own PostgreSQL port).
HALVES = (("rig", "rig", 0, ()), ("the rest", "not rig", 10, ("-n", "2", "--dist", "loadfile")))
COUNTS = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)")


def main(extra: list[str]) -> int:
    started = time.monotonic()
    procs = []
    for name, marker, niceness, workers in HALVES:
        slug = name.replace(" ", "-")
        log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (read after the process ends)
            "w+", prefix=f"adm-pytest-{slug}-", suffix=".log", delete=False
        )
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-m",
            marker,
            "-p",
            "no:cacheprovider",  # two processes, one cache: neither writes it
            f"--basetemp={tempfile.gettempdir()}/adm-pytest-{slug}",
            "--durations=10",
            *workers,
            *extra,
        ]
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=(lambda n=niceness: os.nice(n)) if niceness else None,
        )
        procs.append((name, proc, log))
    totals: dict[str, int] = {}
    failed = False
    for name, proc, log in procs:
        code = proc.wait()
        log.seek(0)
        text = log.read()
        log.close()
        Path(log.name).unlink()
        print(f"===== {name}: pytest exit {code} =====")
        print(text, end="" if text.endswith("\n") else "\n")
        summary = [line for line in text.splitlines() if line.startswith("=") and " in " in line]
        for count, what in COUNTS.findall(summary[-1] if summary else ""):
            key = "errors" if what.startswith("error") else what
            totals[key] = totals.get(key, 0) + int(count)
        # 5: no test selected in a half (possible with -k); not a failure of the suite.
        failed = failed or code not in (0, 5)
    seconds = time.monotonic() - started
    passed, bad = totals.get("passed", 0), totals.get("failed", 0) + totals.get("errors", 0)
    skipped = totals.get("skipped", 0)
    print(f"both halves in {seconds:.0f} s")
    line = f"{passed} passed, {bad} failed" + (f", {skipped} skipped" if skipped else "")
    print(line)
    if passed == 0:
        return 1
    return 1 if failed or bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
