"""Where the group writer's batches go: the `Batches` protocol and its two implementations,
chosen from the database URL at start-up.

- PostgreSQL: `batch_pg.PgBatches`, one statement on one asyncpg connection of its own
  (no pool, no session, no ORM on the recorded message's path: one round trip per batch).
- Anything else (SQLite): `SessionBatches`, `store.write_batch`'s portable statements in one
  SQLAlchemy transaction.

Both say the same two things the writer acts on with the same exceptions: `ConnectionLost`
(the batch may be tried once more on a fresh connection) and `RowsRefused` (an integrity
error: the writer tries each row alone).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from ..store.engine import make_engine, make_sessions
from . import store

__all__ = ["Batches", "ConnectionLost", "RowsRefused", "SessionBatches", "batches_for"]

# (room id, message id, seq, epoch) of a published row to number.
Number = tuple[str, str, int, str]


class ConnectionLost(Exception):
    """The batch's connection turned out to be dead (the database restarted): it may be
    tried once more on a fresh connection (a row it did write is then refused as a twin)."""


class RowsRefused(Exception):
    """The database refused the batch for one of its rows (an integrity error)."""


class Batches(Protocol):
    """Writes one batch atomically: numbers published rows, inserts the rows whose authors
    consent in a room that records (share-locking those consents), commits."""

    async def write(self, rows: Sequence[dict[str, Any]], numbers: Sequence[Number]) -> set[str]:
        """The message ids of the rows inserted; raises `ConnectionLost`, `RowsRefused`, or
        anything else the database raised."""
        ...

    async def close(self) -> None:
        """Release the connection(s)."""
        ...


class SessionBatches:
    """Batches through SQLAlchemy sessions of an engine of their own (portable)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._db = make_sessions(engine)

    async def write(self, rows: Sequence[dict[str, Any]], numbers: Sequence[Number]) -> set[str]:
        """See `Batches.write`."""
        try:
            async with self._db() as db:
                return await store.write_batch(db, rows, numbers)
        except IntegrityError as exc:
            raise RowsRefused() from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise ConnectionLost() from exc
            raise

    async def close(self) -> None:
        """See `Batches.close`."""
        await self._engine.dispose()


def batches_for(url: str, timeout: float) -> Batches:
    """The writer's batches for the database at `url` (a SQLAlchemy URL); `timeout` bounds
    connecting and each statement (seconds, PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        from .batch_pg import PgBatches  # asyncpg is PostgreSQL's driver: loaded when used

        dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        return PgBatches(dsn, timeout)
    # The writer's own engine: no pre-ping (a batch on a dead connection is tried again).
    return SessionBatches(make_engine(url, pool_size=2, pre_ping=False))
