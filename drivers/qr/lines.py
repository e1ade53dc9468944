"""A serial scanner's byte stream → scanned codes, one per line.

Scanners in their default serial mode send each code followed by CR (or CR LF).  What
is passed on is only a complete line of printable text no longer than ``max_length``:
an over-long line, a line with control or non-UTF-8 bytes (line noise, a scanner in the
wrong mode) and a partial line left when the port goes away are dropped with a log line,
never handed to the kiosk.  Pure, so it is fuzzed without a port.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

log = logging.getLogger("drivers.qr")

MAX_LENGTH = 512


@dataclass
class LineAssembler:
    eol: bytes = b"\r"  # b"\r" or b"\r\n"
    max_length: int = MAX_LENGTH
    dropped: int = 0
    _buffer: bytearray = field(default_factory=bytearray)
    _overflow: bool = False

    def __post_init__(self) -> None:
        if self.eol not in (b"\r", b"\r\n"):
            raise ValueError("a scanner line ends with CR or CR LF")

    def feed(self, data: bytes) -> list[str]:
        """The complete, valid lines in ``data`` (with what came before it)."""
        lines: list[str] = []
        for byte in data:
            if byte == 0x0D:  # CR ends a line either way; a following LF is skipped
                line = self._finish()
                if line is not None:
                    lines.append(line)
                continue
            if byte == 0x0A and self.eol == b"\r\n" and not self._buffer and not self._overflow:
                continue  # the LF of CR LF
            if self._overflow:
                continue
            if len(self._buffer) >= self.max_length:
                self._overflow = True
                continue
            self._buffer.append(byte)
        return lines

    def reset(self) -> None:
        """The port went away: a partial line is dropped, not joined to the next one."""
        if self._buffer or self._overflow:
            self._drop("partial line when the port closed")
        self._buffer.clear()
        self._overflow = False

    def _finish(self) -> str | None:
        raw, over = bytes(self._buffer), self._overflow
        self._buffer.clear()
        self._overflow = False
        if over:
            self._drop(f"line longer than {self.max_length} bytes")
            return None
        if not raw:
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self._drop("line is not UTF-8 text")
            return None
        if not text.isprintable():
            self._drop("line holds control characters")
            return None
        return text

    def _drop(self, why: str) -> None:
        self.dropped += 1
        log.warning("QR scanner: dropped a %s", why)
