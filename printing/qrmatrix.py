"""QR code matrices from libqrencode, the C library Debian ships as ``libqrencode4``.

Every printed document carries a verification QR code.  reportlab's own encoder is pure
Python: its eight-mask search takes 14-30 ms for a verification text, holding the
interpreter the whole time, and in the kiosk that is a stall of the touch screen while a
document renders on a worker thread.  libqrencode does the same work in C in well under a
millisecond, and ctypes lets go of the interpreter lock for the call, so the GUI thread keeps
running.  Same standard (ISO/IEC 18004), error correction M, byte mode: any reader decodes
the result exactly as before.

The library is a hard dependency (the set-up step installs it, the package depends on it):
on a kiosk without it the renderers' warm-up logs an error naming the package at start-up,
before the first print would fail.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import re

#: QRecLevel from qrencode.h: L=0, M=1, Q=2, H=3.
LEVEL_M = 1
#: QRencodeMode from qrencode.h: the hint that lets the library split a string into
#: numeric, alphanumeric and byte segments itself (8-bit, no Kanji).
MODE_8 = 2
#: The characters of the QR alphanumeric mode (5.5 bits each, against 8 in byte mode).
ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
#: libqrencode's soname on Debian (package libqrencode4).
SONAME = "libqrencode.so.4"


class QrError(RuntimeError):
    """The text cannot be encoded (too long for any QR version) or the library is missing."""


class _QRcode(ctypes.Structure):
    # struct QRcode { int version; int width; unsigned char *data; } (qrencode.h)
    _fields_ = [
        ("version", ctypes.c_int),
        ("width", ctypes.c_int),
        ("data", ctypes.POINTER(ctypes.c_ubyte)),
    ]


@functools.cache
def _library() -> ctypes.CDLL:
    """Load libqrencode once.  CDLL (not PyDLL) releases the GIL around every call."""
    try:
        lib = ctypes.CDLL(SONAME)
    except OSError:
        found = ctypes.util.find_library("qrencode")
        if not found:
            raise QrError(f"{SONAME} not found: install the Debian package libqrencode4") from None
        lib = ctypes.CDLL(found)
    # QRcode *QRcode_encodeData(int size, const unsigned char *data, int version, level)
    lib.QRcode_encodeData.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
    lib.QRcode_encodeData.restype = ctypes.POINTER(_QRcode)
    # QRcode *QRcode_encodeString(const char *s, int version, level, hint, casesensitive)
    lib.QRcode_encodeString.argtypes = [
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
    ]
    lib.QRcode_encodeString.restype = ctypes.POINTER(_QRcode)
    lib.QRcode_free.argtypes = [ctypes.POINTER(_QRcode)]
    lib.QRcode_free.restype = None
    return lib


def check() -> None:
    """Raise :class:`QrError` now if the library cannot be loaded (start-up check)."""
    _library()


def matrix(text: str) -> list[list[bool]]:
    """The module matrix of ``text`` (level M, smallest version): ``rows[r][c]`` is True
    for a dark module.  No quiet zone; the caller draws it.

    A text entirely of :data:`ALPHANUMERIC` characters (a document's seal link) is split
    by the library into alphanumeric and numeric segments; anything else is UTF-8 in
    byte mode."""
    _, width, dark = _encode(text)
    return [[b == 1 for b in dark[r * width : (r + 1) * width]] for r in range(width)]


def runs(text: str) -> tuple[int, list[tuple[int, int, int]]]:
    """The symbol's width in modules and its horizontal runs of dark modules as (row,
    column, length): what a renderer draws, found by a regular expression over each row
    (C), not by a loop over the modules in Python."""
    _, width, dark = _encode(text)
    found = []
    for r in range(width):
        for run in _DARK.finditer(dark, r * width, (r + 1) * width):
            found.append((r, run.start() - r * width, run.end() - run.start()))
    return width, found


def version(text: str) -> int:
    """The QR version (1-40) :func:`matrix` encodes ``text`` at."""
    return _encode(text)[0]


_DARK = re.compile(b"\x01+")
# libqrencode's module byte: bit 0 is dark; the other bits say what the module is part of.
_BIT0 = bytes(b & 1 for b in range(256))


def _encode(text: str) -> tuple[int, int, bytes]:
    """(version, width, one byte per module: 1 dark, 0 light)."""
    data = text.encode("utf-8")
    if not data:
        raise QrError("an empty text has nothing to encode")
    lib = _library()
    if ALPHANUMERIC.issuperset(text):
        code = lib.QRcode_encodeString(data, 0, LEVEL_M, MODE_8, 1)
    else:
        # Byte mode takes a length, so a NUL inside the text is encoded, not a terminator.
        code = lib.QRcode_encodeData(len(data), data, 0, LEVEL_M)
    if not code:
        raise QrError(f"text of {len(data)} bytes does not fit in a QR code at level M")
    try:
        width, number = code.contents.width, code.contents.version
        raw = ctypes.string_at(code.contents.data, width * width)
    finally:
        lib.QRcode_free(code)
    return number, width, raw.translate(_BIT0)
