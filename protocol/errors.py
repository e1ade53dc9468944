"""Machine-readable error codes of the kiosk API (``detail.code`` of a 4xx/5xx answer).

The kiosk decides what to do and what to tell the citizen from these codes, never from
the message text.
"""

from __future__ import annotations

import enum


class ErrorCode(enum.StrEnum):
    NO_CERTIFICATE = "no_certificate"
    UNKNOWN_KIOSK = "unknown_kiosk"
    KIOSK_REVOKED = "kiosk_revoked"
    NO_SESSION = "no_session"
    SESSION_EXPIRED = "session_expired"
    WRONG_PIN = "wrong_pin"
    WRONG_CODE = "wrong_code"
    BAD_TOKEN = "bad_token"
    LOCKED = "locked"
    NO_DOCUMENT = "no_document"
    NO_RESERVATION = "no_reservation"
    JOB_ID_REUSED = "job_id_reused"
    NOT_AVAILABLE = "not_available"
    CONFIRMED = "confirmed"
    RELEASED = "released"
    EXPIRED = "expired"  # the lease ended and someone else took the document
    HELD = "held"  # held for the office: neither printed nor released until it decides
    ALREADY_PRINTED = "already_printed"
    RATE_LIMITED = "rate_limited"
    DATABASE_UNAVAILABLE = "database_unavailable"
    CONFLICT = "conflict"
    TOO_LARGE = "too_large"
    # The kiosk reports a simulated part or the demo mode (or, after the cut-over, reports
    # nothing): the server does not believe its e-KTP assertion.
    UNTRUSTED_KIOSK = "untrusted_kiosk"
    BAD_CERTIFICATE_REQUEST = "bad_certificate_request"
    NO_ENROLMENT = "no_enrolment"
    NO_RELEASE = "no_release"
    NO_COMMAND = "no_command"


# A wrong guess of a secret: the citizen may try again (attempts_left says how often).
WRONG_SECRET = frozenset({ErrorCode.WRONG_PIN, ErrorCode.WRONG_CODE, ErrorCode.BAD_TOKEN})
# A settlement the server already has: the job is settled, whatever the kiosk asked.
SETTLED = frozenset({ErrorCode.CONFIRMED, ErrorCode.RELEASED, ErrorCode.HELD})
