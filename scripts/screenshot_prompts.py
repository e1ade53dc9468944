"""Screenshots of screen states the scripted demo does not pass through: the idle screen
asking to lift a card left on the reader and tap it again, the finger asked for again
with the attempts left, NIK + PIN offered when the finger could not be matched, and the
main path in the high-contrast, low-reach and large-text modes and on a landscape panel
in both languages (with the fit test's longest content).

    python scripts/screenshot_prompts.py OUT_DIR        (part of `make screenshots`)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.test_fit's content

from PySide6.QtWidgets import QApplication

from kiosk import messages
from kiosk.flow import SessionView
from ui.main import SCREEN
from ui.window import KioskWindow


def main(out: Path) -> int:
    app = QApplication.instance() or QApplication([])
    window = KioskWindow(post=lambda *_a, **_kw: None)
    window.setFixedSize(SCREEN["width"], SCREEN["height"])  # as the kiosk does (ui.main)
    view = SessionView(
        state="attract",
        name="",
        masked_nik="",
        documents=(),
        selected=(),
        reserved=(),
        code_doc=None,
        prompt=messages.LIFT_AND_TAP,
        results=(),
        progress="",
        error="",
        seconds_left=None,
        paths=("ektp", "pin"),
    )
    out.mkdir(parents=True, exist_ok=True)
    window.show()
    from dataclasses import replace

    from drivers.fingerprint.base import FingerMismatch
    from ui.screens.attract import AttractScreen

    attract = window.screens["attract"]
    assert isinstance(attract, AttractScreen)
    attract.set_notice("Mulai 1 Desember 2026 anjungan ini melayani pukul 07.30-15.00 WIB.")
    window.show_view(replace(view, prompt=""))
    app.processEvents()
    window.grab().save(str(out / "attract-office-notice.png"))
    attract.set_notice("")
    for name, shown in (
        ("attract-lift-and-tap", view),
        (
            "verify_finger-retry",
            replace(
                view,
                state="verify_finger",
                prompt=messages.finger_retry(FingerMismatch("no"), 2),
            ),
        ),
        (
            "enter_pin-finger-fallback",
            replace(view, state="enter_pin", prompt=messages.finger_fallback(FingerMismatch("no"))),
        ),
        # Out of service before the first citizen: documents cannot be rendered here.
        (
            "out_of_service-renderer_missing",
            replace(view, state="out_of_service", error="renderer_missing"),
        ),
        # Standing idle while its updater installs a new version (kiosk.updater).
        ("out_of_service-updating", replace(view, state="out_of_service", error="updating")),
        # Closed from the office's console (kiosk.remote).
        (
            "out_of_service-closed-by-office",
            replace(
                view,
                state="out_of_service",
                error=messages.notice("closed_by_office", reason="Pemeliharaan printer kartu"),
            ),
        ),
        # The office's notice set remotely on the idle screen.
        (
            "attract-office-notice",
            replace(view, prompt="", office_notice="Hari ini layanan tutup pukul 12.00 WIB."),
        ),
    ):
        window.show_view(shown)
        app.processEvents()
        window.grab().save(str(out / f"{name}.png"))
    # The barrier-free modes: high contrast on the main path, in both languages.
    from tests.test_fit import views

    screens = dict(views())
    for lang in ("id", "en"):
        window.show_view(screens["attract"])  # a new session: the citizen picks the modes
        window.set_language(lang)
        window.set_high_contrast(True)
        for state in ("attract", "choose_documents", "enter_code", "printing"):
            window.show_view(screens[state])
            app.processEvents()
            window.grab().save(str(out / f"high-contrast-{lang}-{state}.png"))
    # The low-reach mode (portrait): every control in the lower part of the panel.
    window.show_view(screens["attract"])
    window.set_language("id")
    window.set_high_contrast(False)
    window.set_low_reach(True)
    for state in ("attract", "enter_code", "choose_documents"):
        window.show_view(screens[state])
        app.processEvents()
        window.grab().save(str(out / f"low-reach-{state}.png"))
    window.show_view(screens["attract"])
    window.set_low_reach(False)
    # The large-text mode (200 %), portrait: the main path, the list a page at a time.
    window.set_large_text(True)
    for state in ("attract", "enter_pin", "choose_documents", "enter_code", "printing", "done"):
        window.show_view(screens[state])
        app.processEvents()
        window.grab().save(str(out / f"large-text-{state}.png"))
    window.show_view(screens["attract"])  # the session ended: normal size again
    # The landscape panel (ui.orientation = "landscape"), both languages.
    window.set_orientation("landscape")
    window.setFixedSize(1920, 1080)
    for lang in ("id", "en"):
        window.show_view(screens["attract"])
        window.set_language(lang)
        for state in ("attract", "enter_pin", "choose_documents", "enter_code", "diagnostics"):
            window.show_view(screens[state])
            app.processEvents()
            window.grab().save(str(out / f"landscape-{lang}-{state}.png"))
    window.show_view(screens["attract"])
    window.set_language("en")
    window.set_large_text(True)
    for state in ("choose_documents", "enter_pin"):
        window.show_view(screens[state])
        app.processEvents()
        window.grab().save(str(out / f"landscape-large-text-en-{state}.png"))
    window.close()
    # The simulator panel shown beside the windowed demo: a window of its own, not a
    # kiosk panel, so beside the panels' folder (docs/simulator-panel.png).
    from sim.panel import SimulatorPanel
    from sim.rig import Rig

    panel = SimulatorPanel(Rig(), None)
    panel.show()
    app.processEvents()
    panel.grab().save(str(out.parent / "simulator-panel.png"))
    panel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
