"""Retention: recorded messages older than their room's `retention_days` are deleted."""

from __future__ import annotations

from sqlalchemy import delete, select

from ..config import Settings
from ..store.engine import DbSession, make_engine, make_sessions
from ..store.ids import now_ms
from ..store.models import RecordedMessage, Room

__all__ = ["purge_expired", "purge_with"]


async def purge_with(db: DbSession) -> int:
    """Delete every recorded message past its room's retention; returns how many."""
    rooms = [(r[0], r[1]) for r in await db.execute(select(Room.id, Room.retention_days))]
    deleted = 0
    now = now_ms()
    for room_id, days in rooms:
        if days is None:
            continue
        result = await db.execute(
            delete(RecordedMessage).where(
                RecordedMessage.room_id == room_id, RecordedMessage.ts < now - days * 86_400_000
            )
        )
        deleted += int(getattr(result, "rowcount", 0) or 0)
    await db.commit()
    return deleted


async def purge_expired(settings: Settings) -> int:
    """`hearth purge`: one pass over every room."""
    engine = make_engine(settings.database_url)
    try:
        async with make_sessions(engine)() as db:
            return await purge_with(db)
    finally:
        await engine.dispose()
