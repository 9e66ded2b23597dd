"""The rooms this process serves: their state, entering and leaving, publishing.

`Rooms` composes three collaborators: the `RoomEvents` that receive every publication (and
feed the local hub), the `MemberFrames` that answer members' frames, and the
`SendPipeline`. Parts plugged in from outside register in `hooks` (`hooks.py`) and see the
rooms through `RoomsPort` (`ports.py`). Every frame is authorized, not only the handshake.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import Any

import msgspec
import orjson
from sqlalchemy.ext.asyncio import async_sessionmaker

from ..broker.base import Backplane
from ..broker.envelope import encode_publication
from ..config import Settings
from ..ops.dependencies import dependency_failed
from ..ops.flights import Flights
from ..store import entries
from ..store import rooms as room_store
from ..store.engine import DbSession, without_transaction
from ..store.ids import now_ms
from ..wire.frames import ClientFrame
from ..wire.out import encode
from .events import RoomEvents
from .hooks import Gate, Reply, RoomHooks
from .hub import CONTROL_CHANNEL, GOING_AWAY, Conn, Header, Logout, room_channel
from .member_frames import MemberFrames
from .send_rules import BodyCheck, RoomRules
from .sending import SendPipeline
from .settings import RoomView
from .welcome import Welcome

__all__ = ["CONTROL_CHANNEL", "Gate", "Rooms"]

log = logging.getLogger("hearth.rooms")

ENTERED_CACHE = 100_000
# Departures doing their backend work at once (each takes a Redis and maybe a database
# connection from pools of 64 and 20).
DEPARTURES_AT_ONCE = 16


class Rooms:
    """Live rooms of this process: state, entering and leaving, publishing."""

    def __init__(
        self, settings: Settings, backplane: Backplane, db: async_sessionmaker[DbSession]
    ) -> None:
        self.settings = settings
        self.backplane = backplane
        self.db = db
        self.hooks = RoomHooks()
        self.views: dict[str, RoomView] = {}
        self._view_reads: Flights[str, RoomView | None] = Flights()  # a burst shares one read
        self.events = RoomEvents(settings, backplane, db, self.views, self.hooks, self.publish)
        self.hub = self.events.hub
        self.pipeline = SendPipeline(backplane.log, self.hub.known.get, self.hub.numbered)
        self.pipeline.place("body", BodyCheck())
        self.pipeline.place("permissions", RoomRules(self.views, backplane.log))
        self.frames = MemberFrames(
            backplane.log, self.views, self.hooks, self.pipeline, self.publish
        )
        self._welcome = Welcome(backplane, self.hub, self.hooks)
        self._tasks: list[asyncio.Task[None]] = []
        self.draining = False  # shutting down: no socket enters any more
        self.handlers = 0  # socket handlers running, handshakes included (a drain waits)
        # Sockets past their handshake, welcomed or not (a closed door, an agreement, a
        # waiting room): a drain closes each of them with 1001.
        self.connected: set[Conn] = set()
        self._entered: set[tuple[str, str]] = set()  # (room id, user id) first entries kept
        # A storm of entries shares transactions (one per batch, not one per entry).
        self._first_entries = entries.first_entries_in_batches(db)
        self._departing = asyncio.Semaphore(DEPARTURES_AT_ONCE)

    # -- what plugged-in parts use (RoomsPort) -------------------------------------------

    async def message(self, view: RoomView, message_id: str) -> dict[str, Any] | None:
        """A message of this room known by id (24 h, or recorded): from the resume window,
        else the transcript; `body` None once its words are gone everywhere."""
        found = await self.backplane.log.locate(message_id)
        if found is None or found[0] != view.slug:
            return await self._kept(view, message_id)
        _, seq, author = found
        window = await self.backplane.log.read(
            view.slug, seq - 1, view.resume_window_seconds, upto=seq
        )
        if window.entries and window.entries[0][0] == seq:
            kept_frame: dict[str, Any] = orjson.loads(window.entries[0][1])
            return kept_frame
        kept = await self._kept(view, message_id)
        if kept is not None:
            return kept
        return {"id": message_id, "seq": seq, "author": {"id": author}, "body": None}

    async def _kept(self, view: RoomView, message_id: str) -> dict[str, Any] | None:
        for read in self.hooks.message_readers:
            kept = await read(view, message_id)
            if kept is not None:
                return kept
        return None

    def live_view(self, view: RoomView) -> RoomView:
        """The room's current settings on this process (`view` if it has no live copy)."""
        return self.views.get(view.slug, view)

    def is_live(self, slug: str) -> bool:
        """Whether this process has sockets in the room (and so follows its events)."""
        return slug in self.hub.rooms

    async def publish_held(self, view: RoomView, held: dict[str, Any]) -> None:
        """Send an approved held message as its author, through the rest of the pipeline."""
        await self.frames.publish_held(view, held)

    async def erase(self, view: RoomView, message_ids: list[str]) -> None:
        """Remove messages from the resume window and every keeper (the transcript)."""
        await self._unwind(view, message_ids)
        for eraser in self.hooks.erasers:
            await eraser(view, message_ids)

    async def erase_author(self, view: RoomView, user_id: str) -> list[str]:
        """Remove every kept message of one author in the room; their ids."""
        window = await self.backplane.log.read(view.slug, 0, view.resume_window_seconds)
        ids = [
            str(m["id"])
            for m in (orjson.loads(f) for _, f in window.entries)
            if m["author"]["id"] == user_id
        ]
        for eraser in self.hooks.author_erasers:
            ids.extend(i for i in await eraser(view, user_id) if i not in ids)
        await self._unwind(view, ids)  # the author erasers did the transcript's part
        return ids

    async def _unwind(self, view: RoomView, message_ids: list[str]) -> None:
        """Remove messages from the room's resume window."""
        seqs = []
        for message_id in message_ids:
            found = await self.backplane.log.locate(message_id)
            if found is not None and found[0] == view.slug:
                seqs.append(found[1])
        if seqs:
            await self.backplane.log.remove(view.slug, seqs)

    async def members(self, slug: str) -> list[dict[str, Any]]:
        """Who is present in the room, on any process."""
        return [orjson.loads(m) for m in await self.backplane.presence.members(slug)]

    async def attach(self, conn: Conn) -> None:
        """Let a socket not yet welcomed (a waiting one) receive the room's events."""
        await self.hub.attach(conn)

    async def restart_numbering(self, slug: str) -> None:
        """Forget the room's resume window and start its numbering again (`end`)."""
        await self.backplane.log.reset(slug)

    def route(self, sockets: Iterable[Conn], header: Header, frame: str) -> None:
        """Queue `frame` for the sockets its header's audience names."""
        self.hub.route(sockets, header, frame)

    async def handle(self, conn: Conn, frame: ClientFrame) -> Sequence[Reply]:
        """Act on one decoded frame; the replies for this socket alone."""
        return await self.frames.handle(conn, frame)

    def all_sockets(self) -> list[Conn]:
        """Every local socket."""
        return self.events.all_sockets()

    async def departed(self, room: str, user_id: str, participant: dict[str, Any]) -> None:
        """Tell the plugged-in parts a user has left a room entirely (never raises)."""
        await self.events.departed(room, user_id, participant)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Start receiving publications and keeping presence alive."""
        await self.backplane.pubsub.start(
            self.events.deliver, self.events.reconnected, self.hub.batch
        )
        await self.backplane.pubsub.subscribe(CONTROL_CHANNEL)
        loop = self.events.presence_loop()
        self._tasks.append(asyncio.create_task(loop, name="hearth-presence"))

    async def drain(self, timeout: float) -> None:
        """Shutting down: close every socket with 1001 (a frame in hand is finished first, so
        an in-flight recorded write completes) and wait, at most `timeout` seconds, until
        they have left, each announcing its departure at once."""
        self.draining = True
        for conn in {*self.all_sockets(), *self.connected}:
            conn.stop(GOING_AWAY, "server shutting down: reconnect")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (self.hub.rooms or self.handlers) and loop.time() < deadline:
            await asyncio.sleep(0.02)
        if self.handlers:  # the rest are cut short by the server's shutdown
            log.warning(
                "%d sockets had not finished leaving when the drain ended; presence expiry "
                "announces their departures",
                self.handlers,
            )

    async def close(self) -> None:
        """Stop background work (first entries waiting are written, or fail their callers);
        sockets are closed by their connection loops."""
        await self.hub.close()
        await self._first_entries.close()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for conns in list(self.hub.rooms.values()):
            for conn in conns:
                conn.stop(GOING_AWAY, "server shutting down: reconnect")

    # -- room settings -------------------------------------------------------------------

    async def view(self, slug: str) -> RoomView | None:
        """The room's settings: the live copy if this process has sockets there, else stored."""
        if slug in self.views and slug in self.hub.rooms:
            return self.views[slug]
        return await self._view_reads.share(slug, lambda: self._read_view(slug))

    async def _read_view(self, slug: str) -> RoomView | None:
        """The stored settings (the handshakes of a burst into one room share this read)."""
        async with self.db() as db:
            await without_transaction(db)
            view = await room_store.room_by_slug(db, slug)
        if view is not None:
            self.views[slug] = view
        return view

    async def settings_changed(self, view: RoomView) -> None:
        """Tell every process a room's settings changed (each applies them at once)."""
        data = orjson.dumps(asdict(view)).decode()
        await self.publish(view.slug, Header(kind="control", event="room"), data)

    async def access_changed(self, slug: str, user_id: str) -> None:
        """A user's role in a room changed: every process re-checks their sockets."""
        await self.publish(slug, Header(kind="control", event="recheck", user=user_id), "{}")

    async def session_ended(self, session_id: str) -> None:
        """Logout: every process closes the session's sockets with 4401."""
        await self.backplane.pubsub.publish(
            CONTROL_CHANNEL, msgspec.json.encode(Logout(session_id)).decode()
        )

    async def refresh_room_state(self) -> None:
        """Bring the read-only parts of room objects (e.g. open sessions) up to date."""
        for refresh in self.hooks.room_refreshers:
            await refresh()

    async def publish(self, slug: str, header: Header, frame: str) -> None:
        """Publish one frame (or control event) to the room on every process."""
        await self.backplane.pubsub.publish(room_channel(slug), encode_publication(header, frame))

    # -- entering and leaving ------------------------------------------------------------

    async def enter(
        self, conn: Conn, view: RoomView, after_seq: int | str | None, epoch: str | None
    ) -> None:
        """Attach, announce presence and queue `welcome` (then everything after it, in order).

        The live copy of the room's settings wins over `view` (read at the handshake)."""
        if view.slug in self.hub.rooms and view.slug in self.views:
            view = self.views[view.slug]
        else:
            self.views[view.slug] = view
        if self.draining:
            conn.stop(GOING_AWAY, "server shutting down: reconnect")
            return
        await self.hub.attach(conn)
        participant = encode(conn.participant())
        first = await self.backplane.presence.join(view.slug, conn.user_id, conn.id, participant)
        conn.present = True
        if first:
            frame = encode({"type": "presence", "user": conn.participant(), "status": "joined"})
            await self.publish(view.slug, Header(audience="others", user=conn.user_id), frame)
        await self._record_entry(view, conn.user_id)
        await self._welcome.queue(conn, view, after_seq, epoch)
        for arrived in self.hooks.arrivals:
            await arrived(conn, view)

    def entered_before(self, room_id: str, user_id: str) -> None:
        """The store keeps the user's first entry to the room already (read at the
        handshake): entering records none."""
        self._remember_entry(room_id, user_id)

    def _remember_entry(self, room_id: str, user_id: str) -> None:
        if len(self._entered) >= ENTERED_CACHE:
            self._entered.clear()
        self._entered.add((room_id, user_id))

    async def _record_entry(self, view: RoomView, user_id: str) -> None:
        """Remember the user's first entry to the room (who may read a `members`
        transcript, and from when): once per process and pair."""
        if (view.id, user_id) in self._entered:
            return
        await self._first_entries.write(entries.first_entry_row(view.id, user_id, now_ms()))
        self._remember_entry(view.id, user_id)

    async def leave(self, conn: Conn) -> None:
        """Detach a closed socket and announce the user's departure after their last one."""
        await self.hub.detach(conn)
        if conn.room not in self.hub.rooms:
            self.views.pop(conn.room, None)
            for emptied in self.hooks.emptied:
                emptied(conn.room)
        for left in self.hooks.socket_left:
            await left(conn)
        if not conn.present:
            return
        # A mass departure (a drain, a dropped network) waits its turn here rather than
        # taking every pooled Redis and database connection at once and timing out.
        async with self._departing:
            try:
                last = await self.backplane.presence.leave(conn.room, conn.user_id, conn.id)
                if last:
                    gone = {"type": "presence", "user": conn.participant(), "status": "left"}
                    await self.publish(conn.room, Header(), encode(gone))
            except Exception as exc:  # presence expiry announces it later
                if not dependency_failed(exc):
                    raise
                name = type(exc).__name__
                log.warning("could not record a departure (%s); presence expiry will", name)
                return
            if last:
                await self.events.departed(conn.room, conn.user_id, conn.participant())
