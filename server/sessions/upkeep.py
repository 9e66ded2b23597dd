"""The sessions' clockwork, on every process: open scheduled sessions (within 60 s of the
start), end idle ones (15 minutes with nobody present), end the stays of users whose process
died (within the presence bound plus one tick), keep seats. Every process runs it; the
database lets one writer win each change, so no leader is needed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import orjson

from ..rooms.hub import Header
from ..store import rooms as room_store
from ..store.models import GroupSession
from ..wire.out import encode
from . import records
from .book import SessionBook
from .clock import now_ms
from .entry import Door
from .schedule import last_start

if TYPE_CHECKING:
    from ..rooms.live import Rooms

__all__ = ["IDLE_MS", "OPEN_WITHIN_MS", "Upkeep", "due_slot"]

log = logging.getLogger("hearth.sessions")

IDLE_MS = 15 * 60 * 1000
OPEN_WITHIN_MS = 60 * 1000


def due_slot(schedule: list[dict[str, Any]], timezone: str, now: int) -> int | None:
    """The scheduled start to open now (one that began less than 60 s ago), or None. Pure."""
    start = last_start(schedule, timezone, now)
    return start if start is not None and now - start < OPEN_WITHIN_MS else None


def idle_action(empty_since: int | None, anyone_present: bool, now: int) -> str | None:
    """What an open session's emptiness asks for: `mark` (empty from now), `clear`
    (someone is back), `end` (empty 15 minutes) or None. Pure."""
    if anyone_present:
        return "clear" if empty_since is not None else None
    if empty_since is None:
        return "mark"
    return "end" if now - empty_since >= IDLE_MS else None


class Upkeep:
    """One background task per process, every `interval` seconds."""

    def __init__(self, rooms: Rooms, book: SessionBook, door: Door, interval: float) -> None:
        self.rooms = rooms
        self.book = book
        self.door = door
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="hearth-sessions")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # a dependency is down: try again next tick
                log.warning("sessions upkeep failed", exc_info=True)
            await asyncio.sleep(self.interval)

    async def tick(self) -> None:
        """One round of every duty."""
        await self.door.keep_seats()
        now = now_ms()
        async with self.rooms.db() as db:
            views = [v for v in await room_store.list_rooms(db) if v.extra.get("schedule")]
        for view in views:
            slot = due_slot(view.extra["schedule"], str(view.extra.get("timezone", "UTC")), now)
            if slot is not None and self.book.current.get(view.slug) is None:
                await self.book.open(view, "schedule", None, slot_at=slot)
        async with self.rooms.db() as db:
            found = await records.open_sessions(db)
            stays = await records.running_stays(db)
        for row, slug in found:
            await self._watch(row, slug, stays.get(row.id, set()))
        await self.book.refresh()

    async def _watch(self, row: GroupSession, slug: str, staying: set[str]) -> None:
        presence = self.rooms.backplane.presence
        for gone in await presence.sweep(slug):  # a dead process's users: announce them
            user = orjson.loads(gone)
            frame = encode({"type": "presence", "user": user, "status": "left"})
            await self.rooms.publish(slug, Header(), frame)
            await self.rooms.departed(slug, str(user["id"]), user)
        present = {str(p["id"]): p for p in map(orjson.loads, await presence.members(slug))}
        now = now_ms()
        async with self.rooms.db() as db:
            await records.close_stays(db, row.id, staying - set(present), now)
            for user_id in set(present) - staying:
                role = str(present[user_id].get("role", "member"))
                await records.ensure_stay(db, row.id, user_id, role, now)
            action = idle_action(row.empty_since, bool(present), now)
            if action in ("mark", "clear"):
                await records.set_empty_since(db, row.id, now if action == "mark" else None)
        if action == "end":
            view = await self.rooms.view(slug)
            if view is not None:
                await self.book.end(view, "idle", audit=True)
