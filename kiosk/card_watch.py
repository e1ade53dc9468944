"""Watches the card slot in its own thread and posts ``card_inserted``/``card_removed``.

It uses its own reader object (its own PC/SC context), so a blocking status wait never
delays the flow's card reads, and it survives pcscd going away: the reader reports
UNAVAILABLE and the loop keeps asking until the service is back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from drivers.card.base import CardError, CardReader, ReaderState
from kiosk import timeouts

log = logging.getLogger("kiosk.card")


class CardWatcher:
    def __init__(
        self, reader: CardReader, post: Callable[[str], None], poll: float = timeouts.CARD_POLL
    ) -> None:
        """``post`` receives ``card_inserted`` / ``card_removed`` (the flow's ``post``)."""
        self._reader = reader
        self._post = post
        self._poll = poll
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.state = ReaderState.UNAVAILABLE
        self._looked = threading.Event()  # set after the first look at the slot

    def start(self) -> None:
        """Start watching; the reader is opened by the thread (and again after every
        failure), so a reader or pcscd missing now is picked up when it appears."""
        self._thread = threading.Thread(target=self._run, name="card-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._reader.cancel()  # out of a status wait now, not at the end of its poll
        if self._thread is not None:
            self._thread.join(timeout=self._poll + 5)
        self._reader.close()

    def current(self, wait: float) -> ReaderState:
        """The slot's state, waiting up to ``wait`` s for the watcher's first look: before
        it, UNAVAILABLE means "not looked yet", and a health check judging then would put
        a kiosk with a working reader out of service."""
        self._looked.wait(wait)
        return self.state

    def _run(self) -> None:
        opened, last_error = False, ""
        while not self._stop.is_set():
            failed = False
            try:
                if not opened:
                    self._reader.open()
                    opened = True
                new = self._reader.wait_for_change(self.state, self._poll)
            except CardError as exc:
                if str(exc) != last_error:  # once per cause, not every poll
                    log.warning("card reader: %s", exc)
                    last_error = str(exc)
                new, failed = ReaderState.UNAVAILABLE, True
            except Exception:  # a watcher that dies silently would leave the kiosk deaf
                log.exception("card watcher error; retrying")
                self._stop.wait(self._poll)
                continue
            if new is not ReaderState.UNAVAILABLE:
                last_error = ""
            if new != self.state:
                old, self.state = self.state, new
                log.info("card slot: %s -> %s", old.value, new.value)
                if new is ReaderState.PRESENT:
                    self._post("card_inserted")
                elif old is ReaderState.PRESENT:
                    self._post("card_removed")
            self._looked.set()
            if failed:
                self._stop.wait(self._poll)
