"""The session flow's diagram, generated from the state machine's own transition table.

``python -m kiosk.diagram`` writes ``docs/flow.dot`` (text, checked by a test so it never
drifts from the code) and renders ``docs/flow.svg`` with Graphviz when ``dot`` exists.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from kiosk import timeouts
from kiosk.flow import STATES, TRANSITIONS

DOCS = Path(__file__).resolve().parent.parent / "docs"


def dot() -> str:
    """The flow as a Graphviz digraph; states with an inactivity timeout show it."""
    lines = [
        "digraph flow {",
        '  rankdir=TB; node [shape=box, style="rounded,filled", fillcolor="#eef3fa",',
        '  fontname="DejaVu Sans"]; edge [fontname="DejaVu Sans", fontsize=10];',
    ]
    for state in STATES:
        limit = timeouts.STATE_TIMEOUTS.get(state)
        label = f"{state}\\n(timeout {limit:.0f} s)" if limit else state
        lines.append(f'  {state} [label="{label}"];')
    internal: dict[str, list[str]] = {}  # events handled without leaving a state
    for t in TRANSITIONS:
        sources = t["source"] if isinstance(t["source"], list) else [t["source"]]
        for source in sources:
            if t["dest"] is None:
                internal.setdefault(source, []).append(t["trigger"])
                continue
            lines.append(f'  {source} -> {t["dest"]} [label="{t["trigger"]}"];')
    for state, triggers in internal.items():
        label = "\\n".join(dict.fromkeys(triggers))
        lines.append(f'  {state} -> {state} [label="{label}", style=dashed];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> int:
    (DOCS / "flow.dot").write_text(dot())
    exe = shutil.which("dot")
    if exe is None:
        print("graphviz 'dot' not installed: wrote docs/flow.dot only", file=sys.stderr)
        return 0
    subprocess.run([exe, "-Tsvg", str(DOCS / "flow.dot"), "-o", str(DOCS / "flow.svg")], check=True)
    subprocess.run(
        [exe, "-Tpng", "-Gdpi=70", str(DOCS / "flow.dot"), "-o", str(DOCS / "flow.png")], check=True
    )
    print("wrote docs/flow.dot, docs/flow.svg, docs/flow.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
