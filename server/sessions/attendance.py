"""Attendance (PROTOCOL §5): stays begin at `welcome` and end when a user's last socket
leaves, on whichever process; the upkeep repairs what a dead process could not say."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..rooms.hub import Conn
from ..rooms.settings import RoomView
from . import records
from .book import SessionBook, entry_of
from .clock import now_ms

if TYPE_CHECKING:
    from ..rooms.live import Rooms

__all__ = ["Register"]


class Register:
    """Writes stays into the attendance rows of the open session."""

    def __init__(self, rooms: Rooms, book: SessionBook) -> None:
        self.rooms = rooms
        self.book = book
        # A storm of arrivals shares transactions (one per batch, not one per member).
        self.stays = records.stays_in_batches(rooms.db)
        self.departures = records.departures_in_batches(rooms.db)

    async def close(self) -> None:
        """Write the stays and departures waiting (or fail their callers), then stop."""
        await self.stays.close()
        await self.departures.close()

    async def welcome_fields(self, conn: Conn, view: RoomView) -> dict[str, Any]:
        """`welcome.session`; in an `always` room the first arrival opens one."""
        session = await self.book.open_now(view)
        if session is None and entry_of(view) == "always":
            session = await self.book.open_on_arrival(view)
        return {"session": session}

    async def arrived(self, conn: Conn, view: RoomView) -> None:
        """A socket got `welcome`: its user is present in the open session from now."""
        session = self.book.current.get(view.slug)
        if session is None:
            return
        stay = records.stay_row(int(session["id"]), conn.user_id, conn.role, now_ms())
        await self.stays.write(stay)  # False: the session or the user is gone meanwhile

    async def departed(self, room: str, user_id: str, participant: dict[str, Any]) -> None:
        """A user's last socket left (or expired): their stay ends now."""
        await self.departures.write(records.departure_row(room, user_id, now_ms()))
