"""The frames moderation answers for the rooms: `hand` (any member), `report` (any member)
and `mod` (facilitators and admins; `actions.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..rooms.hooks import Reply
from ..rooms.hub import Conn
from ..rooms.member_frames import origin
from ..rooms.ports import RoomsPort
from ..rooms.settings import RoomView
from ..wire.frames import Hand, Report
from ..wire.out import encode
from .review import Review
from .state import ModerationState

__all__ = ["Hands", "Reports"]


class Hands:
    """A raised (or lowered) hand: kept for late arrivals' `welcome`, shown to everyone."""

    def __init__(self, rooms: RoomsPort, state: ModerationState) -> None:
        self._rooms = rooms
        self._state = state

    async def __call__(self, conn: Conn, view: RoomView, frame: Hand) -> Sequence[Reply]:
        await self._state.set_hand(view.slug, conn.user_id, frame.raised)
        text = encode({"type": "hand", "user_id": conn.user_id, "raised": frame.raised})
        await self._rooms.publish(view.slug, origin(conn, frame.ref), text)
        return []


class Reports:
    """A member's report of a message: a flag for the facilitators, once per reporter."""

    def __init__(self, review: Review) -> None:
        self._review = review

    async def __call__(self, conn: Conn, view: RoomView, frame: Report) -> Sequence[Reply]:
        refusal = await self._review.report(conn, view, frame.message_id, frame.reason)
        if refusal is not None:
            return [refusal.answering(frame.ref)]
        reply: dict[str, Any] = {"type": "report_received", "message_id": frame.message_id}
        if frame.ref is not None:
            reply["ref"] = frame.ref
        return [encode(reply)]
