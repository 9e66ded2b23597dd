"""Login and registration throttling (PROTOCOL §2), shared by all processes via Counters.

Each attempt claims its place in every window it counts against before any password is
checked (`Counters.claim` counts and records in one atomic step), so parallel requests, on
one process or many, cannot all read "under the limit" and then all go ahead: with a limit
of 50 failures, at most 50 passwords are ever checked in the window.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ..broker.base import Counters
from ..config import Limits
from ..sealing import derive_key

__all__ = ["LoginAttempt", "Throttle"]


@dataclass(slots=True)
class LoginAttempt:
    """The places one login attempt holds: as a failure (per username and per address) and
    as a success (per address) until it is known which it was."""

    failure: list[tuple[str, str]] = field(default_factory=list)
    success: list[tuple[str, str]] = field(default_factory=list)


class Throttle:
    """Failed logins per username and per address; successes and registrations per address."""

    def __init__(self, counters: Counters, limits: Limits, secret: str) -> None:
        self._c = counters
        self._l = limits
        self._names_key = derive_key(secret, "throttle-names")

    def _name(self, kind: str, who: str) -> str:
        """A counter's key: usernames and client addresses never appear in key names (a
        Redis snapshot would list who failed to sign in, from where), only keyed digests."""
        digest = hashlib.blake2b(who.encode(), key=self._names_key, digest_size=16).hexdigest()
        return f"{kind}:{digest}"

    async def login_attempt(self, username: str, address: str) -> LoginAttempt | float:
        """Claim a place for one login attempt; seconds to wait instead if any window is full."""
        limits, attempt = self._l, LoginAttempt()
        failures = limits.login_window_seconds
        windows = (
            (attempt.failure, self._name("login-fail-user", username), failures,
             limits.login_failures_per_user),
            (attempt.failure, self._name("login-fail-addr", address), failures,
             limits.login_failures_per_address),
            (attempt.success, self._name("login-ok-addr", address), 60,
             limits.logins_per_minute_per_address),
        )  # fmt: skip
        for held, key, window, limit in windows:
            event = await self._c.claim(key, window, limit)
            if event is None:
                await self._release(attempt.failure + attempt.success)
                return float(window)
            held.append((key, event))
        return attempt

    async def login_failed(self, attempt: LoginAttempt) -> None:
        """The attempt was refused: it stays counted as a failure, not as a success."""
        await self._release(attempt.success)

    async def login_succeeded(self, attempt: LoginAttempt) -> None:
        """The attempt succeeded: it stays counted as a success, not as a failure."""
        await self._release(attempt.failure)

    async def registration_blocked(self, address: str) -> float | None:
        """Seconds to wait if registrations from this address are throttled; else counts one."""
        limit = self._l.registrations_per_minute_per_address
        if await self._c.claim(self._name("register-addr", address), 60, limit) is None:
            return 60.0
        return None

    async def _release(self, held: list[tuple[str, str]]) -> None:
        for key, event in held:
            await self._c.release(key, event)
