"""Console accounts as banks run them: Argon2id password hashes, a TOTP second factor
(required for supervisors, each code accepted once), browser sessions that end after an
idle time as well as at their hard limit, and guessing stopped without handing an
outsider a way to lock a named officer out.

Guessing is throttled per source first: a source (address) with ``SOURCE_FAILURES``
failed logins within ``WINDOW`` is refused at once for the rest of the window, without
its password being checked or any account counting it.  An account is locked only by
``ACCOUNT_FAILURES`` failures within the window from all sources together (many
addresses: a distributed guess), and a browser that has signed in to the account before
(its device cookie) is not held by that lock, only by its own source's throttle.  So one
outsider can spend at most ``SOURCE_FAILURES`` guesses per window per address, and even
a crowd of addresses that locks the account does not lock the officer's own browser out.
The cookie token of a session is stored only as a keyed hash next to its CSRF token.

The roles are fixed: ``officer`` does the office work, ``supervisor`` also manages kiosks
and their certificates (and accounts through the CLI), ``technician`` sees the fleet only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from server.db import AuditEntry, ConsoleLoginFailure, ConsoleSession, ConsoleUser, utcnow
from server.security import keyed_hash

ROLES = ("officer", "supervisor", "technician")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
SOURCE_FAILURES = 5  # failed logins from one source within WINDOW: that source waits
ACCOUNT_FAILURES = 20  # failed logins on one account from all sources: the account locks
WINDOW = dt.timedelta(minutes=15)
LOCK_FOR = dt.timedelta(minutes=15)
# Roles that may not sign in without a second factor (they manage kiosks and keys).
TOTP_REQUIRED = frozenset({"supervisor"})
# Argon2id with RFC 9106's second recommended profile scaled to a small server: 64 MiB,
# 3 passes (~0.1 s here), so a stolen table costs an attacker that per guess.
_HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=2)


@functools.cache
def _dummy() -> str:
    """A hash to verify against when the user does not exist: the answer takes as long.
    Made at the first such login, not at import (64 MiB and ~0.1 s every worker and the
    demo kiosk would pay at start)."""
    return _HASHER.hash("not a password of anyone")


class AccountError(Exception):
    """The account operation cannot be done; the message says why (for the CLI)."""


@dataclass(frozen=True)
class Login:
    """The outcome of a login attempt: ``user`` on success, else ``error`` (a code:
    ``bad_credentials``, ``locked``, ``throttled``, ``second_factor``, ``disabled``,
    ``totp_required``)."""

    user: ConsoleUser | None
    error: str = ""
    locked_until: dt.datetime | None = None


@dataclass(frozen=True)
class Browser:
    """A logged-in browser session."""

    username: str
    role: str
    csrf: str


def _audit(db: Session, actor: str, action: str, subject: str, **detail: object) -> None:
    db.add(AuditEntry(actor=actor, action=action, subject=subject, detail=detail))


def check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")


def add_user(
    db: Session, username: str, role: str, password: str, *, totp: bool = False, actor: str = "cli"
) -> str | None:
    """Create an account; returns the TOTP secret to enrol in an authenticator app (once)."""
    if not USERNAME.match(username):
        raise AccountError("a user name is 2-64 of a-z, 0-9, '.', '_', '-' (lower case)")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    check_password(password)
    if db.get(ConsoleUser, username) is not None:
        raise AccountError(f"user {username!r} exists")
    totp = totp or role in TOTP_REQUIRED
    secret = pyotp.random_base32() if totp else None
    db.add(
        ConsoleUser(
            username=username, role=role, password_hash=_HASHER.hash(password), totp_secret=secret
        )
    )
    _audit(db, actor, "console_user_added", username, role=role, totp=totp)
    db.commit()
    return secret


def set_password(db: Session, username: str, password: str, *, actor: str = "cli") -> None:
    """A new password; every session of the account ends and a lockout is lifted."""
    user = _user(db, username)
    check_password(password)
    user.password_hash = _HASHER.hash(password)
    user.password_changed_at, user.failures, user.locked_until = utcnow(), 0, None
    db.execute(delete(ConsoleSession).where(ConsoleSession.username == username))
    _audit(db, actor, "console_password_set", username)
    db.commit()


def set_disabled(db: Session, username: str, disabled: bool, *, actor: str = "cli") -> None:
    user = _user(db, username)
    user.disabled = disabled
    if disabled:
        db.execute(delete(ConsoleSession).where(ConsoleSession.username == username))
    _audit(db, actor, "console_user_disabled" if disabled else "console_user_enabled", username)
    db.commit()


def _user(db: Session, username: str) -> ConsoleUser:
    user = db.get(ConsoleUser, username)
    if user is None:
        raise AccountError(f"no user {username!r}")
    return user


def users(db: Session) -> list[ConsoleUser]:
    return list(db.scalars(select(ConsoleUser).order_by(ConsoleUser.username)))


def set_totp(db: Session, username: str, *, actor: str = "cli") -> str:
    """A new TOTP secret for the account (returned once, to enrol); its sessions end."""
    user = _user(db, username)
    user.totp_secret, user.totp_last_step = pyotp.random_base32(), None
    db.execute(delete(ConsoleSession).where(ConsoleSession.username == username))
    _audit(db, actor, "console_totp_set", username)
    db.commit()
    return user.totp_secret


def _totp_step(secret: str, code: str, last: int | None, now: dt.datetime) -> int | None:
    """The RFC 6238 time step ``code`` belongs to (this one, or one either side for a
    clock a little off), if it is later than ``last``: a code is accepted once, and an
    older one never after a newer one."""
    code = code.strip()
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now.replace(tzinfo=dt.UTC))
    for candidate in (step - 1, step, step + 1):
        if (last is None or candidate > last) and hmac.compare_digest(
            totp.generate_otp(candidate), code
        ):
            return candidate
    return None


def _failures(db: Session, column: Any, value: str, now: dt.datetime) -> int:
    recent = select(func.count()).where(column == value, ConsoleLoginFailure.at > now - WINDOW)
    return int(db.scalar(recent) or 0)


def device_token(pepper: bytes, username: str) -> str:
    """The value of the device cookie a browser gets when it signs in to ``username``: it
    lets that browser past a lock others caused on the account (not past its source's
    throttle)."""
    return keyed_hash(pepper, "console-device", username).hex()


def authenticate(
    db: Session,
    username: str,
    password: str,
    otp: str = "",
    *,
    now: dt.datetime | None = None,
    source: str = "",
    device: str = "",
    pepper: bytes = b"",
) -> Login:
    """Check a login (see the module docstring for the order of the checks).  ``source``:
    the client's address; ``device``: its device cookie (``device_token``), if any."""
    now = now or utcnow()
    source = source[:64] or "unknown"
    name = username[:64]
    if _failures(db, ConsoleLoginFailure.source, source, now) >= SOURCE_FAILURES:
        _audit(db, "public", "console_login_failed", name, reason="throttled", source=source)
        db.commit()
        return Login(None, "throttled", now + WINDOW)
    user = db.get(ConsoleUser, username) if USERNAME.match(username) else None
    if user is None:
        with contextlib.suppress(VerificationError):
            _HASHER.verify(_dummy(), password[:MAX_PASSWORD] or "-")
        _failed(db, source, name, "unknown_user", now)
        return Login(None, "bad_credentials")
    known_device = bool(pepper) and hmac.compare_digest(
        device.encode(), device_token(pepper, user.username).encode()
    )
    locked = user.locked_until is not None and user.locked_until > now
    if locked and not known_device:
        _audit(db, "public", "console_login_failed", username, reason="locked", source=source)
        db.commit()
        return Login(None, "locked", user.locked_until)
    ok: bool
    try:
        ok = bool(_HASHER.verify(user.password_hash, password[:MAX_PASSWORD] or "-"))
    except (VerifyMismatchError, InvalidHashError, VerificationError):
        ok = False
    if ok and user.role in TOTP_REQUIRED and not user.totp_secret:
        _audit(db, "public", "console_login_failed", username, reason="totp_required")
        db.commit()
        return Login(None, "totp_required")
    step: int | None = None
    if ok and user.totp_secret:
        step = _totp_step(user.totp_secret, otp, user.totp_last_step, now)
    second = step is not None or not user.totp_secret
    if not (ok and second) or user.disabled:
        reason = "disabled" if ok and second else "password" if not ok else "second_factor"
        if reason == "disabled":
            _audit(db, "public", "console_login_failed", username, reason=reason)
            db.commit()
            return Login(None, "disabled")
        _failed(db, source, username, reason, now)
        if _failures(db, ConsoleLoginFailure.username, username, now) >= ACCOUNT_FAILURES:
            user.locked_until = now + LOCK_FOR
            _audit(db, "public", "console_account_locked", username, until=str(user.locked_until))
            db.commit()
        error = "second_factor" if reason == "second_factor" else "bad_credentials"
        return Login(None, error)
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    if step is not None:
        user.totp_last_step = step
    # The source's failures stay counted: a right login between guesses (the guesser's
    # own account) must not reset its throttle.  A lock the officer's own browser passed
    # stays for the others (the crowd that caused it may still be guessing).
    if not locked:
        user.locked_until = None
    _audit(db, f"console:{username}", "console_login", username)
    db.commit()
    return Login(user)


def _failed(db: Session, source: str, username: str, reason: str, now: dt.datetime) -> None:
    db.execute(delete(ConsoleLoginFailure).where(ConsoleLoginFailure.at <= now - WINDOW))
    db.add(ConsoleLoginFailure(at=now, source=source, username=username))
    _audit(db, "public", "console_login_failed", username, reason=reason, source=source)
    db.commit()


def open_session(
    db: Session, pepper: bytes, user: ConsoleUser, ttl: dt.timedelta
) -> tuple[str, str]:
    """A new browser session: (cookie token, CSRF token).  Only the token's keyed hash is
    stored, so a copy of the database opens no session."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = utcnow()
    db.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
    db.add(
        ConsoleSession(
            token_hash=keyed_hash(pepper, "console", token),
            username=user.username,
            csrf=csrf,
            created_at=now,
            expires_at=now + ttl,
            active_at=now,
        )
    )
    db.commit()
    return token, csrf


IDLE_RECORD = dt.timedelta(seconds=30)  # how often a session's activity is written


def session_of(
    db: Session, pepper: bytes, token: str | None, idle: dt.timedelta | None = None
) -> Browser | None:
    """The browser session of a cookie token, or None (unknown, past its hard limit,
    idle longer than ``idle``, a disabled account, or begun before the account's last
    password change).  A session in use has its activity recorded (at most every
    ``IDLE_RECORD``); one found idle is ended."""
    if not token or len(token) > 100:
        return None
    row = db.get(ConsoleSession, keyed_hash(pepper, "console", token))
    now = utcnow()
    if row is None or row.expires_at <= now:
        return None
    active = row.active_at or row.created_at
    if idle is not None and now - active > idle:
        db.delete(row)
        _audit(db, f"console:{row.username}", "console_session_idle", row.username)
        db.commit()
        return None
    user = db.get(ConsoleUser, row.username)
    if user is None or user.disabled or row.created_at < user.password_changed_at:
        return None
    if now - active > IDLE_RECORD:
        row.active_at = now
        db.commit()
    return Browser(user.username, user.role, row.csrf)


def close_session(db: Session, pepper: bytes, token: str | None) -> None:
    if token and len(token) <= 100:
        db.execute(
            delete(ConsoleSession).where(
                ConsoleSession.token_hash == keyed_hash(pepper, "console", token)
            )
        )
        db.commit()
