"""journald's native protocol, in the few lines it needs (no library).

Under systemd (``$JOURNAL_STREAM`` set: stdout and stderr go to the journal) the kiosk
and the server log through the journal's own socket instead of the text stream, so each
entry carries structured fields besides the message: the priority, the logger, the code
location, and the kiosk's own (``KIOSK_ID``, ``SESSION_ID``, ``JOB_ID``, ``NIK_MASKED``
when a record has them as ``extra``).  Only masked NIKs ever reach a log: the fields are
the same text the kiosk already logs.  Outside systemd the terminal format stays.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
from collections.abc import Mapping

SOCKET = "/run/systemd/journal/socket"
# logging levels → syslog priorities
PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}
# ``extra`` names on a record → journal fields
EXTRA_FIELDS = {
    "kiosk_id": "KIOSK_ID",
    "session_id": "SESSION_ID",
    "job_id": "JOB_ID",
    "nik_masked": "NIK_MASKED",
}


def wanted(env: Mapping[str, str] | None = None) -> bool:
    """Started by systemd with the output going to the journal."""
    return bool((os.environ if env is None else env).get("JOURNAL_STREAM"))


def _field(name: str, value: str) -> bytes:
    data = value.encode("utf-8", "replace")
    if b"\n" in data:  # the binary form: name, newline, little-endian length, value
        return name.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
    return name.encode() + b"=" + data + b"\n"


class JournalHandler(logging.Handler):
    def __init__(
        self,
        identifier: str,
        address: str | None = None,
        fields: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        # $ADM_JOURNAL_SOCKET: another journal socket (a capture, in tests).
        self.identifier = identifier
        self.address = address or os.environ.get("ADM_JOURNAL_SOCKET") or SOCKET
        self.fields = dict(fields or {})
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            parts = [
                _field("MESSAGE", self.format(record)),
                _field("PRIORITY", str(PRIORITY.get(record.levelno, 6))),
                _field("SYSLOG_IDENTIFIER", self.identifier),
                _field("LOGGER", record.name),
                _field("CODE_FILE", record.pathname),
                _field("CODE_LINE", str(record.lineno)),
                _field("CODE_FUNC", record.funcName),
            ]
            for name, value in self.fields.items():
                parts.append(_field(name, value))
            for attr, name in EXTRA_FIELDS.items():
                extra = getattr(record, attr, None)
                if extra:
                    parts.append(_field(name, str(extra)))
            self._sock.sendto(b"".join(parts), self.address)
        except OSError:
            self.handleError(record)

    def close(self) -> None:
        self._sock.close()
        super().close()


def parse(datagram: bytes) -> dict[str, str]:
    """A native-protocol datagram back into its fields (tests, and reading a capture)."""
    fields: dict[str, str] = {}
    rest = datagram
    while rest:
        line, _sep, after = rest.partition(b"\n")
        if b"=" in line:
            name, _, value = line.partition(b"=")
            fields[name.decode()] = value.decode("utf-8", "replace")
            rest = after
        else:
            (size,) = struct.unpack("<Q", after[:8])
            fields[line.decode()] = after[8 : 8 + size].decode("utf-8", "replace")
            rest = after[8 + size + 1 :]
    return fields
