"""What the citizen is to be told, as codes: the kiosk's core speaks no language.

A *notice* is a code with optional values, written ``code`` or ``code|key=value|...``
(``wrong_code|left=2``, ``finger_retry|why=poor_image|left=3``).  The flow puts notices
into its ``SessionView`` (``prompt``, ``error``) and the health check into its verdict; the
UI (``ui/texts.py``) turns each into a sentence in the session's language through Qt's
translation tooling, so every sentence has one home and the core stays testable without
any.  The technical reason goes to the log.
"""

from __future__ import annotations

import re

from drivers.card.base import (
    AuthenticationFailed,
    CardError,
    CardProtocolError,
    CardRemoved,
    DataNotAuthentic,
    NotAnEktp,
    ReaderUnavailable,
)
from drivers.fingerprint.base import FingerMismatch, FingerprintError, NoFinger, PoorImage
from kiosk.print_service import PrintFailed
from kiosk.server_client import (
    ForgedDocument,
    Locked,
    ServerError,
    ServerRefused,
    ServerUnavailable,
    WrongSecret,
)
from kiosk.store import StoreError
from printing.spooler import SpoolerError
from protocol.errors import ErrorCode

# Most specific first: the first class an error is an instance of names it.
ERRORS: list[tuple[type[BaseException], str]] = [
    (FingerMismatch, "finger_mismatch"),
    (NoFinger, "no_finger"),
    (PoorImage, "poor_image"),
    (FingerprintError, "scanner_fault"),
    (NotAnEktp, "not_an_ektp"),
    (DataNotAuthentic, "data_not_authentic"),
    (AuthenticationFailed, "card_not_verified"),
    (CardRemoved, "card_removed"),
    (ReaderUnavailable, "reader_fault"),
    (CardProtocolError, "card_unreadable"),
    (CardError, "card_error"),
    (Locked, "locked"),
    (ForgedDocument, "forged_document"),
    (ServerUnavailable, "server_unavailable"),
    (ServerRefused, "server_refused"),
    (ServerError, "server_error"),
    (StoreError, "kiosk_fault"),
    (PrintFailed, "print_failed"),
    (SpoolerError, "printer_fault"),
]
CODES = frozenset(code for _, code in ERRORS) | {"unknown_error"}

# A card was on the reader when the idle screen appeared (no tap was seen).
LIFT_AND_TAP = "lift_and_tap"

WRONG: dict[str, str] = {
    ErrorCode.WRONG_PIN: "wrong_pin",
    ErrorCode.WRONG_CODE: "wrong_code",
    ErrorCode.BAD_TOKEN: "bad_token",
}

_NOTICE = re.compile(r"^[a-z][a-z0-9_]*(\|[a-z_]+=[^|]*)*$")


def notice(code: str, **values: object) -> str:
    """``code`` with ``values`` (a value's ``|`` becomes ``/``: it separates fields)."""
    parts = [code] + [f"{k}={str(v).replace('|', '/')}" for k, v in values.items()]
    return "|".join(parts)


def parse(text: str) -> tuple[str, dict[str, str]]:
    """(code, values) of a notice; ("", {}) for an empty one."""
    if not text:
        return "", {}
    code, *fields = text.split("|")
    return code, dict(f.split("=", 1) for f in fields if "=" in f)


def is_notice(text: str) -> bool:
    """Whether ``text`` is a notice (a test checks the core hands up nothing else)."""
    return not text or bool(_NOTICE.match(text))


def for_citizen(error: BaseException | None) -> str:
    if isinstance(error, WrongSecret):
        code = WRONG.get(error.code, "wrong_data")
        left = error.attempts_left
        return notice(code, left=left) if left is not None else code
    for kind, code in ERRORS:
        if isinstance(error, kind):
            return code
    return "unknown_error"


def finger_retry(error: BaseException | None, left: int) -> str:
    """Why the finger is asked for again, and how many attempts are left."""
    if isinstance(error, PoorImage):
        why = "poor_image"
    elif isinstance(error, NoFinger):
        why = "no_finger"
    else:
        why = "no_match"
    return notice("finger_retry", why=why, left=left)


def finger_fallback(error: BaseException | None) -> str:
    """The e-KTP path gave up (attempts used, or the scanner failed): NIK + PIN instead."""
    if isinstance(error, (FingerMismatch, NoFinger, PoorImage)):
        return notice("finger_fallback", why="no_match")
    return notice("finger_fallback", why="scanner")
