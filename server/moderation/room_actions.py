"""Facilitator actions on the room (PROTOCOL §3): `delete`, `delete_all`, `slow_mode`,
`lock`, `unlock`, `pin`, `unpin` and `end`. Their `moderation` echo goes to everyone."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from ..rooms.hub import Conn
from ..rooms.ports import RoomsPort
from ..rooms.settings import RoomView
from ..store import rooms as room_store
from ..store.engine import DbSession
from ..store.ids import now_ms
from ..store.models import User
from ..wire.errors import Refuse
from ..wire.frames import Mod
from ..wire.out import encode
from .outcomes import TO_ALL, Done, Outcome, need
from .state import ModerationState

__all__ = ["EndListener", "RoomActions"]

# Called on `end` before it is published; returns details for its audit entry.
EndListener = Callable[[Conn, RoomView], Awaitable[dict[str, Any]]]


class RoomActions:
    """Changes the room itself: its messages, its settings, its pins, its session."""

    def __init__(
        self,
        rooms: RoomsPort,
        db: async_sessionmaker[DbSession],
        state: ModerationState,
        end_listeners: list[EndListener],
    ) -> None:
        self.rooms = rooms
        self.db = db
        self.state = state
        self.end_listeners = end_listeners

    async def delete(self, conn: Conn, view: RoomView, frame: Mod, target: User | None) -> Outcome:
        """Erase one message everywhere it is kept."""
        message_id = need(frame.message_id, "message_id")
        if isinstance(message_id, Refuse):
            return message_id
        if await self.rooms.message(view, message_id) is None:
            return Refuse("not_found", "no such message")
        await self.rooms.erase(view, [message_id])
        await self.state.forget_excerpts(view.slug, {message_id})
        deleted = encode({"type": "deleted", "message_id": message_id})
        return Done(fields={"message_id": message_id}, frames=[(TO_ALL, deleted)])

    async def delete_all(
        self, conn: Conn, view: RoomView, frame: Mod, target: User | None
    ) -> Outcome:
        """Erase every message of one author in the room."""
        assert target is not None
        ids = await self.rooms.erase_author(view, target.id)
        await self.state.forget_excerpts(view.slug, set(ids))
        frames = [
            (TO_ALL, encode({"type": "deleted", "message_id": message_id})) for message_id in ids
        ]
        frames.append((TO_ALL, encode({"type": "deleted_all", "user_id": target.id})))
        return Done(frames=frames, details={"deleted": len(ids)})

    async def slow_mode(
        self, conn: Conn, view: RoomView, frame: Mod, target: User | None
    ) -> Outcome:
        """Set the room's slow mode: 0 to 3600 seconds between one member's messages."""
        gap = frame.seconds
        if gap is None or not 0 <= gap <= 3600:
            return Refuse("invalid", "seconds must be from 0 to 3600")
        await self._setting(view, "slow_mode_seconds", gap)
        return Done(fields={"seconds": gap})

    async def lock(self, conn: Conn, view: RoomView, frame: Mod, target: User | None) -> Outcome:
        """`lock` and `unlock`."""
        await self._setting(view, "locked", frame.action == "lock")
        return Done()

    async def _setting(self, view: RoomView, name: str, value: Any) -> None:
        live = self.rooms.live_view(view)
        old = getattr(live, name)
        updated = replace(live, **{name: value})
        async with self.db() as db:  # this one column: never undo a concurrent change
            await room_store.update_setting(db, view.id, name, value)
        if old != value:
            await self.rooms.settings_changed(updated)

    async def pin(self, conn: Conn, view: RoomView, frame: Mod, target: User | None) -> Outcome:
        """Pin a kept message's words, or words of the facilitator's own."""
        if frame.message_id is not None:
            found = await self.rooms.message(view, frame.message_id)
            if found is None or found.get("body") is None:
                return Refuse("not_found", "no such message (its words must still be kept)")
            body, message_id = str(found["body"]), frame.message_id
        elif frame.body is not None and 1 <= len(frame.body) <= view.max_message_chars:
            body, message_id = frame.body, None
        else:
            return Refuse("invalid", "pin needs a message_id or a body")
        pin = {
            "pin_id": secrets.token_hex(8),
            "body": body,
            "message_id": message_id,
            "by": conn.participant(),
            "ts": now_ms(),
        }
        await self.state.pin(view.slug, pin)
        fields = {"pin_id": pin["pin_id"]}
        if message_id is not None:
            fields["message_id"] = message_id
        return Done(fields=fields, frames=[(TO_ALL, await self._pinned(view.slug))])

    async def unpin(self, conn: Conn, view: RoomView, frame: Mod, target: User | None) -> Outcome:
        """Take a pin down."""
        pin_id = need(frame.pin_id, "pin_id")
        if isinstance(pin_id, Refuse):
            return pin_id
        if not await self.state.unpin(view.slug, pin_id):
            return Refuse("not_found", "no such pin")
        pinned = await self._pinned(view.slug)
        return Done(fields={"pin_id": pin_id}, frames=[(TO_ALL, pinned)])

    async def _pinned(self, slug: str) -> str:
        return encode({"type": "pinned", "pinned": await self.state.pins(slug)})

    async def end(self, conn: Conn, view: RoomView, frame: Mod, target: User | None) -> Outcome:
        """End the session: the end listeners first (their details go to the audit entry),
        then admissions, hands and the waiting queue are cleared and numbering restarts; its
        event closes every socket with 4410."""
        done = Done(event={"close": [4410, "the session has ended"]})
        for listener in self.end_listeners:
            done.details.update(await listener(conn, view))
        await self.state.end(view.slug)
        await self.rooms.restart_numbering(view.slug)
        return done
