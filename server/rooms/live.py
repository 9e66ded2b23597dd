"""The rooms this process serves: their state, entering and leaving, publishing.

Owns the hub and the send pipeline; talks to the backplane and (for consent and settings)
the store. The frames members send are handled in `member_frames.py`, events from other
processes in `events.py` (mixins of `Rooms`). Every frame is authorized, not only the
handshake.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy.ext.asyncio import async_sessionmaker

from ..broker.base import Backplane
from ..config import Settings
from ..store import entries
from ..store import rooms as room_store
from ..store.engine import DbSession, without_transaction
from ..store.ids import now_ms
from ..wire.out import encode
from .events import CONTROL_CHANNEL, RoomEvents
from .hub import GOING_AWAY, Conn, ControlHandler, Hub, publication, room_channel
from .member_frames import RECALL_SENDS, MemberFrames
from .resume import resume_history
from .sending import SendPipeline, Step
from .settings import RoomView

if TYPE_CHECKING:
    from ..moderation import Moderation

__all__ = ["CONTROL_CHANNEL", "Gate", "Rooms"]

# What an arrival gate answers: go on (None), wait for the event, or close (code, reason).
Gate = asyncio.Event | tuple[int, str] | None

log = logging.getLogger("hearth.rooms")

ENTERED_CACHE = 100_000


class Rooms(MemberFrames, RoomEvents):
    """Live rooms of this process: state, entering and leaving, publishing."""

    def __init__(
        self, settings: Settings, backplane: Backplane, db: async_sessionmaker[DbSession]
    ) -> None:
        self.settings = settings
        self.backplane = backplane
        self.db = db
        self.hub = Hub(backplane.pubsub, self._on_control, self._on_epoch)
        self.pipeline = SendPipeline(backplane.log, self.hub.known.get, self.hub.numbered)
        self.pipeline.steps.append(self._permissions)
        self.views: dict[str, RoomView] = {}
        self._tasks: list[asyncio.Task[None]] = []
        # Called with (room view, message ids) when a facilitator deletes messages, so every
        # copy goes (the transcript registers here).
        self.erasers: list[Callable[[RoomView, list[str]], Awaitable[None]]] = []
        # Called with (room view, user id, consent) to learn whether a user consents, and
        # when a room's transcripts are switched off (the transcript part registers here).
        self.consent_reader: Callable[[RoomView, str], Awaitable[bool]] | None = None
        # Stores a consent frame's choice; False if the room keeps no transcript (the
        # transcript part registers here and tells the other processes).
        self.consent_writer: Callable[[RoomView, str, bool], Awaitable[bool]] | None = None
        # Handlers of control events of other kinds (`k`), registered by other parts.
        self.control_listeners: dict[str, ControlHandler] = {}
        # Erase every recorded message of one author in a room, returning their ids.
        self.author_erasers: list[Callable[[RoomView, str], Awaitable[list[str]]]] = []
        self.moderation: Moderation | None = None
        self.mutes: dict[str, dict[str, int | None]] = {}
        self.mute_changes: dict[str, int] = {}
        self.background_tasks: set[asyncio.Task[None]] = set()
        self.draining = False  # shutting down: no socket enters any more
        self.handlers = 0  # socket handlers running, handshakes included (a drain waits)
        self._entered: set[tuple[str, str]] = set()  # (room id, user id) first entries kept
        # Readers of recorded messages by id (the transcript registers here).
        self.message_readers: list[Callable[[RoomView, str], Awaitable[dict[str, Any] | None]]] = []
        # Parts plugged in from outside (sessions, check-ins) register here:
        # before the agreement: None to go on, an Event to wait for, or (code, reason) to close;
        self.arrival_gates: list[Callable[[Conn, RoomView], Awaitable[Gate]]] = []
        # just before `welcome`: None, or (code, reason) to close (e.g. a full room);
        self.entry_checks: list[Callable[[Conn, RoomView], Awaitable[tuple[int, str] | None]]] = []
        # fields added to `welcome` (after presence is joined);
        self.welcome_fields: list[Callable[[Conn, RoomView], Awaitable[dict[str, Any]]]] = []
        # after `welcome` was queued;
        self.arrivals: list[Callable[[Conn, RoomView], Awaitable[None]]] = []
        # after a user's last socket left a room (room slug, user id, participant);
        self.departures: list[Callable[[str, str, dict[str, Any]], Awaitable[None]]] = []
        # handlers of client frame types the rooms do not know themselves;
        self.frame_handlers: dict[type, Callable[[Conn, RoomView, Any], Awaitable[list[str]]]] = {}
        # called before room objects are built for an answer (to refresh shared state);
        self.room_refreshers: list[Callable[[], Awaitable[None]]] = []
        # whether `GET /api/rooms` lists a room the user may enter, given their room role.
        self.listing_filters: list[Callable[[RoomView, str | None], bool]] = []

    async def message(self, view: RoomView, message_id: str) -> dict[str, Any] | None:
        """A message of this room known by id (24 h, or recorded): from the resume window,
        else the transcript; `body` None once its words are gone everywhere."""
        found = await self.backplane.log.locate(message_id)
        if found is None or found[0] != view.slug:
            for read in self.message_readers:
                kept = await read(view, message_id)
                if kept is not None:
                    return kept
            return None
        _, seq, author = found
        window = await self.backplane.log.read(
            view.slug, seq - 1, view.resume_window_seconds, upto=seq
        )
        if window.entries and window.entries[0][0] == seq:
            kept_frame: dict[str, Any] = orjson.loads(window.entries[0][1])
            return kept_frame
        for read in self.message_readers:
            kept = await read(view, message_id)
            if kept is not None:
                return kept
        return {"id": message_id, "seq": seq, "author": {"id": author}, "body": None}

    def add_step(self, step: Step) -> None:
        """Add a step to the send pipeline, after those already there."""
        self.pipeline.steps.append(step)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Start receiving publications and keeping presence alive."""
        await self.backplane.pubsub.start(self._deliver)
        await self.backplane.pubsub.subscribe(CONTROL_CHANNEL)
        self._tasks.append(asyncio.create_task(self._presence_loop(), name="hearth-presence"))

    async def drain(self, timeout: float) -> None:
        """Shutting down: close every socket with 1001 (a frame in hand is finished first, so
        an in-flight recorded write completes) and wait, at most `timeout` seconds, until
        they have left, each announcing its departure at once."""
        self.draining = True
        for conn in self.all_sockets():
            conn.stop(GOING_AWAY, "server shutting down: reconnect")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (self.hub.rooms or self.handlers) and loop.time() < deadline:
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        """Stop background work; sockets are closed by their connection loops."""
        await self.hub.close()
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
        async with self.db() as db:
            await without_transaction(db)
            view = await room_store.room_by_slug(db, slug)
        if view is not None:
            self.views[slug] = view
        return view

    async def settings_changed(self, view: RoomView) -> None:
        """Tell every process a room's settings changed (each applies them at once)."""
        data = orjson.dumps(asdict(view)).decode()
        await self.publish(view.slug, {"k": "room"}, data)

    async def access_changed(self, slug: str, user_id: str) -> None:
        """A user's role in a room changed: every process re-checks their sockets."""
        await self.publish(slug, {"k": "recheck", "u": user_id}, "{}")

    async def session_ended(self, session_id: str) -> None:
        """Logout: every process closes the session's sockets with 4401."""
        await self.backplane.pubsub.publish(
            CONTROL_CHANNEL, orjson.dumps({"k": "logout", "s": session_id}).decode()
        )

    async def refresh_room_state(self) -> None:
        """Bring the read-only parts of room objects (e.g. open sessions) up to date."""
        for refresh in self.room_refreshers:
            await refresh()

    async def publish(self, slug: str, header: dict[str, Any], frame: str) -> None:
        """Publish one frame (or control event) to the room on every process."""
        await self.backplane.pubsub.publish(room_channel(slug), publication(header, frame))

    # -- entering ------------------------------------------------------------------------

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
        conn.extra["present"] = True
        if first:
            frame = encode({"type": "presence", "user": conn.participant(), "status": "joined"})
            await self.publish(view.slug, {"a": "others", "u": conn.user_id}, frame)
        members = [
            m
            for m in (orjson.loads(t) for t in await self.backplane.presence.members(view.slug))
            if m["id"] != conn.user_id
        ]
        log_ = self.backplane.log
        # A recorded message not yet numbered in the transcript is not read from the window
        # either (rooms/hold.py); the hold ends by itself within its limit.
        await self.hub.hold.settled(view.slug)
        current_epoch, seq = await log_.position(view.slug, self.hub.known.get(view.slug))
        known = self.hub.known.get(view.slug)
        if known is None or known[0] != current_epoch:
            self.hub.known[view.slug] = (current_epoch, seq)
        first_seq = await log_.mark_first_entry(view.slug, conn.user_id, seq)
        history: list[str] = []
        gap = False
        if after_seq is not None:
            conn.extra["recall_left"] = RECALL_SENDS
            start = after_seq if isinstance(after_seq, int) else 0
            # Only up to the welcome's seq: later ones arrive live, once.
            window = await log_.read(view.slug, start, view.resume_window_seconds, upto=seq)
            window = replace(window, seq=min(window.seq, seq))
            history, gap = resume_history(after_seq, epoch, window, first_seq)
        if self.consent_reader is not None:
            consent = await self.consent_reader(view, conn.user_id)
        else:
            async with self.db() as db:
                consent = await room_store.consent_of(db, view.id, conn.user_id)
        muted = await self.muted_until(view.slug, conn.user_id)
        await self._record_entry(view, conn.user_id)
        added: dict[str, Any] = {}
        for fields_of in self.welcome_fields:
            added.update(await fields_of(conn, view))
        pinned: list[dict[str, Any]] = []
        hands: list[str] = []
        if self.moderation is not None:
            pinned = await self.moderation.state.pins(view.slug)
            hands = await self.moderation.state.hands(view.slug)
        head = encode(
            {
                "type": "welcome",
                "protocol": 1,
                "room": view.public(),
                "you": {
                    "user": _user_view(conn),
                    "role": conn.role,
                    "consent": consent and view.transcripts == "opt_in",
                    "muted": muted is not False,
                    "muted_until": muted if type(muted) is int else None,
                },
                "members": members,
                "pinned": pinned,
                "hands": hands,
                "seq": seq,
                "epoch": current_epoch,
                "history": [],
                "gap": gap,
                **added,
            }
        )
        # History frames are already-encoded JSON: splice them in instead of re-encoding.
        welcome = head.replace('"history":[]', '"history":[' + ",".join(history) + "]", 1)
        pending = self.hub.go_live(conn, seq)
        conn.offer(welcome)
        for text in pending:
            conn.offer(text)
        if conn.moderator and self.moderation is not None:
            for waiting in await self.moderation.state.waiting(view.slug):
                waiting.pop("ts", None)
                conn.offer(encode({"type": "knock", "user": waiting}))
            await self.moderation.review.open_items(conn)
        for arrived in self.arrivals:
            await arrived(conn, view)

    async def _record_entry(self, view: RoomView, user_id: str) -> None:
        """Remember the user's first entry to the room (who may read a `members`
        transcript, and from when): once per process and pair."""
        if (view.id, user_id) in self._entered:
            return
        async with self.db() as db:
            await without_transaction(db)  # one statement
            await entries.record_first_entry(db, view.id, user_id, now_ms())
        if len(self._entered) >= ENTERED_CACHE:
            self._entered.clear()
        self._entered.add((view.id, user_id))

    async def leave(self, conn: Conn) -> None:
        """Detach a closed socket and announce the user's departure after their last one."""
        await self.hub.detach(conn)
        if conn.room not in self.hub.rooms:
            self.mutes.pop(conn.room, None)
            self.mute_changes.pop(conn.room, None)
            self.views.pop(conn.room, None)
        if conn.waiting and "admitted" in conn.extra and self.moderation is not None:
            await self.moderation.state.stop_waiting(conn.room, conn.user_id)
            frame = encode({"type": "knock_withdrawn", "user_id": conn.user_id})
            await self.publish(conn.room, {"a": "mods"}, frame)
        if not conn.extra.get("present"):
            return
        try:
            last = await self.backplane.presence.leave(conn.room, conn.user_id, conn.id)
            if last:
                frame = encode({"type": "presence", "user": conn.participant(), "status": "left"})
                await self.publish(conn.room, {"a": "all"}, frame)
        except Exception:  # the backend is down: heartbeat expiry announces it later
            log.warning("could not record a departure; presence expiry will", exc_info=True)
            return
        if last:
            await self.departed(conn.room, conn.user_id, conn.participant())

    async def departed(self, room: str, user_id: str, participant: dict[str, Any]) -> None:
        """Tell the plugged-in parts a user has left a room entirely (never raises)."""
        for departure in self.departures:
            try:
                await departure(room, user_id, participant)
            except Exception:  # their own upkeep repairs what a failure here leaves
                log.warning("a departure listener failed", exc_info=True)


def _user_view(conn: Conn) -> dict[str, Any]:
    return {
        "id": conn.user_id,
        "username": conn.username,
        "display_name": conn.display_name,
        "is_admin": conn.is_admin,
        "language": conn.language,
    }
