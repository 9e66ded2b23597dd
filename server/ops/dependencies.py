"""Telling a failed dependency from a bug: Redis, the database or the network failing is
answered "try again" (503, `unavailable`, a warning); anything else is a bug (500,
`internal`, an error with its traceback)."""

from __future__ import annotations

from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

__all__ = ["dependency_failed"]


def dependency_failed(exc: BaseException) -> bool:
    """Whether `exc` says a dependency (Redis, the database, the network) failed, which is
    answered `unavailable` (503, try again); anything else is a bug, answered `internal`."""
    if isinstance(exc, RedisError | OperationalError | InterfaceError | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError) and (exc.connection_invalidated or exc.statement is None):
        # No statement: it failed while connecting (the database refuses connections, is
        # restarting or gone); a bug in SQL always has its statement.
        return True
    return isinstance(exc, OSError | TimeoutError)
