"""The rooms' own steps of the send pipeline: the body rules, and the room's lock and slow
mode (facilitators are spared both)."""

from __future__ import annotations

import time
from collections.abc import Mapping

from ..broker.base import RoomLog
from ..wire.errors import Refuse
from ..wire.text import body_problem
from .sending import PASS, Draft, Verdict
from .settings import RoomView

__all__ = ["BodyCheck", "RoomRules"]


class BodyCheck:
    """The body rules of PROTOCOL §3 (not empty, not too long, no control characters)."""

    async def __call__(self, draft: Draft) -> Verdict:
        problem = body_problem(draft.body, draft.room.max_message_chars)
        return PASS if problem is None else Refuse(*problem)


class RoomRules:
    """A locked room takes only facilitators' messages; slow mode spaces a member's."""

    def __init__(self, views: Mapping[str, RoomView], log: RoomLog) -> None:
        self._views = views
        self._log = log

    async def __call__(self, draft: Draft) -> Verdict:
        conn = draft.conn
        room = draft.room = self._views.get(conn.room, draft.room)  # the live settings
        if draft.approved or conn.moderator:
            return PASS
        if room.locked:
            return Refuse("locked", "only facilitators may post while the room is locked")
        if room.slow_mode_seconds > 0:
            last = await self._log.last_sent(room.slug, conn.user_id)
            if last is not None:
                wait = last + room.slow_mode_seconds - time.time()
                if wait > 0:
                    return Refuse("slow_mode", "slow mode is on", retry_after=wait)
        return PASS
