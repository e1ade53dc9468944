"""The kiosk's supervision by systemd, on the GUI thread.

``READY=1`` goes out once the start-up is over (devices tried, unfinished print jobs
settled: the flow has left ``starting``) and that screen has been painted; ``STATUS=``
follows the flow; ``WATCHDOG=1`` comes from a timer on this (the Qt main) thread at half
the watchdog interval, so a GUI thread that blocks stops the pings and systemd restarts
the kiosk.  A kiosk that starts out of service (a device missing) is still ready: it is
running and says why it does not serve; systemd must not kill it for a missing printer.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from kiosk.flow import Flow, SessionView
from protocol.notify import Notifier


def status_line(state: str, error: str = "") -> str:
    """What ``systemctl status`` shows for a flow state (never personal data)."""
    if state == "attract":
        return "idle: serving citizens"
    if state == "starting":
        return "starting: opening devices, settling unfinished print jobs"
    if state == "out_of_service":
        return f"out of service: {error or 'unknown reason'}"[:200]
    if state in ("technician_pin", "diagnostics"):
        return "technician at the kiosk"
    return "in session"


class Supervision(QObject):
    def __init__(
        self,
        flow: Flow,
        notifier: Notifier,
        paint: Callable[[], None] = lambda: None,
        after_ready: Callable[[], None] = lambda: None,
    ) -> None:
        """``paint``: draws the window now (called before READY=1 is sent);
        ``after_ready``: what waits until the kiosk is up (work off the start's path)."""
        super().__init__()
        self.flow, self.notifier, self._paint = flow, notifier, paint
        self._after_ready = after_ready
        self.ready = False
        self._status = ""
        self._pings = QTimer(self)
        self._pings.timeout.connect(notifier.watchdog)
        if notifier.watchdog_seconds:
            self._pings.start(max(50, int(notifier.watchdog_seconds * 1000 / 2)))
        flow.add_listener(self._changed)
        if flow.state != "starting":  # attached to a kiosk already up: ready now
            self._changed(flow.state, flow.view())

    def _changed(self, state: str, view: SessionView) -> None:
        line = status_line(state, view.error)
        if not self.ready and state != "starting":
            self._paint()  # the screen the citizen sees is on the glass first
            self.ready = self.notifier.ready(line) or not self.notifier.enabled
            self._status = line
            self._after_ready()
            return
        if line != self._status:
            self._status = line
            self.notifier.status(line)

    def close(self) -> None:
        self._pings.stop()
        self.flow.remove_listener(self._changed)
        self.notifier.stopping()
        self.notifier.close()
