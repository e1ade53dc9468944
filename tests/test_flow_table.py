"""The transition table against the code that feeds it: every trigger the screens, the
device watchers and the flow's own workers send is one the table knows.

``ignore_invalid_triggers`` keeps a wrong trigger from crashing the kiosk, which also
means a misspelt one (a button posting ``"finsh"``) would do nothing, silently, on the
lobby wall.  This reads the sources, so it needs no flow, no window and no server.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kiosk.flow import TRANSITIONS

ROOT = Path(__file__).resolve().parent.parent
POSTERS = {"post", "_post"}  # flow.post, the window's post callback, the watchers' _post


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def sent_triggers(directory: Path) -> dict[str, list[str]]:
    """Every literal trigger sent from the sources under ``directory``: first argument of
    a ``post`` call and the success/failure events given to the flow's ``_spawn``; with
    where each was found."""
    found: dict[str, list[str]] = {}
    for path in sorted(directory.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            if name in POSTERS:
                args = node.args[:1]
            elif name == "_spawn":
                args = node.args[1:3]
            else:
                continue
            for arg in args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    where = f"{path.name}:{node.lineno}"
                    found.setdefault(arg.value, []).append(where)
    return found


KNOWN = {t["trigger"] for t in TRANSITIONS}


@pytest.mark.parametrize("package", ["ui", "kiosk"])
def test_every_trigger_sent_is_in_the_transition_table(package: str) -> None:
    sent = sent_triggers(ROOT / package)
    unknown = {trigger: where for trigger, where in sent.items() if trigger not in KNOWN}
    assert unknown == {}


def test_the_scan_sees_what_the_screens_and_devices_send() -> None:
    """The scan itself finds the triggers known to be sent (else the test above would
    pass on an empty set)."""
    ui, kiosk = sent_triggers(ROOT / "ui"), sent_triggers(ROOT / "kiosk")
    assert {"pin_login", "pin_entered", "code_entered", "print_selected", "finish"} <= set(ui)
    assert {"technician_requested", "technician_pin_entered", "close_kiosk"} <= set(ui)
    assert {"card_inserted", "card_removed", "service_up", "service_down"} <= set(kiosk)
    assert {"card_read", "card_failed", "checks_done", "technician_pin_checked"} <= set(kiosk)


def test_a_misspelt_trigger_would_be_found(tmp_path: Path) -> None:
    (tmp_path / "screen.py").write_text(
        'on_cancel = lambda: post("finsh")\nflow._spawn(work, "card_red", "card_failed")\n'
    )
    sent = sent_triggers(tmp_path)
    assert set(sent) == {"finsh", "card_red", "card_failed"}
    assert {t for t in sent if t not in KNOWN} == {"finsh", "card_red"}
