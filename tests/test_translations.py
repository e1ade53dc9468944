"""Languages: every visible sentence goes through Qt's translation tooling, the English
translation is complete and compiled, every notice the core hands up has a sentence in
``ui/``, and switching language in the middle of a session keeps the session."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QPushButton

from kiosk import messages
from kiosk.app import _MISSING
from kiosk.print_service import UNAVAILABLE
from tests.test_fit import views
from ui.i18n import FOLDER, compiled
from ui.texts import NOTICES, notice_text
from ui.widgets import KIND_TITLES
from ui.window import KioskWindow

ROOT = Path(__file__).resolve().parent.parent
TS = FOLDER / "adm_en.ts"
SOURCES = [
    ROOT / "ui" / "widgets.py",
    *sorted((ROOT / "ui" / "screens").glob("*.py")),
    ROOT / "ui" / "window.py",
    ROOT / "ui" / "texts.py",
]
# Words of Bahasa Indonesia that no English sentence, name or number on screen has.
INDONESIAN = re.compile(
    r"\b(Silakan|Anda|yang|untuk|dengan|tidak|sedang|dari|Sisa|detik|Sentuh|Batal|"
    r"Masuk|Selesai|Cetak|kode|dokumen|Mohon|anjungan|Anjungan|Kertas|Tempelkan)\b"
)


def _messages() -> list[ET.Element]:
    return list(ET.parse(TS).getroot().iter("message"))


def test_every_entry_of_the_english_translation_is_finished() -> None:
    entries = _messages()
    assert len(entries) > 100
    unfinished = [
        m.findtext("source")
        for m in entries
        if m.find("translation") is None
        or m.find("translation").get("type") in ("unfinished", "obsolete", "vanished")  # type: ignore[union-attr]
        or not (m.findtext("translation") or "").strip()
    ]
    assert unfinished == []
    # Placeholders survive translation: a sentence that loses {left} would show nothing.
    for m in entries:
        source, english = m.findtext("source") or "", m.findtext("translation") or ""
        assert set(re.findall(r"\{\w+\}", source)) == set(re.findall(r"\{\w+\}", english))


def test_lupdate_finds_no_string_missing_from_the_translation(tmp_path: Path) -> None:
    """Every string the screens mark for translation is in the .ts already."""
    copy = tmp_path / "adm_en.ts"
    shutil.copyfile(TS, copy)
    tool = ROOT / ".venv" / "bin" / "pyside6-lupdate"
    out = subprocess.run(
        [str(tool), *map(str, SOURCES), "-ts", str(copy), "-no-obsolete", "-locations", "none"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "(0 new and" in out, out


def test_the_compiled_translation_is_current() -> None:
    qm = compiled("en")
    assert qm.stat().st_mtime >= TS.stat().st_mtime


def test_every_notice_of_the_core_has_a_sentence_in_the_ui(qapp: Any) -> None:
    from ui.i18n import Languages

    assert Languages().set("id")
    codes = {
        *messages.CODES,
        *messages.WRONG.values(),
        "wrong_data",
        messages.LIFT_AND_TAP,
        *(code for _, code in UNAVAILABLE),
        "not_here",
        "no_blank_cards",
        "printer_unavailable",
        *_MISSING.values(),
        "devices_not_ready",
        "renderer_missing",
        "finishing_earlier_prints",
        "reader_missing",
        "closed_maintenance",
        "test_printing",
        "device_test_running",
        "no_serial_devices",
        "kiosk_reopened",
    }
    missing = sorted(c for c in codes if c not in NOTICES)
    assert missing == []
    generic = NOTICES["unknown_error"]
    for code in codes:
        assert messages.is_notice(code)
        if code != "unknown_error":
            assert notice_text(code) != generic, code
    for why in ("poor_image", "no_finger", "no_match"):
        assert "{" not in notice_text(messages.notice("finger_retry", why=why, left=2))
    for why in ("no_match", "scanner"):
        assert notice_text(messages.notice("finger_fallback", why=why)) != generic
    # The live device test: one sentence per device the kiosk has, its values filled in.
    for finger in ("ok", "no_finger", "poor_image", "fault"):
        for qr in ("read", "none"):
            test = messages.notice("device_test", seconds=5, finger=finger, detail="x", qr=qr)
            sentence = notice_text(test)
            assert sentence.startswith("Sidik jari:") and " QR: " in sentence, sentence
            assert "{" not in sentence and sentence != generic
    assert notice_text("device_test|seconds=5|qr=none") == "QR: tidak ada kode dalam 5 detik."
    # A code the UI does not know is shown as the generic sentence, never raw.
    assert notice_text("no_such_code") == generic


def _visible_texts(window: KioskWindow) -> list[str]:
    texts = []
    for w in window.findChildren(QLabel) + window.findChildren(QPushButton):
        if w.isVisibleTo(window) and w.text():
            texts.append(w.text())
    return texts


@pytest.mark.parametrize("state", [s for s, _ in views()])
def test_in_english_no_screen_shows_an_untranslated_sentence(qtbot: Any, state: str) -> None:
    window = KioskWindow(post=lambda *_a, **_kw: None)
    qtbot.addWidget(window)
    assert window.set_language("en")
    window.show_view(dict(views())[state])
    QApplication.processEvents()
    # The kinds' English names keep the official Indonesian one in brackets.
    sentences = [m for m in _messages() if m.findtext("source") not in KIND_TITLES]
    sources = {m.findtext("source") for m in sentences}
    untranslated = sources - {m.findtext("translation") for m in sentences}
    problems = []
    for text in _visible_texts(window):
        for sentence in untranslated:
            if sentence and "{" not in sentence and len(sentence) > 4 and sentence in text:
                problems.append(f"{text!r} shows {sentence!r}")
        # The technician's raw detail (a device's own words) is the one exception.
        if state != "diagnostics" and INDONESIAN.search(text):
            problems.append(f"{text!r} has Indonesian words")
    assert problems == []
    window.set_language("id")


def test_switching_language_mid_session_keeps_the_session(qtbot: Any) -> None:
    """GIVEN a citizen on the document list WHEN they switch to English and back THEN
    the same documents and choices are shown in the other language, and at the session's
    end the next citizen starts in Bahasa Indonesia."""
    posted: list[str] = []
    window = KioskWindow(post=lambda trigger, **_kw: posted.append(trigger))
    qtbot.addWidget(window)
    view = dict(views())["choose_documents"]
    window.show_view(view)
    before = [b.text() for b in window.documents.doc_buttons.values()]
    assert window.language.text() == "English"
    qtbot.mouseClick(window.language, Qt.MouseButton.LeftButton)
    assert window.languages.current == "en" and posted == []  # the flow saw nothing
    after = [b.text() for b in window.documents.doc_buttons.values()]
    assert len(after) == len(before) and after != before
    assert "Family Card" in after[0] and "Code accepted" in after[0]
    assert window.documents.print_button.text() == "Print"
    assert window.language.text() == "Bahasa Indonesia"
    # The session ends (back to the idle screen): the next citizen gets the default.
    window.show_view(dict(views())["attract"])
    assert window.languages.current == "id"
    assert window.screens["attract"].title.text() == "Selamat datang"  # type: ignore[attr-defined]
