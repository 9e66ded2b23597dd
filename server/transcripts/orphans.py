"""Rows stored but never numbered: a send refused after its row was written (the database
answered too late, the room log failed, a repeated `ref`), or numbering that failed after the
message went out, or a process that stopped in between.

Once such a row is old enough to be no longer on its way, the room log (which knows a
message's seq for 24 hours) decides: a message that was published gets its seq and joins
the transcript; one that never was is deleted.
"""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from ..broker.base import RoomLog
from ..store.engine import DbSession
from ..store.ids import now_ms
from ..store.models import RecordedMessage
from . import store

__all__ = ["settle_unnumbered"]

AGE_MS = 60_000
BATCH = 500


async def settle_unnumbered(
    db: async_sessionmaker[DbSession], log: RoomLog, age_ms: int = AGE_MS
) -> tuple[int, int]:
    """Number or delete rows stored more than `age_ms` ago and still without a seq;
    returns (numbered, deleted)."""
    async with db() as session:
        rows = await store.unnumbered(session, now_ms() - age_ms, BATCH)
    numbered: list[tuple[int, int, str]] = []
    gone: list[int] = []
    for row_id, slug, message_id in rows:
        found = await log.locate(message_id)
        if found is not None and found[0] == slug:
            epoch, _ = await log.position(slug)
            numbered.append((row_id, found[1], epoch))
        else:
            gone.append(row_id)
    if not numbered and not gone:
        return 0, 0
    async with db() as session:
        for row_id, seq, epoch in numbered:
            await session.execute(
                update(RecordedMessage)
                .where(RecordedMessage.id == row_id, RecordedMessage.seq.is_(None))
                .values(seq=seq, epoch=epoch)
            )
        if gone:
            await session.execute(
                delete(RecordedMessage).where(
                    RecordedMessage.id.in_(gone), RecordedMessage.seq.is_(None)
                )
            )
        await session.commit()
    return len(numbered), len(gone)
