"""Console accounts: Argon2id password hashes, an optional TOTP second factor, a lockout
after repeated failures, and browser sessions whose cookie token is stored only as a
keyed hash next to the session's CSRF token.

The roles are fixed: ``officer`` does the office work, ``supervisor`` also manages kiosks
and their certificates (and accounts through the CLI), ``technician`` sees the fleet only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
import secrets
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.db import AuditEntry, ConsoleSession, ConsoleUser, utcnow
from server.security import keyed_hash

ROLES = ("officer", "supervisor", "technician")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
FAILURES_BEFORE_LOCK = 5
LOCK_FOR = dt.timedelta(minutes=15)
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
    ``bad_credentials``, ``locked``, ``second_factor``, ``disabled``)."""

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


def authenticate(
    db: Session, username: str, password: str, otp: str = "", *, now: dt.datetime | None = None
) -> Login:
    """Check a login.  Every failure counts against the account, a locked account is
    refused without checking the password, and an unknown name costs the same hash."""
    now = now or utcnow()
    user = db.get(ConsoleUser, username) if USERNAME.match(username) else None
    if user is None:
        with contextlib.suppress(VerificationError):
            _HASHER.verify(_dummy(), password[:MAX_PASSWORD] or "-")
        _audit(db, "public", "console_login_failed", username[:64], reason="unknown_user")
        db.commit()
        return Login(None, "bad_credentials")
    if user.locked_until is not None and user.locked_until > now:
        _audit(db, "public", "console_login_failed", username, reason="locked")
        db.commit()
        return Login(None, "locked", user.locked_until)
    ok: bool
    try:
        ok = bool(_HASHER.verify(user.password_hash, password[:MAX_PASSWORD] or "-"))
    except (VerifyMismatchError, InvalidHashError, VerificationError):
        ok = False
    second = True
    if ok and user.totp_secret:
        second = bool(pyotp.TOTP(user.totp_secret).verify(otp.strip(), valid_window=1))
    if not (ok and second) or user.disabled:
        reason = "disabled" if ok and second else "password" if not ok else "second_factor"
        if reason != "disabled":
            user.failures += 1
            if user.failures >= FAILURES_BEFORE_LOCK:
                user.failures, user.locked_until = 0, now + LOCK_FOR
        _audit(db, "public", "console_login_failed", username, reason=reason)
        db.commit()
        error = {"disabled": "disabled", "second_factor": "second_factor"}.get(
            reason, "bad_credentials"
        )
        return Login(None, error, user.locked_until if user.failures == 0 else None)
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    user.failures, user.locked_until = 0, None
    _audit(db, f"console:{username}", "console_login", username)
    db.commit()
    return Login(user)


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
        )
    )
    db.commit()
    return token, csrf


def session_of(db: Session, pepper: bytes, token: str | None) -> Browser | None:
    """The browser session of a cookie token, or None (unknown, expired, a disabled
    account, or begun before the account's last password change)."""
    if not token or len(token) > 100:
        return None
    row = db.get(ConsoleSession, keyed_hash(pepper, "console", token))
    if row is None or row.expires_at <= utcnow():
        return None
    user = db.get(ConsoleUser, row.username)
    if user is None or user.disabled or row.created_at < user.password_changed_at:
        return None
    return Browser(user.username, user.role, row.csrf)


def close_session(db: Session, pepper: bytes, token: str | None) -> None:
    if token and len(token) <= 100:
        db.execute(
            delete(ConsoleSession).where(
                ConsoleSession.token_hash == keyed_hash(pepper, "console", token)
            )
        )
        db.commit()
