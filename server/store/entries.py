"""Repository of first entries: when a user first got `welcome` in a room."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, bindparam
from sqlalchemy.ext.asyncio import async_sessionmaker

from . import upsert
from .batched import Batched
from .engine import DbSession
from .models import RoomEntry

__all__ = [
    "first_entered_at",
    "first_entries_in_batches",
    "first_entry_row",
    "record_first_entry",
]


def _first_entry(insert: Any) -> Any:
    statement = insert(RoomEntry.__table__).values(
        room_id=bindparam("room_id"),
        user_id=bindparam("user_id"),
        first_entered_at=bindparam("at", type_=BigInteger),
    )
    return statement.on_conflict_do_nothing()


# Written as sockets enter rooms: built once.
_RECORD = upsert.Prepared(_first_entry)


def first_entry_row(room_id: str, user_id: str, at: int) -> dict[str, Any]:
    """The parameters of `record_first_entry`'s statement, for `first_entries_in_batches`."""
    return {"room_id": room_id, "user_id": user_id, "at": at}


async def record_first_entry(db: DbSession, room_id: str, user_id: str, at: int) -> None:
    """Remember `at` (ms) as the user's first entry to the room, unless one is kept (one
    statement; if another process recorded it first, theirs is as good; if the room or the
    user is gone meanwhile, nothing is kept)."""
    await upsert.write_unless_refused(db, _RECORD, first_entry_row(room_id, user_id, at))


def first_entries_in_batches(sessions: async_sessionmaker[DbSession]) -> Batched:
    """`record_first_entry` for every entry of a process at once: `write(first_entry_row(
    ...))` returns once the entry is committed (False if the room or the user is gone)."""
    return Batched(sessions, _RECORD.on, "first-entries")


async def first_entered_at(db: DbSession, room_id: str, user_id: str) -> int | None:
    """When (ms) the user first entered the room, or None if never."""
    row = await db.get(RoomEntry, (room_id, user_id))
    return None if row is None else row.first_entered_at
