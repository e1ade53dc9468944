"""Qt side of the kiosk: drives the flow on the Qt main thread and shows its screens.

:class:`FlowDriver` is the bridge: workers ring the flow's doorbell from any thread; a
queued Qt signal brings that to the main thread, which applies the events and re-arms a
single-shot timer for the next inactivity deadline.  No widget is touched off the main
thread.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QEventLoop, QObject, QSocketNotifier, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication

from kiosk.app import KioskApp
from kiosk.flow import Flow, SessionView
from protocol.notify import Notifier
from ui.screens.attract import AttractScreen
from ui.speech import EspeakSpeech, NoSpeech, Speech
from ui.supervision import Supervision
from ui.window import KioskWindow

log = logging.getLogger("ui")

# The panels the kiosk is laid out for (``ui.orientation``); the window is exactly one.
SCREENS = {
    "portrait": {"width": 1080, "height": 1920},
    "landscape": {"width": 1920, "height": 1080},
}
SCREEN = SCREENS["portrait"]
# The smallest touch target a finger is given, and the pixels it takes at ``dpi``.
MIN_TARGET_MM = 15.0


def min_target_px(dpi: int) -> float:
    return MIN_TARGET_MM * dpi / 25.4


# In the low-reach mode no control is above this fraction of the panel's height, by
# orientation (the fit test checks it).  A 21.5-inch portrait panel (47.7 cm
# tall) mounted with its bottom edge at 90 cm has its top at 137.7 cm; the upper forward
# reach from a wheelchair is ~120 cm, 37 % of the panel down from its top.  The same
# panel in landscape (26.8 cm tall) ends at 116.8 cm: all of it is in reach.
LOW_REACH_TOP = {"portrait": 0.4, "landscape": 0.0}


def use_offscreen() -> None:
    """Select Qt's offscreen platform with one 1080x1920 portrait screen."""
    conf = Path(tempfile.gettempdir()) / "adm-kiosk-screen.json"
    conf.write_text(
        json.dumps(
            {
                "screens": [
                    {
                        "name": "kiosk",
                        "x": 0,
                        "y": 0,
                        **SCREEN,
                        "logicalDpi": 96,
                        "logicalBaseDpi": 96,
                        "dpr": 1,
                    }
                ],
                "synchronousWindowSystemEvents": True,
                "windowFrameMargins": False,
            }
        )
    )
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={conf}"


class FlowDriver(QObject):
    """Runs ``flow`` on the Qt main thread."""

    wake = Signal()

    def __init__(self, flow: Flow) -> None:
        super().__init__()
        self.flow = flow
        self._deadline_timer = QTimer(self)
        self._deadline_timer.setSingleShot(True)
        self._deadline_timer.timeout.connect(self.pump)
        self.wake.connect(self.pump, Qt.ConnectionType.QueuedConnection)
        flow.add_wakeup(self.wake.emit)
        # Events posted before this driver existed (the health thread's first verdict
        # can beat the window) rang no bell: apply them as soon as the loop runs.
        self.wake.emit()

    @Slot()
    def pump(self) -> None:
        self.flow.process_pending()
        left = self.flow.seconds_left()
        if left is None:
            self._deadline_timer.stop()
        else:
            self._deadline_timer.start(int(left * 1000) + 1)


class TouchFilter(QObject):
    """Calls ``on_touch`` for every press seen by the object it is installed on."""

    def __init__(self, on_touch: Callable[[], None]) -> None:
        super().__init__()
        self._on_touch = on_touch

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin):
            self._on_touch()
        return False


def speech_for(config: Any) -> Speech:
    """The configured voice output (``[ui] voice``); none when espeak-ng is missing."""
    if config is not None and config.ui.voice == "espeak" and shutil.which("espeak-ng"):
        return EspeakSpeech(config.ui.audio_device)
    return NoSpeech()


class KioskUi:
    """The window plus the driver; ``on_state`` hooks let the demo take screenshots."""

    def __init__(self, app: KioskApp) -> None:
        self.app = app
        # The GUI thread shares the interpreter with the kiosk's workers (card reads,
        # rendering, server calls) and, in the demo, the embedded server.  With the
        # default 5 ms switch interval a press waited up to 175 ms for the GIL while they
        # ran (bench/ui_figures.py); 1 ms hands it back to the screen sooner.
        sys.setswitchinterval(0.001)
        self.driver = FlowDriver(app.flow)
        config = getattr(app, "config", None)
        self.speech = speech_for(config)
        language = config.kiosk.language if config is not None else "id"
        self.window = KioskWindow(post=self._post, speech=self.speech, language=language)
        # The window is the panel: never larger (a screen that does not fit is a bug the
        # fit test catches, not a window that grows past the glass).
        if config is not None:
            attract = self.window.screens["attract"]
            assert isinstance(attract, AttractScreen)
            attract.set_notice(config.ui.office_notice)
        orientation = config.ui.orientation if config is not None else "portrait"
        self.window.set_orientation(orientation)
        panel = SCREENS[orientation]
        self.window.setFixedSize(panel["width"], panel["height"])
        if config is not None:
            # The layout's smallest control is 88 px high (landscape); on a denser panel
            # that may be under a fingertip: said at start, for the installer.
            smallest_mm = 88 * 25.4 / config.ui.dpi
            if smallest_mm < MIN_TARGET_MM:
                log.warning(
                    "panel at %d dpi: the smallest control is %.1f mm, under %.0f mm",
                    config.ui.dpi,
                    smallest_mm,
                    MIN_TARGET_MM,
                )
        self.on_state: list[Callable[[str, SessionView], None]] = []
        # Any touch anywhere restarts the current state's inactivity timeout.
        self._touches = TouchFilter(app.flow.touch)
        app.flow.add_listener(self._changed)
        # After the window's own listener: READY=1 waits for the screen to be painted.
        self.supervision = Supervision(
            app.flow, Notifier(), paint=self.window.repaint, after_ready=self._warm_up
        )
        self._tick = QTimer(self.window)
        self._tick.timeout.connect(lambda: self.window.update_countdown(app.flow.seconds_left()))
        self._tick.start(1000)
        qapp = QApplication.instance()
        if qapp is not None:  # every press in the application, whichever widget gets it
            qapp.installEventFilter(self._touches)
        self.window.show_view(app.flow.view())
        # Everything built so far lives as long as the kiosk: keep it out of the cyclic
        # collector's full passes, which otherwise stop every thread (this one included)
        # for tens of milliseconds now and then.
        gc.collect()
        gc.freeze()

    def _warm_up(self) -> None:
        # The renderers (reportlab) come in after READY; frozen with the rest once they
        # are in, so full collections do not walk them.  No collection first: on this
        # worker it would stop the screen for a full pass (124 ms measured).
        self.app.warm_up(then=gc.freeze)
        # Serving citizens: 0.2 ms.  A render's QR encoding (pure Python on a worker)
        # made the screen wait up to 62 ms at 1 ms; at 0.2 ms 41 (bench/ui_figures.py).
        # Not before: during the start the finer switching slows every thread (cold
        # start 1.7 -> 2.2 s).
        sys.setswitchinterval(0.0002)

    def close(self) -> None:
        """Undo everything ``__init__`` hooked into the application and the flow, and let
        the window go: a process that opens the kiosk again (the demo, tests) keeps no
        filter, listener, timer or window of the last one."""
        qapp = QApplication.instance()
        if qapp is not None:
            qapp.removeEventFilter(self._touches)
        self.app.flow.remove_listener(self._changed)
        self.supervision.close()
        self.speech.close()
        self.app.flow.remove_wakeup(self.driver.wake.emit)
        self._tick.stop()
        self.on_state.clear()
        self.window.close()
        self.window.deleteLater()
        self.driver.deleteLater()

    def _post(self, trigger: str, **kwargs: Any) -> None:
        self.app.flow.touch()
        self.app.flow.post(trigger, **kwargs)

    def _changed(self, state: str, view: SessionView) -> None:
        self.window.show_view(view)
        for hook in self.on_state:
            hook(state, view)


def wait_until(qapp: QApplication, cond: Callable[[], bool], timeout: float, what: str) -> None:
    """Run the Qt event loop until ``cond`` holds; raise TimeoutError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        qapp.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        qapp.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)


class QuitOnSignal(QObject):
    """SIGTERM and SIGINT end the Qt event loop, so the kiosk stops in order.

    A Python signal handler runs only when the interpreter gets control, which a Qt
    event loop waiting in C++ does not give it; ``signal.set_wakeup_fd`` writes the
    signal number to a socket that a ``QSocketNotifier`` watches, which wakes the loop
    on the main thread (qutebrowser's way)."""

    def __init__(
        self, qapp: QApplication, signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)
    ) -> None:
        super().__init__()
        self.received: int | None = None
        self._qapp = qapp
        self._read, self._write = socket.socketpair()
        for end in (self._read, self._write):
            end.setblocking(False)
        self._old_fd = signal.set_wakeup_fd(self._write.fileno())
        self._old = {sig: signal.signal(sig, self._note) for sig in signals}
        self._notifier = QSocketNotifier(self._read.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._wake)

    def _note(self, signum: int, _frame: Any) -> None:
        self.received = signum

    @Slot()
    def _wake(self) -> None:
        try:
            data = self._read.recv(64)
        except BlockingIOError:
            return
        if data:
            self.received = self.received or data[-1]
            log.warning("signal %d: stopping the kiosk", self.received)
            self._qapp.quit()

    def close(self) -> None:
        self._notifier.setEnabled(False)
        signal.set_wakeup_fd(self._old_fd)
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._read.close()
        self._write.close()


def kiosk_display(qapp: QApplication) -> None:
    """What a lobby screen needs from the application: no pointer (touch only), no input
    method (the kiosk draws its own keypads; QT_IM_MODULE=none in the unit as well).
    Blanking stays off because nothing under cage asks for it (no idle daemon runs);
    touch calibration is the compositor's (libinput)."""
    qapp.setOverrideCursor(Qt.CursorShape.BlankCursor)
    os.environ["QT_IM_MODULE"] = "none"


def run_windowed(app: KioskApp, companion: Callable[[], Any] | None = None) -> int:
    """Open the kiosk fullscreen at once (the ``starting`` screen) and serve citizens
    until the window is closed or SIGTERM arrives; then stop the kiosk in order.
    ``companion``: makes a second window shown beside it (the demo's simulator panel)."""
    qapp = QApplication.instance() or QApplication([])
    assert isinstance(qapp, QApplication)
    quitter = QuitOnSignal(qapp)
    kiosk_display(qapp)
    try:
        app.start(wait=False)  # devices and reconciliation follow on the health thread
        ui = KioskUi(app)
        ui.window.showFullScreen()
        extra = companion() if companion is not None else None
        if extra is not None:
            extra.show()
        return qapp.exec()
    finally:
        app.stop()
        quitter.close()
