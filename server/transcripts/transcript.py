"""The stored transcript of rooms: reading it (opened with the sealer) and erasing from it."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from ..rooms.settings import RoomView
from ..sealing import Sealer
from ..store.engine import DbSession
from ..store.models import RecordedMessage
from . import store
from .bodies import open_message

__all__ = ["EXPORT_MAX", "Transcript"]

log = logging.getLogger("hearth.transcripts")

EXPORT_MAX = 50_000


class Transcript:
    """Recorded messages, oldest first, in the §3 `message` shape."""

    def __init__(self, db: async_sessionmaker[DbSession], sealer: Sealer) -> None:
        self._db = db
        self._sealer = sealer

    async def page(
        self, room: RoomView, after_seq: int, limit: int, since: int | None = None
    ) -> list[dict[str, Any]]:
        """The first `limit` recorded messages after `after_seq` (sent at `since` ms or
        later, if given)."""
        async with self._db() as db:
            rows = await store.page(db, room.id, after_seq, limit, since)
        return self._open(rows, room.slug)

    async def period(self, room: RoomView, since: int, until: int) -> list[dict[str, Any]] | None:
        """Recorded messages sent from `since` to `until` (ms); None if over EXPORT_MAX."""
        async with self._db() as db:
            rows = await store.period(db, room.id, since, until, EXPORT_MAX + 1)
        return None if len(rows) > EXPORT_MAX else self._open(rows, room.slug)

    async def message(self, room: RoomView, message_id: str) -> dict[str, Any] | None:
        """One recorded message by id (Rooms.message_readers), or None."""
        async with self._db() as db:
            row = await store.message_row(db, room.id, message_id)
        opened = self._open([row], room.slug) if row is not None else []
        return opened[0] if opened else None

    async def erase(self, room: RoomView, message_ids: list[str]) -> None:
        """Messages a facilitator deleted leave the transcript (Rooms.erasers)."""
        async with self._db() as db:
            await store.erase_messages(db, room.id, message_ids)

    async def erase_author(self, room: RoomView, user_id: str) -> list[str]:
        """Every recorded message of one author in a room leaves the transcript; their ids
        (Rooms.author_erasers; also `DELETE …/transcript/mine`)."""
        async with self._db() as db:
            return await store.erase_author(db, room.id, user_id)

    def _open(self, rows: list[RecordedMessage], slug: str) -> list[dict[str, Any]]:
        opened = []
        for row in rows:
            try:
                opened.append(open_message(self._sealer, row, slug))
            except Exception as exc:  # a retired key or damaged row: leave it out, say so
                log.warning(
                    "a transcript row (id %s, key %s) does not open (%s)",
                    row.id,
                    row.key_id,
                    type(exc).__name__,
                )
        return opened
