"""The kiosk's languages: Bahasa Indonesia (the source language of every string) and
English (``ui/i18n/adm_en.ts``, compiled to ``adm_en.qm`` by the set-up step with
``pyside6-lrelease``).

One translator is installed on the application while English is chosen; switching
changes nothing in the session, the window retranslates what it shows.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTranslator

log = logging.getLogger("kiosk.ui")

FOLDER = Path(__file__).with_name("i18n")
DEFAULT = "id"
LANGUAGES = ("id", "en")
NAMES = {"id": "Bahasa Indonesia", "en": "English"}


class TranslationMissing(RuntimeError):
    """The compiled translation is not there and cannot be made."""


def compiled(lang: str) -> Path:
    """The ``.qm`` of ``lang``, compiled from its ``.ts`` when missing or older (a
    checkout run without the set-up step); TranslationMissing when that cannot be done."""
    ts, qm = FOLDER / f"adm_{lang}.ts", FOLDER / f"adm_{lang}.qm"
    if qm.is_file() and (not ts.is_file() or qm.stat().st_mtime >= ts.stat().st_mtime):
        return qm
    import PySide6

    tool = str(Path(PySide6.__file__).parent / "lrelease")  # shipped with PySide6
    try:
        subprocess.run([tool, "-silent", str(ts), "-qm", str(qm)], check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise TranslationMissing(f"{qm}: cannot compile {ts}: {exc}") from None
    return qm


class Languages:
    """Which language the screens speak; ``set`` installs or removes the translator.

    The state is the process's (one application, one translator): every window sees the
    language that is installed."""

    current = DEFAULT
    _translator: QTranslator | None = None
    _loaded = False

    def set(self, lang: str) -> bool:
        """Switch to ``lang``; False (and the language unchanged) if it cannot be loaded."""
        cls = type(self)
        if lang not in LANGUAGES or lang == cls.current:
            return lang == cls.current
        app = QCoreApplication.instance()
        if app is None:
            return False
        if cls._translator is None:
            cls._translator = QTranslator()
        if lang == DEFAULT:
            app.removeTranslator(cls._translator)
        else:
            if not cls._loaded:
                try:
                    path = compiled(lang)
                except TranslationMissing as exc:
                    log.error("%s", exc)
                    return False
                if not cls._translator.load(str(path)):
                    log.error("translation %s could not be loaded", path)
                    return False
                cls._loaded = True
            app.installTranslator(cls._translator)
        cls.current = lang
        return True
