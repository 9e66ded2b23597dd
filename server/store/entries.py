"""Repository of first entries: when a user first got `welcome` in a room."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from . import upsert
from .engine import DbSession
from .models import RoomEntry

__all__ = ["first_entered_at", "record_first_entry"]


async def record_first_entry(db: DbSession, room_id: str, user_id: str, at: int) -> None:
    """Remember `at` (ms) as the user's first entry to the room, unless one is kept (one
    statement; if another process recorded it first, theirs is as good)."""
    statement = upsert.insert(db, RoomEntry).values(
        room_id=room_id, user_id=user_id, first_entered_at=at
    )
    try:
        await db.execute(statement.on_conflict_do_nothing())
        await db.commit()
    except IntegrityError:  # the room or the user is gone meanwhile
        await db.rollback()


async def first_entered_at(db: DbSession, room_id: str, user_id: str) -> int | None:
    """When (ms) the user first entered the room, or None if never."""
    row = await db.get(RoomEntry, (room_id, user_id))
    return None if row is None else row.first_entered_at
