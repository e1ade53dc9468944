"""The technician PIN: a salted slow hash in the configuration and a lockout that
survives a restart.

Six digits are a million guesses: an unsalted SHA-256 of them is reversed in under a
second, so the configuration holds ``scrypt$N$r$p$salt$hash`` (standard library scrypt,
~50 ms per check) and the screen entry locks after ``max_attempts`` wrong PINs for
``lockout_minutes``.  The count lives in the kiosk store's audit log (every attempt is
an audit row), so pulling the plug does not reset it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

# The simulation's technician PIN (config/demo.toml); refused on a production kiosk.
DEMO_PIN = "246810"

# scrypt cost: N=2^14, r=8, p=1 is 16 MiB and ~50 ms here; a brute force of all 10^6
# PINs costs ~14 CPU-hours instead of half a second.
N, R, P = 2**14, 8, 1
_PREFIX = "scrypt"


class PinHashError(ValueError):
    """A configured PIN hash is not in the ``scrypt$N$r$p$salt$hash`` form."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def hash_pin(pin: str, *, salt: bytes | None = None, n: int = N) -> str:
    """The configuration value for ``pin``."""
    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 12):
        raise ValueError("a technician PIN is 4 to 12 digits")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=R, p=P, dklen=32)
    return f"{_PREFIX}${n}${R}${P}${_b64(salt)}${_b64(digest)}"


def check_pin_hash(value: str) -> tuple[int, int, int, bytes, bytes]:
    parts = value.split("$")
    if len(parts) != 6 or parts[0] != _PREFIX:
        raise PinHashError("must be scrypt$N$r$p$salt$hash (make one with 'adm-kiosk pin-hash')")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        raise PinHashError("has a malformed number or base64 part") from None
    if n < 2**14 or n & (n - 1) or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise PinHashError("scrypt cost too low or malformed (N >= 16384, a power of 2)")
    if len(salt) < 16 or len(digest) != 32:
        raise PinHashError("needs a salt of at least 16 bytes and a 32-byte hash")
    return n, r, p, salt, digest


def pin_matches(pin: str, pin_hash: str) -> bool:
    """``pin`` against the configured hash ("" disables the screen entry: never matches)."""
    if not pin_hash:
        return False
    n, r, p, salt, digest = check_pin_hash(pin_hash)
    given = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=2**26, dklen=32)
    return hmac.compare_digest(given, digest)


@dataclass(frozen=True)
class Attempt:
    at: dt.datetime
    ok: bool


# The audit events the flow writes for each verdict; the lockout is counted from them.
PIN_EVENTS = ("technician_login", "technician_pin_refused")


def attempts_from_audit(rows: list[tuple[int, str, str, dict[str, object]]]) -> list[Attempt]:
    """The attempts in audit rows ``(id, at, kind, detail)`` of ``PIN_EVENTS``."""
    return [
        Attempt(dt.datetime.fromisoformat(at), kind == "technician_login")
        for _, at, kind, _ in rows
        if kind in PIN_EVENTS
    ]


@dataclass(frozen=True)
class PinVerdict:
    ok: bool
    attempts_left: int  # before the lockout; -1 while locked (the PIN was not checked)
    locked_until: dt.datetime | None  # set while locked (the PIN was not even checked)


class PinGuard:
    """Checks the technician PIN with a lockout counted from the audited attempts.

    ``history`` returns the recorded attempts, oldest first (the kiosk's audit rows of
    ``technician_login`` and ``technician_pin_refused``, which the flow writes for every
    verdict); without it the attempts are kept in memory.  Runs on the flow's worker,
    never the GUI thread.
    """

    def __init__(
        self,
        pin_hash: str,
        history: Callable[[], list[Attempt]] | None = None,
        *,
        max_attempts: int = 5,
        lockout: dt.timedelta = dt.timedelta(minutes=15),
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.pin_hash = pin_hash
        self._memory: list[Attempt] | None = None if history else []
        self._history = history or (lambda: list(self._memory or ()))
        self.max_attempts = max_attempts
        self.lockout = lockout
        self._now = now

    @property
    def enabled(self) -> bool:
        return bool(self.pin_hash)

    def _failures(self) -> tuple[int, dt.datetime | None]:
        """Wrong PINs since the last right one or the last served lockout, and the time
        of the latest."""
        count, last = 0, None
        for attempt in self._history():
            if attempt.ok:
                count, last = 0, None
                continue
            if (
                last is not None
                and count >= self.max_attempts
                and attempt.at >= last + self.lockout
            ):
                count = 0  # an attempt after a served lockout starts a new count
            count, last = count + 1, attempt.at
        return count, last

    def state(self) -> PinVerdict:
        count, last = self._failures()
        if count >= self.max_attempts and last is not None:
            until = last + self.lockout
            if self._now() < until:
                return PinVerdict(False, -1, until)  # -1: locked, the PIN not even checked
            count = 0
        return PinVerdict(False, self.max_attempts - count, None)

    def check(self, pin: str) -> PinVerdict:
        """Refused without looking at ``pin`` while locked; otherwise checked and recorded."""
        before = self.state()
        if before.locked_until is not None or not self.enabled:
            return before
        ok = pin_matches(pin, self.pin_hash)
        if self._memory is not None:
            self._memory.append(Attempt(self._now(), ok))
        if ok:
            return PinVerdict(True, self.max_attempts, None)
        left = before.attempts_left - 1
        return PinVerdict(False, left, self._now() + self.lockout if left <= 0 else None)
