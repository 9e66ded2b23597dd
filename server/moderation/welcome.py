"""What moderation shows a socket entering a room: pins and raised hands in `welcome`;
then, to a facilitator, who is knocking and the open flags and held messages."""

from __future__ import annotations

from typing import Any

from ..rooms.hub import Conn
from ..rooms.settings import RoomView
from ..wire.out import encode
from .review import Review
from .state import ModerationState

__all__ = ["Shown"]


class Shown:
    """Moderation's part of entering a room."""

    def __init__(self, state: ModerationState, review: Review) -> None:
        self._state = state
        self._review = review

    async def welcome_fields(self, conn: Conn, view: RoomView) -> dict[str, Any]:
        """`welcome`'s `pinned` and `hands`."""
        return {
            "pinned": await self._state.pins(view.slug),
            "hands": await self._state.hands(view.slug),
        }

    async def after_welcome(self, conn: Conn, view: RoomView) -> None:
        """A facilitator entered: every knock waiting, then the open items."""
        if not conn.moderator:
            return
        for waiting in await self._state.waiting(view.slug):
            waiting.pop("ts", None)
            conn.offer(encode({"type": "knock", "user": waiting}))
        await self._review.open_items(conn)
