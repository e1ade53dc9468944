"""The recording speech backend: what the kiosk would say, kept in a list (tests, the
headless demo).  Implements ``ui.speech.Speech``."""

from __future__ import annotations

import threading


class RecordingSpeech:
    def __init__(self) -> None:
        self.said: list[tuple[str, str]] = []  # (language, text), in order
        self._lock = threading.Lock()

    def say(self, text: str, lang: str) -> None:
        text = " ".join(text.split())
        if text:
            with self._lock:
                self.said.append((lang, text))

    def close(self) -> None:
        pass

    def texts(self, lang: str | None = None) -> list[str]:
        with self._lock:
            return [t for lg, t in self.said if lang is None or lg == lang]
