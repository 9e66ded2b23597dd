"""The `welcome` frame (PROTOCOL §3) of a socket entering a room: who is here, where the
room's numbering stands, what the client missed, and what plugged-in parts add."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from ..broker.base import Backplane
from ..wire.out import welcome
from ..wire.user import user_object
from .hooks import RoomHooks
from .hub import Conn, Hub
from .member_frames import RECALL_SENDS
from .resume import resume_history
from .settings import RoomView

__all__ = ["Welcome"]


class Welcome:
    """Builds and queues `welcome`, then the frames that arrived while it was built."""

    def __init__(
        self,
        backplane: Backplane,
        hub: Hub,
        hooks: RoomHooks,
    ) -> None:
        self._backplane = backplane
        self._hub = hub
        self._hooks = hooks

    async def queue(
        self, conn: Conn, view: RoomView, after_seq: int | str | None, epoch: str | None
    ) -> None:
        """Queue `welcome` for an attached socket present in the room; it goes live."""
        members = [
            m
            for m in (orjson.loads(t) for t in await self._backplane.presence.members(view.slug))
            if m["id"] != conn.user_id
        ]
        current_epoch, seq, history, gap = await self._position(conn, view, after_seq, epoch)
        you = await self._you(conn, view)
        # Before the room object is built: a part may change the room (the first arrival of
        # an `always` room opens its session, which the room object shows).
        added = await self._added(conn, view)
        fields = {
            "type": "welcome",
            "protocol": 1,
            "room": view.public(),
            "you": you,
            "members": members,
            "pinned": [],
            "hands": [],
            "seq": seq,
            "epoch": current_epoch,
            "history": [],
            "gap": gap,
        } | added
        pending = self._hub.go_live(conn, seq)
        conn.offer(welcome(fields, history))  # history frames as they are, not re-encoded
        for text in pending:
            conn.offer(text)

    async def _position(
        self, conn: Conn, view: RoomView, after_seq: int | str | None, epoch: str | None
    ) -> tuple[str, int, list[str], bool]:
        """The room's epoch and seq, and what a resuming client missed (and whether some of
        it is gone)."""
        log_, hub = self._backplane.log, self._hub
        current_epoch, seq = await log_.position(view.slug, hub.known.get(view.slug))
        known = hub.known.get(view.slug)
        if known is None or known[0] != current_epoch:
            hub.known[view.slug] = (current_epoch, seq)
        first_seq = await log_.mark_first_entry(view.slug, conn.user_id, seq)
        if after_seq is None:
            return current_epoch, seq, [], False
        conn.recall_left = RECALL_SENDS
        start = after_seq if isinstance(after_seq, int) else 0
        # Only up to the welcome's seq: later ones arrive live, once.
        window = await log_.read(view.slug, start, view.resume_window_seconds, upto=seq)
        window = replace(window, seq=min(window.seq, seq))
        history, gap = resume_history(after_seq, epoch, window, first_seq)
        return current_epoch, seq, history, gap

    async def _you(self, conn: Conn, view: RoomView) -> dict[str, Any]:
        reader = self._hooks.consent_reader
        consent = reader is not None and await reader(view, conn.user_id)
        you: dict[str, Any] = {
            "user": user_object(
                conn.user_id, conn.username, conn.display_name, conn.is_admin, conn.language
            ),
            "role": conn.role,
            "consent": consent and view.transcripts == "opt_in",
            "muted": False,
            "muted_until": None,
        }
        for fields_of in self._hooks.you_fields:
            you.update(await fields_of(conn, view))
        return you

    async def _added(self, conn: Conn, view: RoomView) -> dict[str, Any]:
        added: dict[str, Any] = {}
        for fields_of in self._hooks.welcome_fields:
            added.update(await fields_of(conn, view))
        return added
