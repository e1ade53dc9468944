"""A small IPP client for asking a printer itself (RFC 8010 / 8011), without CUPS.

Why it exists: CUPS's job history is not a record (it is pruned, and a power cut can lose
a spooler's job files before they reach the disk), so when CUPS no longer knows a job the
kiosk asks the printer's own job list (Get-Jobs, which-jobs=all) for the job id it put in
the job's name.  pycups cannot: its Get-Jobs always names CUPS's own URI, which a printer
answers with client-error-not-found.  Only what reconciliation needs is here: Get-Jobs,
Get-Printer-Attributes and Cancel-Job over plain IPP/HTTP, and a decoder that turns any
malformed answer into :class:`IppError` (it is fuzzed).
"""

from __future__ import annotations

import http.client
import struct
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

VERSION = (2, 0)
GET_JOBS = 0x000A
GET_PRINTER_ATTRIBUTES = 0x000B
CANCEL_JOB = 0x0008

# delimiter tags
OPERATION, JOB, END, PRINTER, UNSUPPORTED = 0x01, 0x02, 0x03, 0x04, 0x05
# value tags
INTEGER, BOOLEAN, ENUM = 0x21, 0x22, 0x23
OCTETS, DATETIME, RESOLUTION, RANGE = 0x30, 0x31, 0x32, 0x33
BEG_COLLECTION, TEXT_LANG, NAME_LANG, END_COLLECTION = 0x34, 0x35, 0x36, 0x37
TEXT, NAME, KEYWORD, URI, CHARSET, LANGUAGE, MIME, MEMBER = (
    0x41,
    0x42,
    0x44,
    0x45,
    0x47,
    0x48,
    0x49,
    0x4A,
)
STRINGS = {TEXT, NAME, KEYWORD, URI, CHARSET, LANGUAGE, MIME, 0x46, 0x4B, 0x4C}
MAX_ANSWER = 4 * 1024 * 1024  # a printer's job list is small; a larger answer is refused
MAX_DEPTH = 8  # nested collections


class IppError(Exception):
    """The printer could not be asked, or answered something that is not IPP."""


@dataclass
class Response:
    status: int
    request_id: int
    groups: list[tuple[int, dict[str, list[Any]]]] = field(default_factory=list)

    def first(self, tag: int) -> dict[str, list[Any]]:
        return next((attrs for t, attrs in self.groups if t == tag), {})

    def all(self, tag: int) -> list[dict[str, list[Any]]]:
        return [attrs for t, attrs in self.groups if t == tag]


def encode(operation: int, request_id: int, attributes: list[tuple[int, str, Any]]) -> bytes:
    """An IPP request with one operation-attributes group: (value tag, name, value)."""
    out = bytearray(struct.pack(">BBHI", *VERSION, operation, request_id))
    out.append(OPERATION)
    for tag, name, value in attributes:
        values = value if isinstance(value, list) else [value]
        for i, one in enumerate(values):
            raw_name = name.encode() if i == 0 else b""
            if tag in (INTEGER, ENUM):
                raw = struct.pack(">i", int(one))
            elif tag == BOOLEAN:
                raw = b"\x01" if one else b"\x00"
            else:
                raw = str(one).encode()
            out += struct.pack(">BH", tag, len(raw_name)) + raw_name
            out += struct.pack(">H", len(raw)) + raw
    out.append(END)
    return bytes(out)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.at + n > len(self.data):
            raise IppError(f"IPP answer cut short at byte {self.at} (wanted {n} more)")
        chunk = self.data[self.at : self.at + n]
        self.at += n
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def short(self) -> int:
        return int(struct.unpack(">H", self.take(2))[0])


def _value(tag: int, raw: bytes) -> Any:
    if tag in (INTEGER, ENUM):
        if len(raw) != 4:
            raise IppError(f"integer of {len(raw)} bytes")
        return struct.unpack(">i", raw)[0]
    if tag == BOOLEAN:
        if len(raw) != 1:
            raise IppError(f"boolean of {len(raw)} bytes")
        return raw != b"\x00"
    if tag in STRINGS:
        return raw.decode("utf-8", "replace")
    if tag in (TEXT_LANG, NAME_LANG):
        inner = _Reader(raw)
        inner.take(inner.short())  # the language
        text = inner.take(inner.short())
        return text.decode("utf-8", "replace")
    if 0x10 <= tag <= 0x1F:
        return None  # out-of-band: no-value, unknown, unsupported
    return raw  # dateTime, resolution, range, octets: kept as bytes (not needed here)


def _collection(reader: _Reader, depth: int) -> dict[str, list[Any]]:
    """Members up to the matching end-collection (the reader is past begCollection)."""
    if depth > MAX_DEPTH:
        raise IppError("collections nested too deep")
    members: dict[str, list[Any]] = {}
    name = ""
    while True:
        tag = reader.byte()
        reader.take(reader.short())  # members have empty attribute names
        raw = reader.take(reader.short())
        if tag == END_COLLECTION:
            return members
        if tag == MEMBER:
            name = raw.decode("utf-8", "replace")
            continue
        if not name:
            raise IppError("collection value without a member name")
        if tag == BEG_COLLECTION:
            members.setdefault(name, []).append(_collection(reader, depth + 1))
        else:
            members.setdefault(name, []).append(_value(tag, raw))


def decode(data: bytes) -> Response:
    """An IPP answer; :class:`IppError` for anything malformed."""
    reader = _Reader(data)
    reader.take(2)  # version: any is read
    status = reader.short()
    request_id = int(struct.unpack(">I", reader.take(4))[0])
    response = Response(status, request_id)
    attrs: dict[str, list[Any]] | None = None
    name = ""
    while True:
        tag = reader.byte()
        if tag == END:
            return response
        if tag < 0x10:  # a delimiter: a new group
            attrs = {}
            response.groups.append((tag, attrs))
            name = ""
            continue
        if attrs is None:
            raise IppError("IPP value outside any attribute group")
        raw_name = reader.take(reader.short())
        raw = reader.take(reader.short())
        if raw_name:
            name = raw_name.decode("utf-8", "replace")
        elif not name:
            raise IppError("additional value without an attribute")
        if tag == BEG_COLLECTION:
            attrs.setdefault(name, []).append(_collection(reader, 1))
        else:
            attrs.setdefault(name, []).append(_value(tag, raw))


@dataclass(frozen=True)
class PrinterJob:
    job_id: int
    name: str
    state: int  # RFC 8011 job-state: 3 pending .. 9 completed
    created: int | None  # printer-up-time seconds at creation (None: not said)


@dataclass(frozen=True)
class JobList:
    """What a printer said of its jobs: every job it still remembers, and how long it has
    been up (its memory of jobs begins no earlier than its start)."""

    jobs: tuple[PrinterJob, ...]
    up_time: int | None

    def find(self, marker: str) -> PrinterJob | None:
        found = [j for j in self.jobs if marker in j.name]
        return max(found, key=lambda j: j.job_id) if found else None


class Printer:
    """One printer's IPP endpoint (``ipp://host:port/path``; ``http://`` is the same)."""

    def __init__(self, uri: str, *, timeout: float = 3.0, user: str = "adm-kiosk") -> None:
        parts = urllib.parse.urlsplit(uri)
        if parts.scheme not in ("ipp", "http") or not parts.hostname:
            raise IppError(f"not a plain IPP printer address: {uri!r}")
        self.uri = uri
        self.host = parts.hostname
        self.port = parts.port or (631 if parts.scheme == "ipp" else 80)
        self.path = parts.path or "/"
        self.timeout = timeout
        self.user = user
        self._request_id = 0

    def _ask(self, operation: int, extra: list[tuple[int, str, Any]]) -> Response:
        self._request_id += 1
        body = encode(
            operation,
            self._request_id,
            [
                (CHARSET, "attributes-charset", "utf-8"),
                (LANGUAGE, "attributes-natural-language", "en"),
                (URI, "printer-uri", self.uri),
                (NAME, "requesting-user-name", self.user),
                *extra,
            ],
        )
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request("POST", self.path, body, {"Content-Type": "application/ipp"})
            answer = conn.getresponse()
            data = answer.read(MAX_ANSWER + 1)
        except (OSError, http.client.HTTPException) as exc:
            raise IppError(f"printer at {self.uri} does not answer: {exc}") from None
        finally:
            conn.close()
        if answer.status != 200:
            raise IppError(f"printer at {self.uri} answered HTTP {answer.status}")
        if len(data) > MAX_ANSWER:
            raise IppError(f"printer at {self.uri} answered more than {MAX_ANSWER} bytes")
        response = decode(data)
        if response.status >= 0x0100:
            raise IppError(f"printer at {self.uri} refused: IPP status 0x{response.status:04x}")
        return response

    def jobs(self) -> JobList:
        """Every job the printer remembers (pending, printing and finished)."""
        answer = self._ask(
            GET_JOBS,
            [
                (KEYWORD, "which-jobs", "all"),
                (BOOLEAN, "my-jobs", False),
                (
                    KEYWORD,
                    "requested-attributes",
                    ["job-id", "job-name", "job-state", "time-at-creation"],
                ),
            ],
        )
        jobs = []
        for attrs in answer.all(JOB):
            try:
                job_id = int(attrs["job-id"][0])
                state = int(attrs["job-state"][0])
            except (KeyError, IndexError, TypeError, ValueError):
                continue  # a job without an id or state tells nothing
            name = attrs.get("job-name", [""])[0]
            created = attrs.get("time-at-creation", [None])[0]
            jobs.append(
                PrinterJob(
                    job_id,
                    str(name or ""),
                    state,
                    int(created) if isinstance(created, int) else None,
                )
            )
        return JobList(tuple(jobs), self.up_time())

    def up_time(self) -> int | None:
        """Seconds the printer has been up (``printer-up-time``), None if it does not say."""
        attrs = self._ask(
            GET_PRINTER_ATTRIBUTES, [(KEYWORD, "requested-attributes", ["printer-up-time"])]
        ).first(PRINTER)
        value = attrs.get("printer-up-time", [None])[0]
        return value if isinstance(value, int) and value >= 0 else None

    def cancel(self, job_id: int) -> None:
        """Cancel a job the printer holds (one CUPS no longer knows must not print later)."""
        self._ask(CANCEL_JOB, [(INTEGER, "job-id", job_id)])
