"""The systemd notify protocol, in the few lines it needs (no library).

systemd hands a ``Type=notify`` service a datagram socket in ``$NOTIFY_SOCKET`` (a path,
or ``@name`` in the abstract namespace) and, with ``WatchdogSec=``, the interval in
``$WATCHDOG_USEC`` (for the process ``$WATCHDOG_PID`` when set).  The service sends lines
such as ``READY=1``, ``STATUS=...``, ``WATCHDOG=1``, ``STOPPING=1``.  Outside systemd
there is no socket and every call does nothing.

Both applications use it: the kiosk's supervision (``ui.supervision``) feeds the watchdog
from a timer on the GUI thread, so a blocked GUI stops the pings and systemd restarts the
kiosk; the central server says READY once it answers on its port.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger("kiosk.notify")


class Notifier:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self._sock: socket.socket | None = None
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        # The kiosk runs as the child of its compositor (cage), which is the unit's main
        # process: a watchdog meant for the parent is the kiosk's to feed.
        mine = not pid or pid in (str(os.getpid()), str(os.getppid()))
        self.watchdog_seconds = int(usec) / 1e6 if usec.isdigit() and mine else None

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, *lines: str) -> bool:
        """Send one message (its lines joined); False when not under systemd or failing
        (the kiosk never stops for its supervisor's sake)."""
        if not self.address:
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto("\n".join(lines).encode(), self.address)
            return True
        except OSError as exc:
            log.warning("systemd notify failed: %s", exc)
            return False

    def ready(self, status: str) -> bool:
        return self.send("READY=1", f"STATUS={status}")

    def status(self, status: str) -> bool:
        return self.send(f"STATUS={status}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.send("STOPPING=1", "STATUS=stopping")

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
