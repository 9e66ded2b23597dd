"""Moderation at a room's door: a removed member's cooling-off time, and the waiting room
of `approval` rooms (knock, then wait for a facilitator's `admit` or `deny`)."""

from __future__ import annotations

import asyncio

from ..rooms.hooks import Gate
from ..rooms.hub import Conn, Header
from ..rooms.ports import RoomsPort
from ..rooms.settings import RoomView
from ..wire.errors import Close
from ..wire.out import encode
from ..wire.user import user_object
from .state import ModerationState

__all__ = ["Door"]


class Door:
    """The door checks and the waiting room moderation plugs into the rooms."""

    def __init__(self, rooms: RoomsPort, state: ModerationState) -> None:
        self._rooms = rooms
        self._state = state

    async def cooling(self, view: RoomView, user_id: str, is_admin: bool) -> Close | None:
        """A handshake check: one removed with a cooling-off time may not rejoin yet."""
        if is_admin:
            return None
        left = await self._state.cooling(view.slug, user_id)
        if left is None:
            return None
        return Close(4403, f"removed: you may rejoin in {int(left // 60) + 1} min")

    async def waiting_room(self, conn: Conn, view: RoomView) -> Gate:
        """An admission gate: a member of an `approval` room not yet admitted knocks and
        waits until a facilitator admits them (or denies them: their socket closes)."""
        if view.access != "approval" or conn.moderator:
            return None
        if conn.admitted is not None:  # asked again once admitted
            conn.waiting = False
            return None
        if await self._state.admitted(view.slug, conn.user_id):
            return None
        admitted = asyncio.Event()
        conn.waiting, conn.admitted = True, admitted
        await self._rooms.attach(conn)
        # A knock carries a §2 `user` (facilitators see the username of whom they admit).
        user = user_object(
            conn.user_id, conn.username, conn.display_name, conn.is_admin, conn.language
        )
        await self._state.knock(view.slug, user)
        knock = encode({"type": "knock", "user": user})
        await self._rooms.publish(view.slug, Header(audience="mods"), knock)
        conn.offer(encode({"type": "waiting", "reason": "approval"}))
        return admitted

    async def left(self, conn: Conn) -> None:
        """A socket left: if it was knocking, its knock is withdrawn."""
        if conn.waiting and conn.admitted is not None:
            await self._state.stop_waiting(conn.room, conn.user_id)
            frame = encode({"type": "knock_withdrawn", "user_id": conn.user_id})
            await self._rooms.publish(conn.room, Header(audience="mods"), frame)
