"""Password checks under the login throttle (PROTOCOL §2): logins, and the other places a
password is asked for (changing it, turning two-step sign-in off), so that guesses count
the same wherever they are made."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ..ops.metrics import THROTTLED
from .errors import ApiError
from .state import Hearth

__all__ = ["throttled_check"]


async def throttled_check(
    hearth: Hearth, username: str, address: str, check: Callable[[], Awaitable[bool]]
) -> bool:
    """Run `check` (whether the credentials given are right) as one login attempt for
    `username` from `address`: 429 while throttled; False counts as a failed login."""
    # One attempt per username at a time in this process, so the failure count is read
    # after the previous attempt was counted: parallel guesses cannot outrun the throttle.
    async with hearth.throttle.guard(username):
        wait = await hearth.throttle.login_blocked(username, address)
        if wait is not None:
            THROTTLED.labels("login").inc()
            raise ApiError("rate_limited", "too many attempts; try again later", retry_after=wait)
        ok = await check()
        if ok:
            await hearth.throttle.login_succeeded(address)
        else:
            await hearth.throttle.login_failed(username, address)
        return ok
