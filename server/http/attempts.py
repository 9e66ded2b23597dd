"""Password checks under the login throttle (PROTOCOL §2): logins, and the other places a
password is asked for (changing it, turning two-step sign-in off), so that guesses count
the same wherever they are made."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ..accounts.throttle import LoginAttempt
from ..ops.metrics import THROTTLED
from .errors import ApiError
from .state import Hearth

__all__ = ["throttled_check"]


async def throttled_check(
    hearth: Hearth, username: str, address: str, check: Callable[[], Awaitable[bool]]
) -> bool:
    """Run `check` (whether the credentials given are right) as one login attempt for
    `username` from `address`: 429 while throttled; False counts as a failed login."""
    # The attempt claims its places in every window before the check, in one atomic step
    # each (Throttle.login_attempt): parallel guesses, on one process or many, cannot
    # outrun the throttle. One that fails midway (a dependency down) keeps its places until
    # its windows pass.
    attempt = await hearth.throttle.login_attempt(username, address)
    if not isinstance(attempt, LoginAttempt):
        THROTTLED.labels("login").inc()
        raise ApiError("rate_limited", "too many attempts; try again later", retry_after=attempt)
    ok = await check()
    if ok:
        await hearth.throttle.login_succeeded(attempt)
    else:
        await hearth.throttle.login_failed(attempt)
    return ok
