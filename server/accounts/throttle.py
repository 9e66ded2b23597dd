"""Login and registration throttling (PROTOCOL §2), shared by all processes via Counters."""

from __future__ import annotations

import asyncio
import zlib

from ..broker.base import Counters
from ..config import Limits

__all__ = ["Throttle"]


class Throttle:
    """Failed logins per username and per address; successes and registrations per address."""

    def __init__(self, counters: Counters, limits: Limits) -> None:
        self._c = counters
        self._l = limits
        self._locks = [asyncio.Lock() for _ in range(64)]

    def guard(self, username: str) -> asyncio.Lock:
        """A lock serializing this process's login attempts for one username (striped)."""
        return self._locks[zlib.crc32(username.encode()) % len(self._locks)]

    async def login_blocked(self, username: str, address: str) -> float | None:
        """Seconds to wait if logins for this username or from this address are throttled."""
        window = self._l.login_window_seconds
        user_fails = await self._c.hit(f"login-fail-user:{username}", window, add=False)
        addr_fails = await self._c.hit(f"login-fail-addr:{address}", window, add=False)
        if (
            user_fails >= self._l.login_failures_per_user
            or addr_fails >= self._l.login_failures_per_address
        ):
            return float(window)
        ok = await self._c.hit(f"login-ok-addr:{address}", 60, add=False)
        if ok >= self._l.logins_per_minute_per_address:
            return 60.0
        return None

    async def login_failed(self, username: str, address: str) -> None:
        """Count a refused login against the username and the address."""
        window = self._l.login_window_seconds
        await self._c.hit(f"login-fail-user:{username}", window)
        await self._c.hit(f"login-fail-addr:{address}", window)

    async def login_succeeded(self, address: str) -> None:
        """Count a successful login from the address."""
        await self._c.hit(f"login-ok-addr:{address}", 60)

    async def registration_blocked(self, address: str) -> float | None:
        """Seconds to wait if registrations from this address are throttled; else counts one."""
        count = await self._c.hit(f"register-addr:{address}", 60, add=False)
        if count >= self._l.registrations_per_minute_per_address:
            return 60.0
        await self._c.hit(f"register-addr:{address}", 60)
        return None
