"""Builds a process's sessions part and plugs it into the rooms from outside (from the app's
lifespan), the way the transcript part does: settings, gates, hooks, a `mod` action."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..config import Settings
from ..rooms.hooks import Reply
from ..rooms.hub import Conn
from ..rooms.settings import PLUGGED_SETTINGS, PUBLIC_ADDITIONS, RoomView
from ..wire.frames import Mod
from .attendance import Register
from .book import SESSION_EVENT, SessionBook
from .capacity import MemorySeats, RedisSeats, Seats
from .entry import Door
from .schedule import check_entry, check_max_participants, check_schedule, check_timezone
from .upkeep import Upkeep

if TYPE_CHECKING:
    from ..moderation import Moderation
    from ..rooms.live import Rooms

__all__ = ["Sessions", "register_settings"]


def register_settings() -> None:
    """Add `schedule`, `timezone`, `entry` and `max_participants` to the room settings."""
    PLUGGED_SETTINGS.update(
        {
            "schedule": ([], check_schedule),
            "timezone": ("UTC", check_timezone),
            "entry": ("always", check_entry),
            "max_participants": (None, check_max_participants),
        }
    )


class Sessions:
    """Sessions, attendance, the closed door and capacity, for one process."""

    def __init__(self, settings: Settings, rooms: Rooms) -> None:
        register_settings()
        self.rooms = rooms
        # Seats in the backplane's Redis, through its bounded pool (a pool of their own
        # opened a connection per concurrent seat check in a reconnect storm, and kept them).
        client = rooms.backplane.redis
        seats: Seats = (
            MemorySeats(settings.presence_ttl_seconds)
            if client is None
            else RedisSeats(client, settings.presence_ttl_seconds)
        )
        self.book = SessionBook(rooms)
        self.door = Door(rooms, self.book, seats)
        self.register = Register(rooms, self.book)
        interval = min(settings.session_scan_seconds, settings.presence_ttl_seconds / 3)
        self.upkeep = Upkeep(rooms, self.book, self.door, max(interval, 0.2))

    def attach(self, rooms: Rooms, moderation: Moderation) -> None:
        """Register with the rooms, and with moderation for `open` and `end`."""
        PUBLIC_ADDITIONS["sessions"] = self.book.public
        hooks = rooms.hooks
        hooks.arrival_gates.append(self.door.closed_gate)
        hooks.entry_checks.append(self.door.seat)
        hooks.welcome_fields.append(self.register.welcome_fields)
        hooks.arrivals.append(self.register.arrived)
        hooks.departures.append(self.register.departed)
        hooks.departures.append(self.door.unseat)
        hooks.room_refreshers.append(self.book.refresh)
        hooks.control_listeners[SESSION_EVENT] = self.book.on_event
        self._moderation = moderation
        moderation.actions.plugged["open"] = self.open_action
        moderation.actions.end_listeners.append(self.end_listener)

    async def open_action(self, conn: Conn, view: RoomView, frame: Mod) -> Sequence[Reply]:
        """`{"type":"mod","action":"open"}`: open a session unless one is open; the
        `moderation` echo goes to everyone either way."""
        await self.book.open(view, "facilitator", conn)
        await self._moderation.actions.echo(conn, view, frame, "all", {})
        return []

    async def end_listener(self, conn: Conn, view: RoomView) -> dict[str, object]:
        """A facilitator's `end` ends the open session (audited by moderation)."""
        session = await self.book.end(view, "facilitator", audit=False)
        return {"session_id": session["id"]} if session is not None else {}

    async def start(self) -> None:
        await self.book.refresh()
        await self.upkeep.start()

    async def close(self) -> None:
        await self.upkeep.close()
        await self.register.close()
