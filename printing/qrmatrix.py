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

#: QRecLevel from qrencode.h: L=0, M=1, Q=2, H=3.
LEVEL_M = 1
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
    lib.QRcode_free.argtypes = [ctypes.POINTER(_QRcode)]
    lib.QRcode_free.restype = None
    return lib


def check() -> None:
    """Raise :class:`QrError` now if the library cannot be loaded (start-up check)."""
    _library()


def matrix(text: str) -> list[list[bool]]:
    """The module matrix of ``text`` (UTF-8, byte mode, level M, smallest version):
    ``rows[r][c]`` is True for a dark module.  No quiet zone; the caller draws it."""
    data = text.encode("utf-8")
    if not data:
        raise QrError("an empty text has nothing to encode")
    lib = _library()
    # Byte mode takes a length, so a NUL inside the text is encoded, not a terminator.
    code = lib.QRcode_encodeData(len(data), data, 0, LEVEL_M)
    if not code:
        raise QrError(f"text of {len(data)} bytes does not fit in a QR code at level M")
    try:
        width = code.contents.width
        raw = ctypes.string_at(code.contents.data, width * width)
    finally:
        lib.QRcode_free(code)
    return [[bool(b & 1) for b in raw[r * width : (r + 1) * width]] for r in range(width)]
