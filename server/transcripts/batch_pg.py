"""The group writer's batch on PostgreSQL: one statement, one round trip, same SQL every time.

`store.py`'s portable statements cost a transaction of four round trips, and SQLAlchemy
renders a batch of n rows or n ids as new SQL for each n, so PostgreSQL parses and plans
again batch after batch. Here each column of the batch travels as one array parameter
(`unnest`), and the statement runs on its own (autocommit; one statement is atomic):

1. number the rows already published (seq, epoch), and
2. insert the new rows whose authors consent in a room that records, share-locking those
   consent rows (a withdrawal committing meanwhile waits for this statement), returning
   the message ids inserted.

Data-modifying CTEs all run, whether or not the outer query reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["write_batch"]

_BATCH = text(
    """
WITH numbered AS (
    UPDATE recorded_messages AS r SET seq = n.seq, epoch = n.epoch
    FROM unnest(CAST(:n_room AS text[]), CAST(:n_message AS text[]),
                CAST(:n_seq AS bigint[]), CAST(:n_epoch AS text[]))
        AS n(room_id, message_id, seq, epoch)
    WHERE r.room_id = n.room_id AND r.message_id = n.message_id
), batch AS (
    SELECT * FROM unnest(
        CAST(:room AS text[]), CAST(:message AS text[]), CAST(:author AS text[]),
        CAST(:author_json AS text[]), CAST(:key_id AS text[]), CAST(:body AS bytea[]),
        CAST(:ts AS bigint[]), CAST(:stored_at AS bigint[])
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
)


async def write_batch(
    conn: AsyncConnection,
    rows: Sequence[dict[str, Any]],
    numbers: Sequence[tuple[str, str, int, str]],
) -> set[str]:
    """Number `numbers` and insert the consenting `rows` (sealed rows of `bodies.sealed_row`)
    in one autocommitted statement; the message ids inserted."""
    params = {
        "n_room": [n[0] for n in numbers],
        "n_message": [n[1] for n in numbers],
        "n_seq": [n[2] for n in numbers],
        "n_epoch": [n[3] for n in numbers],
        "room": [r["room_id"] for r in rows],
        "message": [r["message_id"] for r in rows],
        "author": [r["author_id"] for r in rows],
        "author_json": [orjson.dumps(r["author"]).decode() for r in rows],
        "key_id": [r["key_id"] for r in rows],
        "body": [r["body_sealed"] for r in rows],
        "ts": [r["ts"] for r in rows],
        "stored_at": [r["stored_at"] for r in rows],
    }
    result = await conn.execute(_BATCH, params)
    return {str(message_id) for (message_id,) in result}
