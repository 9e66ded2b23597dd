"""The stored transcript of rooms: reading it (opened with the sealer) and erasing from it.

A recorded message's row is committed before the message is published, and given its `seq`
by a later batch of the group writer (`recorder.py`): a reader may come in between, having
received the message already. So each read also takes the room's rows still unnumbered and
places those the room log has published at the seq it gave them (`RoomLog.locate`); rows it
never published (a send refused after storing) stay out. The unnumbered rows are read
first: a row numbered between the two reads is then read numbered as well, never missed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from ..broker.base import RoomLog
from ..rooms.settings import RoomView
from ..sealing import Sealer
from ..store.engine import DbSession
from ..store.models import RecordedMessage
from . import store
from .bodies import open_message

__all__ = ["EXPORT_MAX", "Transcript"]

log = logging.getLogger("hearth.transcripts")

EXPORT_MAX = 50_000
# Unnumbered rows of one room a read places: those on their way number a few per sender.
PENDING_MAX = 1000


class Transcript:
    """Recorded messages, oldest first, in the §3 `message` shape."""

    def __init__(self, db: async_sessionmaker[DbSession], sealer: Sealer, log: RoomLog) -> None:
        self._db = db
        self._sealer = sealer
        self._log = log

    async def page(
        self, room: RoomView, after_seq: int, limit: int, since: int | None = None
    ) -> list[dict[str, Any]]:
        """The first `limit` recorded messages after `after_seq` (sent at `since` ms or
        later, if given)."""
        pending = await self._pending(room)
        async with self._db() as db:
            rows = await store.page(db, room.id, after_seq, limit, since)
        placed = [r for r in pending if (r.seq or 0) > after_seq and r.ts >= (since or 0)]
        return self._open(_merged(rows, placed)[:limit], room.slug)

    async def period(self, room: RoomView, since: int, until: int) -> list[dict[str, Any]] | None:
        """Recorded messages sent from `since` to `until` (ms); None if over EXPORT_MAX."""
        pending = await self._pending(room)
        async with self._db() as db:
            rows = await store.period(db, room.id, since, until, EXPORT_MAX + 1)
        rows = _merged(rows, [r for r in pending if since <= r.ts <= until])
        return None if len(rows) > EXPORT_MAX else self._open(rows, room.slug)

    async def message(self, room: RoomView, message_id: str) -> dict[str, Any] | None:
        """One recorded message by id (Rooms.message_readers), or None."""
        async with self._db() as db:
            row = await store.message_row(db, room.id, message_id)
        if row is None:
            return None
        rows = [row] if row.seq is not None else await self._placed(room.slug, [row])
        opened = self._open(rows, room.slug)
        return opened[0] if opened else None

    async def _pending(self, room: RoomView) -> list[RecordedMessage]:
        """The room's unnumbered rows that the room log published, each given its seq."""
        async with self._db() as db:
            rows = await store.unnumbered_in(db, room.id, PENDING_MAX)
        return await self._placed(room.slug, rows) if rows else []

    async def _placed(self, slug: str, rows: list[RecordedMessage]) -> list[RecordedMessage]:
        places = await asyncio.gather(*(self._log.locate(row.message_id) for row in rows))
        placed = []
        for row, place in zip(rows, places, strict=True):
            if place is not None and place[0] == slug:
                row.seq = place[1]  # read only: the session that loaded it is closed
                placed.append(row)
        return placed

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


def _merged(
    numbered: list[RecordedMessage], placed: list[RecordedMessage]
) -> list[RecordedMessage]:
    """Both lists in seq order, each message once (a row numbered between the reads is in
    both: the numbered copy stays)."""
    if not placed:
        return numbered
    seen = {row.message_id for row in numbered}
    rows = numbered + [row for row in placed if row.message_id not in seen]
    return sorted(rows, key=lambda row: (row.seq or 0, row.id))
