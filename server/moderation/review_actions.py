"""Facilitator actions on what is under review (PROTOCOL §3): `resolve_flag`, and `approve`
or `discard` of a held message. Their `moderation` echo goes to the facilitators alone."""

from __future__ import annotations

from ..rooms.hub import Conn
from ..rooms.ports import RoomsPort
from ..rooms.settings import RoomView
from ..store.models import User
from ..wire.errors import Refuse
from ..wire.frames import Mod
from .outcomes import Done, Outcome, need
from .review import Review
from .state import ModerationState

__all__ = ["ReviewActions"]


class ReviewActions:
    """Settles flags and held messages (`review.py` raises and keeps them)."""

    def __init__(self, rooms: RoomsPort, state: ModerationState, review: Review) -> None:
        self.rooms = rooms
        self.state = state
        self.review = review

    async def resolve_flag(
        self, conn: Conn, view: RoomView, frame: Mod, target: User | None
    ) -> Outcome:
        """Mark a flag resolved; it is no longer shown to facilitators."""
        flag_id = need(frame.flag_id, "flag_id")
        if isinstance(flag_id, Refuse):
            return flag_id
        if await self.state.resolve_flag(view.slug, flag_id) is None:
            return Refuse("not_found", "no such flag")
        return Done(fields={"flag_id": flag_id})

    async def review_held(
        self, conn: Conn, view: RoomView, frame: Mod, target: User | None
    ) -> Outcome:
        """`approve` (sent as its author) and `discard` (the author is told)."""
        held_id = need(frame.held_id, "held_id")
        if isinstance(held_id, Refuse):
            return held_id
        held = await self.state.release(view.slug, held_id)
        if held is None:
            return Refuse("not_found", "no such held message")
        author_id = str(held["author"]["id"])
        if frame.action == "approve":
            await self.rooms.publish_held(view, held)
        else:
            text = "A facilitator did not approve your message."
            await self.review.notice(view, author_id, "held_discarded", text, held_id=held_id)
        return Done(fields={"held_id": held_id, "author_id": held["author"]["id"]})
