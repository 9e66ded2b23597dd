"""Who may enter now (PROTOCOL §5): the closed door of `in_session` rooms and the room's
capacity. Both run before `welcome`; both spare facilitators and admins."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..rooms.hub import Conn
from ..rooms.settings import RoomView
from ..wire.errors import Close
from ..wire.out import encode
from .book import SessionBook, entry_of
from .capacity import Seats
from .clock import now_ms
from .schedule import next_start

if TYPE_CHECKING:
    from ..rooms.hooks import Gate
    from ..rooms.live import Rooms

__all__ = ["Door"]

FULL_CLOSE = Close(4409, "the room is full")


def _limit(view: RoomView) -> int | None:
    value = view.extra.get("max_participants")
    return value if isinstance(value, int) else None


class Door:
    """Holds members at a closed group's door; seats them in a room with a limit."""

    def __init__(self, rooms: Rooms, book: SessionBook, seats: Seats) -> None:
        self.rooms = rooms
        self.book = book
        self.seats = seats

    async def closed_gate(self, conn: Conn, view: RoomView) -> Gate:
        """An arrival gate: a member of an `in_session` room with no session open waits
        (`waiting`, reason `closed`) until one opens."""
        if entry_of(view) != "in_session" or conn.moderator:
            return None
        opened = conn.session_opened
        if opened is None:
            opened = conn.session_opened = asyncio.Event()
            conn.waiting = True
            # Listen before looking, so that an opening in between is not missed.
            await self.rooms.hub.attach(conn)
        if await self.book.open_now(view) is not None:
            conn.waiting = False
            conn.session_opened = None
            await self.rooms.hub.detach(conn)
            return None
        opened.clear()
        schedule = view.extra.get("schedule") or []
        upcoming = next_start(schedule, str(view.extra.get("timezone", "UTC")), now_ms())
        conn.offer(encode({"type": "waiting", "reason": "closed", "next_session_at": upcoming}))
        return opened

    async def seat(self, conn: Conn, view: RoomView) -> Close | None:
        """An entry check: a member takes a seat, or the socket closes with 4409."""
        limit = _limit(view)
        if limit is None or conn.moderator:
            return None
        if await self.seats.take(view.slug, conn.user_id, limit):
            return None
        return FULL_CLOSE

    async def unseat(self, room: str, user_id: str, participant: dict[str, object]) -> None:
        """A departure: the user's seat is free again."""
        await self.seats.release(room, user_id)

    async def keep_seats(self) -> None:
        """Refresh the seats of this process's present members (a dead process's expire)."""
        limited = {slug for slug, view in self.rooms.views.items() if _limit(view) is not None}
        seated = [
            (conn.room, conn.user_id)
            for conn in self.rooms.all_sockets()
            if conn.live and not conn.moderator and conn.room in limited
        ]
        await self.seats.refresh(seated)
