"""Events from the backplane: logouts, settings, access re-checks, numbering restarts,
control events of plugged-in parts, and keeping presence true across processes.

`RoomEvents` receives every publication of this process (it feeds the hub, which it owns)
and is one collaborator of `Rooms` (server/rooms/live.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import msgspec
import orjson
from sqlalchemy.ext.asyncio import async_sessionmaker

from ..broker.base import Backplane
from ..config import Settings
from ..store import rooms as room_store
from ..store.engine import DbSession
from ..wire.out import encode
from .access import effective_role, may_enter
from .hooks import RoomHooks
from .hub import CONTROL_CHANNEL, Conn, Header, Hub, Logout
from .settings import RoomView

__all__ = ["CONTROL_CHANNEL", "RoomEvents"]

log = logging.getLogger("hearth.rooms")

Publish = Callable[[str, Header, str], Awaitable[None]]

_control_event = msgspec.json.Decoder(Logout)  # the events of CONTROL_CHANNEL


class RoomEvents:
    """What a process does with publications that are not frames to pass on."""

    def __init__(
        self,
        settings: Settings,
        backplane: Backplane,
        db: async_sessionmaker[DbSession],
        views: dict[str, RoomView],
        hooks: RoomHooks,
        publish: Publish,
    ) -> None:
        self.settings = settings
        self.backplane = backplane
        self.db = db
        self.views = views
        self.hooks = hooks
        self.publish = publish
        self.hub = Hub(backplane.pubsub, self._on_control, self._on_epoch)
        self.background_tasks: set[asyncio.Task[None]] = set()

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` without awaiting it, keeping a reference until it is done."""
        task = asyncio.create_task(work)
        self.background_tasks.add(task)
        task.add_done_callback(self.background_tasks.discard)

    def all_sockets(self) -> list[Conn]:
        """Every local socket."""
        return [c for conns in self.hub.rooms.values() for c in conns]

    async def departed(self, room: str, user_id: str, participant: dict[str, Any]) -> None:
        """Tell the plugged-in parts a user has left a room entirely (never raises)."""
        for departure in self.hooks.departures:
            try:
                await departure(room, user_id, participant)
            except Exception:  # their own upkeep repairs what a failure here leaves
                log.warning("a departure listener failed", exc_info=True)

    def reconnected(self) -> None:
        """The pub/sub connection came back: frames published meanwhile are lost to this
        process. Caches are dropped and every socket resumes (clients reconnect with
        after_seq and get what they missed)."""
        for interrupted in self.hooks.interrupted:
            interrupted()
        self._background(self._resume_all(self.hub.backplane_interrupted()))

    def deliver(self, channel: str, data: str | bytes) -> None:
        """Take one publication from the pub/sub connection."""
        if channel == CONTROL_CHANNEL:
            try:
                event = _control_event.decode(data)
            except msgspec.ValidationError:  # an event this process does not act on
                return
            for conn in self.all_sockets():
                if conn.session_id == event.session:
                    conn.stop(4401, "logged out")
            return
        self.hub.deliver(channel, data)

    async def _resume_all(self, sockets: list[Conn]) -> None:
        """After the pub/sub connection came back: first give Redis back what this process
        knows and a restarted Redis lost, so that clients re-entering through any process
        find it: the numbering of every room it followed (it goes on in the same epoch) and
        the first entries of its members (they were present from their welcome on, and their
        resume must not be withheld as a newcomer's). Then ask every local socket to resume."""
        log_ = self.backplane.log
        try:
            for room, known in list(self.hub.known.items()):
                await log_.position(room, known)
            for conn in sockets:
                if conn.live:
                    await log_.mark_first_entry(conn.room, conn.user_id, conn.welcome_seq)
        except Exception:  # Redis went again: the next reconnection tries again
            log.warning("could not restore the numbering and first entries", exc_info=True)
        for conn in sockets:
            conn.stop(1013, "connection between servers was interrupted: resume")

    def _on_epoch(self, room: str, sockets: list[Conn]) -> None:
        for conn in sockets:
            conn.stop(1012, "numbering restarted: enter again")

    def _on_control(self, room: str, header: Header, frame: str, sockets: list[Conn]) -> None:
        kind = header.event
        listener = self.hooks.control_listeners.get(kind)
        if listener is not None:
            listener(room, header, frame, sockets)
            return
        if kind == "room":
            self._room_changed(room, RoomView(**orjson.loads(frame)), sockets)
        elif kind == "recheck":
            for conn in sockets:
                if conn.user_id == header.user:
                    self._background(self._recheck(conn))

    def _room_changed(self, room: str, view: RoomView, sockets: list[Conn]) -> None:
        """New settings: every live socket gets `room`; a change of access re-checks all."""
        old = self.views.get(room)
        self.views[room] = view
        text = encode({"type": "room", "room": view.public()})
        for conn in sockets:
            if conn.live:
                conn.offer(text)
        if old is None or old.access != view.access:
            for conn in sockets:
                self._background(self._recheck(conn))

    async def _recheck(self, conn: Conn) -> None:
        """Close a socket whose user may no longer be in the room; refresh its role."""
        try:
            async with self.db() as db:
                view = self.views.get(conn.room) or await room_store.room_by_slug(db, conn.room)
                if view is None:
                    conn.stop(4404, "room is gone")
                    return
                role, banned, _ = await room_store.entry_facts(db, view.id, conn.user_id)
        except Exception:  # fail closed: the client may re-enter and be checked afresh
            log.exception("re-checking access failed")
            conn.stop(1011, "could not confirm your access: enter again")
            return
        if not may_enter(view, conn.is_admin, role, banned):
            conn.stop(4403, "no longer allowed in this room")
            return
        conn.role = effective_role(conn.is_admin, role)

    async def presence_loop(self) -> None:
        """Keep this process's presence entries alive and sweep those of dead processes."""
        # On a fixed beat (not "sleep, then work"), so a slow round does not stretch the
        # bound: entries of a dead process expire within the entry TTL and a sweep follows
        # within one interval (see Settings.presence_entry_ttl).
        interval = self.settings.presence_interval
        loop = asyncio.get_running_loop()
        beat = loop.time()
        while True:
            beat = max(beat + interval, loop.time())
            await asyncio.sleep(beat - loop.time())
            try:
                await self._presence_round()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("presence heartbeat failed", exc_info=True)

    async def _presence_round(self) -> None:
        """Refresh this process's live sockets, then announce who left with a dead process."""
        live = [
            (c.room, c.user_id, c.id, encode(c.participant())) for c in self.all_sockets() if c.live
        ]
        await self.backplane.presence.heartbeat(live)
        for room in list(self.hub.rooms):
            for gone in await self.backplane.presence.sweep(room):
                user = orjson.loads(gone)
                frame = encode({"type": "presence", "user": user, "status": "left"})
                await self.publish(room, Header(), frame)
                await self.departed(room, str(user["id"]), user)
