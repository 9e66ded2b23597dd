"""The group writer's batches on PostgreSQL: one statement, one round trip, same SQL every time.

`store.py`'s portable statements cost a transaction of four round trips, and SQLAlchemy
renders a batch of n rows or n ids as new SQL for each n, so PostgreSQL parses and plans
again batch after batch. Here each column of the batch travels as one array parameter
(`unnest`), and the statement runs on its own (autocommit; one statement is atomic):

1. number the rows already published (seq, epoch), and
2. insert the new rows whose authors consent in a room that records, share-locking those
   consent rows (a withdrawal committing meanwhile waits for this statement), returning
   the message ids inserted.

Data-modifying CTEs all run, whether or not the outer query reads them.

The statement is prepared once on one asyncpg connection kept for the writer: a session, a
pool checkout and SQLAlchemy's statement handling cost more CPU than the round trip itself
(measured: about 1 ms of the server's CPU per batch, two batches per recorded message).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson

from .batches import ConnectionLost, Number, RowsRefused

__all__ = ["PgBatches"]

_BATCH = """
WITH numbered AS (
    UPDATE recorded_messages AS r SET seq = n.seq, epoch = n.epoch
    FROM unnest(CAST($1 AS text[]), CAST($2 AS text[]),
                CAST($3 AS bigint[]), CAST($4 AS text[]))
        AS n(room_id, message_id, seq, epoch)
    WHERE r.room_id = n.room_id AND r.message_id = n.message_id
), batch AS (
    SELECT * FROM unnest(
        CAST($5 AS text[]), CAST($6 AS text[]), CAST($7 AS text[]),
        CAST($8 AS text[]), CAST($9 AS text[]), CAST($10 AS bytea[]),
        CAST($11 AS bigint[]), CAST($12 AS bigint[])
    ) AS v(room_id, message_id, author_id, author, key_id, body_sealed, ts, stored_at)
), allowed AS (
    SELECT c.room_id, c.user_id
    FROM consents AS c JOIN rooms ON rooms.id = c.room_id
    WHERE c.recorded AND rooms.transcripts = 'opt_in'
      AND (c.room_id, c.user_id) IN (SELECT room_id, author_id FROM batch)
    FOR SHARE OF c
)
INSERT INTO recorded_messages
    (room_id, message_id, author_id, author, key_id, body_sealed, ts, stored_at)
SELECT room_id, message_id, author_id, CAST(author AS json), key_id, body_sealed, ts, stored_at
FROM batch
WHERE (room_id, author_id) IN (SELECT room_id, user_id FROM allowed)
RETURNING message_id
"""


# A connection that failed this way is gone: the batch may be tried on a new one. asyncpg's
# InternalClientError ("cannot switch to state …; another operation is in progress") is a
# connection whose backend was ended under it while its protocol was between states (seen
# in about one run in three of the test that ends the writer's backend).
_LOST = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)


class PgBatches:
    """`batches.Batches` on one asyncpg connection of its own, opened when first needed and
    again after it was lost."""

    def __init__(self, dsn: str, timeout: float) -> None:
        self._dsn = dsn
        self._timeout = timeout
        self._conn: asyncpg.Connection | None = None
        self._statement: asyncpg.prepared_stmt.PreparedStatement | None = None

    async def write(self, rows: Sequence[dict[str, Any]], numbers: Sequence[Number]) -> set[str]:
        """Number `numbers` and insert the consenting `rows` (sealed rows of
        `bodies.sealed_row`) in one autocommitted statement; the message ids inserted."""
        try:
            statement = await self._prepared()
            result = await statement.fetch(*_parameters(rows, numbers), timeout=self._timeout)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise RowsRefused() from exc
        except TimeoutError:  # not tried again (an OSError, but not a lost connection)
            await self.close()  # it may have stopped answering: the next batch opens another
            raise
        except _LOST as exc:
            await self.close()
            raise ConnectionLost() from exc
        return {str(record[0]) for record in result}

    async def close(self) -> None:
        """Close the connection (a later batch opens another)."""
        conn, self._conn, self._statement = self._conn, None, None
        if conn is not None:
            conn.terminate()  # no goodbye round trip: it may be dead already

    async def _prepared(self) -> asyncpg.prepared_stmt.PreparedStatement:
        if self._statement is None or self._conn is None or self._conn.is_closed():
            await self.close()
            self._conn = await asyncpg.connect(self._dsn, timeout=self._timeout)
            self._statement = await self._conn.prepare(_BATCH, timeout=self._timeout)
        return self._statement


def _parameters(rows: Sequence[dict[str, Any]], numbers: Sequence[Number]) -> list[list[Any]]:
    """The statement's parameters, one array per column, in its order ($1 … $12)."""
    return [
        [n[0] for n in numbers],
        [n[1] for n in numbers],
        [n[2] for n in numbers],
        [n[3] for n in numbers],
        [r["room_id"] for r in rows],
        [r["message_id"] for r in rows],
        [r["author_id"] for r in rows],
        [orjson.dumps(r["author"]).decode() for r in rows],
        [r["key_id"] for r in rows],
        [r["body_sealed"] for r in rows],
        [r["ts"] for r in rows],
        [r["stored_at"] for r in rows],
    ]
