"""Mutes as the rooms meet them: the `mute` step of the send pipeline, the `muted` fields of
`welcome`, and this process's cache of a live room's mutes (kept true by `mod` events)."""

from __future__ import annotations

from typing import Any

from ..rooms.hub import Conn
from ..rooms.ports import RoomsPort
from ..rooms.sending import PASS, Draft, Verdict
from ..rooms.settings import RoomView
from ..store.ids import now_ms
from ..wire.errors import Refuse
from .state import ModerationState

__all__ = ["Mutes"]


class Mutes:
    """Who is muted in each room, cached while this process has sockets there."""

    def __init__(self, rooms: RoomsPort, state: ModerationState) -> None:
        self._rooms = rooms
        self._state = state
        self._cache: dict[str, dict[str, int | None]] = {}
        self._changes: dict[str, int] = {}  # mute events seen per room (see `until`)

    async def __call__(self, draft: Draft) -> Verdict:
        """The pipeline step: mutes bind facilitators too (an admin may mute one)."""
        if draft.approved:
            return PASS
        if await self.until(draft.room.slug, draft.conn.user_id) is not False:
            return Refuse("muted", "a facilitator has muted you for now")
        return PASS

    async def until(self, slug: str, user_id: str) -> int | None | bool:
        """False if not muted; else when the mute ends (ms), None for until unmuted."""
        mutes = self._cache.get(slug)
        if mutes is None or not self._rooms.is_live(slug):
            changes = self._changes.get(slug, 0)
            mutes = await self._state.mutes(slug)
            # Cache only if no mute event arrived while reading (it would be lost).
            if self._rooms.is_live(slug) and self._changes.get(slug, 0) == changes:
                self._cache[slug] = mutes
        if user_id not in mutes:
            return False
        until = mutes[user_id]
        if until is not None and until <= now_ms():
            mutes.pop(user_id, None)
            return False
        return until

    async def you_fields(self, conn: Conn, view: RoomView) -> dict[str, Any]:
        """`welcome.you`'s `muted` and `muted_until`."""
        muted = await self.until(view.slug, conn.user_id)
        return {"muted": muted is not False, "muted_until": muted if type(muted) is int else None}

    def changed(self, room: str, action: str, target: str | None, until: int | None) -> None:
        """A `mute` or `unmute` event reached this process."""
        self._changes[room] = self._changes.get(room, 0) + 1
        mutes = self._cache.get(room)
        if mutes is not None and target is not None:
            if action == "mute":
                mutes[target] = until
            else:
                mutes.pop(target, None)

    def forget_room(self, room: str) -> None:
        """This process's last socket left the room: it no longer follows its events."""
        self._cache.pop(room, None)
        self._changes.pop(room, None)

    def forget_all(self) -> None:
        """Events were lost (the pub/sub connection was interrupted)."""
        self._cache.clear()
