"""QR scanner interface: scanned codes arrive as callbacks from the driver's thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class QrScanner(Protocol):
    """Started with a callback that gets each scanned code (from the driver's thread)."""

    available: bool  # the device is there now
    last_error: str

    def start(self, on_code: Callable[[str], None]) -> None: ...

    def stop(self) -> None: ...
