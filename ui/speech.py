"""Voice guidance: what is on the screen and where the keypad focus is, spoken in the
session's language through espeak-ng (Indonesian and English voices).

Speaking never blocks the GUI thread: ``say`` hands the text to a worker thread and
returns; a newer utterance replaces one still waiting and interrupts the one being
spoken (the citizen moved on).  The audio goes to espeak-ng's own output, to an ALSA
device through ``aplay -D`` (``ui.audio_device``), or to WAV files (``wav:FOLDER``, for
a headless kiosk and the tests).  Nothing spoken is logged: it can hold a name.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Protocol

log = logging.getLogger("kiosk.ui")

VOICES = {"id": "id", "en": "en-us"}


class Speech(Protocol):
    def say(self, text: str, lang: str) -> None:
        """Speak ``text`` in ``lang`` soon, instead of anything not yet spoken."""

    def close(self) -> None: ...


class NoSpeech:
    """A kiosk without voice output."""

    def say(self, text: str, lang: str) -> None:
        pass

    def close(self) -> None:
        pass


class EspeakSpeech:
    def __init__(self, device: str = "", rate: int = 150, program: str = "espeak-ng") -> None:
        self.program = shutil.which(program) or program
        self.device = device
        self.rate = rate
        self.spoken = 0  # utterances finished (for diagnostics and tests)
        self._wanted: tuple[str, str] | None = None
        self._current: subprocess.Popen[bytes] | None = None
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="speech", daemon=True)
        self._thread.start()

    def say(self, text: str, lang: str) -> None:
        text = " ".join(text.split())
        if not text:
            return
        with self._cond:
            self._wanted = (text, lang)
            if self._current is not None and self._current.poll() is None:
                self._current.terminate()  # the screen changed: stop the old sentence
            self._cond.notify()

    def wait_idle(self, timeout: float) -> bool:
        """Until nothing is waiting or being spoken (tests, a clean shutdown)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._wanted is None and self._current is None, timeout
            )

    def close(self) -> None:
        with self._cond:
            self._closed = True
            if self._current is not None and self._current.poll() is None:
                self._current.terminate()
            self._cond.notify()
        self._thread.join(timeout=5)

    def _command(self, text: str, lang: str, index: int) -> tuple[list[str], list[str] | None]:
        voice = ["-v", VOICES.get(lang, VOICES["id"]), "-s", str(self.rate)]
        if self.device.startswith("wav:"):
            folder = Path(self.device[4:])
            folder.mkdir(parents=True, exist_ok=True)
            return [self.program, *voice, "-w", str(folder / f"{index:04d}-{lang}.wav"), text], None
        if self.device:
            return [self.program, *voice, "--stdout", text], ["aplay", "-q", "-D", self.device]
        return [self.program, *voice, text], None

    def _run(self) -> None:
        index = 0
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._wanted is not None or self._closed)
                if self._closed:
                    return
                assert self._wanted is not None
                text, lang = self._wanted
                self._wanted = None
                index += 1
                speak, play = self._command(text, lang, index)
                try:
                    out = subprocess.PIPE if play else subprocess.DEVNULL
                    self._current = subprocess.Popen(speak, stdout=out, stderr=subprocess.DEVNULL)
                except OSError as exc:
                    log.error("voice output unavailable: %s", exc)
                    self._current = None
                    self._cond.notify_all()
                    continue
                current = self._current
            try:
                if play:
                    subprocess.run(play, stdin=current.stdout, check=False, timeout=120)
                current.wait(timeout=120)
            except (OSError, subprocess.SubprocessError) as exc:
                log.error("voice output failed: %s", exc)
                current.kill()
            with self._cond:
                if current.returncode == 0:
                    self.spoken += 1
                self._current = None
                self._cond.notify_all()
