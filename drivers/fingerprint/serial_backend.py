"""The fingerprint module on a serial line (USB CDC-ACM or RS-232) through pyserial.

Only this file imports pyserial; the protocol is :mod:`drivers.fingerprint.module`.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import serial  # type: ignore[import-untyped]

from drivers.fingerprint.module import (
    FingerprintModule,
    ModuleSettings,
    ScannerUnplugged,
    Transport,
)


class SerialTransport:
    def __init__(self, port: str, settings: ModuleSettings) -> None:
        try:
            self._serial = serial.Serial(
                port, baudrate=settings.baud, timeout=settings.answer_timeout, write_timeout=2
            )
        except (serial.SerialException, OSError) as exc:
            raise ScannerUnplugged(f"fingerprint module at {port}: {exc}") from None
        self.port = port

    def read(self, n: int) -> bytes:
        try:
            return bytes(self._serial.read(n))
        except (serial.SerialException, OSError) as exc:
            raise ScannerUnplugged(f"fingerprint module at {self.port}: {exc}") from None

    def write(self, data: bytes) -> None:
        try:
            self._serial.write(data)
        except (serial.SerialException, OSError) as exc:
            raise ScannerUnplugged(f"fingerprint module at {self.port}: {exc}") from None

    def close(self) -> None:
        with contextlib.suppress(serial.SerialException, OSError):
            self._serial.close()


def serial_module(port: str | Path, settings: ModuleSettings) -> FingerprintModule:
    """The module at ``port`` (a device path or a pyserial URL such as ``loop://``)."""

    def connect(s: ModuleSettings) -> Transport:
        return SerialTransport(str(port), s)

    path = Path(str(port))
    device = "://" not in str(port)  # a pyserial URL (loop://) is always "there"
    return FingerprintModule(
        connect, settings, present=lambda: not device or path.exists(), port=str(port)
    )
