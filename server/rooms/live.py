"""The rooms this process serves: entering, the frames members send, and shared events.

Owns the hub and the send pipeline; talks to the backplane and (for consent and settings)
the store. Every frame is authorized here, not only the handshake.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy.ext.asyncio import async_sessionmaker

from ..broker.base import Backplane
from ..config import Settings
from ..moderation.effects import apply_mod_event
from ..store import rooms as room_store
from ..store.engine import DbSession
from ..wire.frames import (
    REACTIONS,
    AcceptAgreement,
    ClientFrame,
    Consent,
    Hand,
    Mod,
    Ping,
    React,
    Report,
    Send,
    Typing,
)
from ..wire.out import encode, error_frame, with_ref
from .access import effective_role, may_enter
from .hub import Conn, ControlHandler, Hub, publication, room_channel
from .resume import resume_history
from .sending import Draft, Refusal, SendPipeline, Step
from .settings import RoomView

if TYPE_CHECKING:
    from ..moderation import Moderation

__all__ = ["CONTROL_CHANNEL", "Rooms"]

log = logging.getLogger("hearth.rooms")

CONTROL_CHANNEL = "hearth:control"
# Refusals after which a crisis message still reaches the facilitators.
UNHEARD = {"muted": "muted", "locked": "the room was locked", "slow_mode": "slow mode was on"}


class Rooms:
    """Live rooms of this process."""

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
        # Readers of recorded messages by id (the transcript registers here).
        self.message_readers: list[Callable[[RoomView, str], Awaitable[dict[str, Any] | None]]] = []

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
        window = await self.backplane.log.read(view.slug, seq - 1, view.resume_window_seconds)
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

    async def close(self) -> None:
        """Stop background work; sockets are closed by their connection loops."""
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for conns in list(self.hub.rooms.values()):
            for conn in conns:
                conn.stop(1001, "server shutting down")

    def all_sockets(self) -> list[Conn]:
        """Every local socket."""
        return [c for conns in self.hub.rooms.values() for c in conns]

    # -- room settings -------------------------------------------------------------------

    async def view(self, slug: str) -> RoomView | None:
        """The room's settings: the live copy if this process has sockets there, else stored."""
        if slug in self.views and slug in self.hub.rooms:
            return self.views[slug]
        async with self.db() as db:
            view = await room_store.room_by_slug(db, slug)
        if view is not None:
            self.views[slug] = view
        return view

    async def settings_changed(self, view: RoomView) -> None:
        """Tell every process a room's settings changed (each applies them at once)."""
        data = orjson.dumps(_view_state(view)).decode()
        await self.publish(view.slug, {"k": "room"}, data)

    async def access_changed(self, slug: str, user_id: str) -> None:
        """A user's role in a room changed: every process re-checks their sockets."""
        await self.publish(slug, {"k": "recheck", "u": user_id}, "{}")

    async def session_ended(self, session_id: str) -> None:
        """Logout: every process closes the session's sockets with 4401."""
        await self.backplane.pubsub.publish(
            CONTROL_CHANNEL, orjson.dumps({"k": "logout", "s": session_id}).decode()
        )

    async def publish(self, slug: str, header: dict[str, Any], frame: str) -> None:
        """Publish one frame (or control event) to the room on every process."""
        await self.backplane.pubsub.publish(room_channel(slug), publication(header, frame))

    # -- entering ------------------------------------------------------------------------

    async def enter(
        self, conn: Conn, view: RoomView, after_seq: int | str | None, epoch: str | None
    ) -> None:
        """Attach, announce presence and queue `welcome` (then everything after it, in order)."""
        self.views[view.slug] = view
        await self.hub.attach(conn)
        participant = encode(conn.participant())
        first = await self.backplane.presence.join(view.slug, conn.user_id, conn.id, participant)
        if first:
            frame = encode({"type": "presence", "user": conn.participant(), "status": "joined"})
            await self.publish(view.slug, {"a": "others", "u": conn.user_id}, frame)
        members = [
            m
            for m in (orjson.loads(t) for t in await self.backplane.presence.members(view.slug))
            if m["id"] != conn.user_id
        ]
        log_ = self.backplane.log
        current_epoch, seq = await log_.position(view.slug)
        self.hub.known.setdefault(view.slug, (current_epoch, seq))
        first_seq = await log_.mark_first_entry(view.slug, conn.user_id, seq)
        history: list[str] = []
        gap = False
        if after_seq is not None:
            start = after_seq if isinstance(after_seq, int) else 0
            window = await log_.read(view.slug, start, view.resume_window_seconds)
            history, gap = resume_history(after_seq, epoch, window, first_seq)
        if self.consent_reader is not None:
            consent = await self.consent_reader(view, conn.user_id)
        else:
            async with self.db() as db:
                consent = await room_store.consent_of(db, view.id, conn.user_id)
        muted = await self.muted_until(view.slug, conn.user_id)
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

    async def leave(self, conn: Conn) -> None:
        """Detach a closed socket and announce the user's departure after their last one."""
        await self.hub.detach(conn)
        if conn.room not in self.hub.rooms:
            self.mutes.pop(conn.room, None)
        if conn.waiting and self.moderation is not None:
            await self.moderation.state.stop_waiting(conn.room, conn.user_id)
            frame = encode({"type": "knock_withdrawn", "user_id": conn.user_id})
            await self.publish(conn.room, {"a": "mods"}, frame)
        if not conn.live:
            return
        try:
            last = await self.backplane.presence.leave(conn.room, conn.user_id, conn.id)
            if last:
                frame = encode({"type": "presence", "user": conn.participant(), "status": "left"})
                await self.publish(conn.room, {"a": "all"}, frame)
        except Exception:  # the backend is down: heartbeat expiry announces it later
            log.warning("could not record a departure; presence expiry will", exc_info=True)

    # -- frames from members -------------------------------------------------------------

    async def handle(self, conn: Conn, frame: ClientFrame) -> list[str]:
        """Act on one decoded frame; returns the frames for this socket alone (errors...)."""
        view = self.views.get(conn.room)
        if view is None:
            return [error_frame("not_found", "room is gone", frame.ref)]
        match frame:
            case Ping():
                return [_pong(frame.ref)]
            case Send():
                return await self._send(conn, view, frame)
            case Typing():
                text = encode({"type": "typing", "user_id": conn.user_id})
                await self.publish(view.slug, {"a": "others", "u": conn.user_id}, text)
                return []
            case React():
                return await self._react(conn, view, frame)
            case Hand():
                if self.moderation is not None:
                    await self.moderation.state.set_hand(view.slug, conn.user_id, frame.raised)
                text = encode({"type": "hand", "user_id": conn.user_id, "raised": frame.raised})
                await self.publish(view.slug, _origin(conn, frame.ref), text)
                return []
            case Consent():
                return await self._consent(conn, view, frame)
            case AcceptAgreement():
                return []
            case Report() | Mod():
                return await self.moderation_frame(conn, view, frame)
        return [error_frame("invalid", "unknown frame type", frame.ref)]

    async def moderation_frame(self, conn: Conn, view: RoomView, frame: Report | Mod) -> list[str]:
        """Reports (any member) and facilitator actions."""
        if self.moderation is None:
            return [error_frame("forbidden", "moderation is not available here", frame.ref)]
        if isinstance(frame, Mod):
            return await self.moderation.actions.handle(conn, view, frame)
        problem = await self.moderation.review.report(conn, view, frame.message_id, frame.reason)
        if problem is not None:
            return [error_frame(problem, "no such message", frame.ref)]
        reply: dict[str, Any] = {"type": "report_received", "message_id": frame.message_id}
        if frame.ref is not None:
            reply["ref"] = frame.ref
        return [encode(reply)]

    async def _send(self, conn: Conn, view: RoomView, frame: Send) -> list[str]:
        result = await self.pipeline.run(Draft(conn, view, frame.body, frame.ref))
        if isinstance(result, Refusal):
            if result.silent:
                return []
            if result.code in UNHEARD and self.moderation is not None:
                crisis = self.moderation.runner.hooks.get("crisis")
                if crisis is not None and getattr(crisis.hook, "matches", None) is not None:
                    if crisis.hook.matches(frame.body):  # type: ignore[attr-defined]
                        await self.moderation.review.crisis_unheard(
                            conn, view, frame.body, UNHEARD[result.code]
                        )
            return [
                error_frame(
                    result.code, result.message, frame.ref, result.retry_after, result.reason
                )
            ]
        if result.duplicate:
            return [with_ref(result.frame, frame.ref) if frame.ref is not None else result.frame]
        return []

    async def _permissions(self, draft: Draft) -> Refusal | None:
        conn, room = draft.conn, self.views.get(draft.conn.room, draft.room)
        draft.room = room
        if draft.extra.get("approved"):
            return None
        # Mutes bind facilitators too (an admin may mute one); lock and slow mode do not.
        muted = await self.muted_until(room.slug, conn.user_id)
        if muted is not False:
            return Refusal("muted", "a facilitator has muted you for now")
        if conn.moderator:
            return None
        if room.locked:
            return Refusal("locked", "only facilitators may post while the room is locked")
        if room.slow_mode_seconds > 0:
            last = await self.backplane.log.last_sent(room.slug, conn.user_id)
            if last is not None:
                wait = last + room.slow_mode_seconds - time.time()
                if wait > 0:
                    return Refusal("slow_mode", "slow mode is on", wait)
        return None

    async def muted_until(self, slug: str, user_id: str) -> int | None | bool:
        """False if not muted; else when the mute ends (ms), None for until unmuted."""
        if self.moderation is None:
            return False
        mutes = self.mutes.get(slug)
        if mutes is None or slug not in self.hub.rooms:
            mutes = await self.moderation.state.mutes(slug)
            if slug in self.hub.rooms:
                self.mutes[slug] = mutes
        if user_id not in mutes:
            return False
        until = mutes[user_id]
        if until is not None and until <= time.time() * 1000:
            mutes.pop(user_id, None)
            return False
        return until

    async def publish_held(self, view: RoomView, held: dict[str, Any]) -> None:
        """Send a held message a facilitator approved, as its author, through the rest of
        the pipeline (recording included)."""
        author = held["author"]
        conn = Conn(
            id="held",
            room=view.slug,
            user_id=str(author["id"]),
            username=str(held.get("username", "")),
            display_name=str(author["display_name"]),
            is_admin=False,
            role=str(author["role"]),
            session_id="",
            queue_size=1,
        )
        draft = Draft(
            conn, view, str(held["body"]), None, id=str(held["held_id"]), ts=int(held["ts"])
        )
        draft.extra["approved"] = True
        await self.pipeline.run(draft)

    async def _react(self, conn: Conn, view: RoomView, frame: React) -> list[str]:
        if frame.reaction not in REACTIONS:
            return [error_frame("invalid", "reaction must be nod, heart, hug or clap", frame.ref)]
        found = await self.backplane.log.locate(frame.message_id)
        if found is None or found[0] != view.slug:
            return [error_frame("not_found", "no such message", frame.ref)]
        text = encode(
            {
                "type": "reaction",
                "message_id": frame.message_id,
                "user_id": conn.user_id,
                "reaction": frame.reaction,
            }
        )
        await self.publish(view.slug, _origin(conn, frame.ref), text)
        return []

    async def _consent(self, conn: Conn, view: RoomView, frame: Consent) -> list[str]:
        if view.transcripts != "opt_in":
            return [error_frame("forbidden", "this room keeps no transcript", frame.ref)]
        if self.consent_writer is not None:
            if not await self.consent_writer(view, conn.user_id, frame.recorded):
                return [error_frame("forbidden", "this room keeps no transcript", frame.ref)]
        else:
            async with self.db() as db:
                await room_store.set_consent(db, view.id, conn.user_id, frame.recorded)
        conn.extra["consent"] = frame.recorded
        reply: dict[str, Any] = {"type": "consent", "recorded": frame.recorded}
        if frame.ref is not None:
            reply["ref"] = frame.ref
        return [encode(reply)]

    # -- events from the backplane -------------------------------------------------------

    def _deliver(self, channel: str, data: str) -> None:
        if channel == CONTROL_CHANNEL:
            event = orjson.loads(data)
            if event.get("k") == "logout":
                for conn in self.all_sockets():
                    if conn.session_id == event.get("s"):
                        conn.stop(4401, "logged out")
            return
        self.hub.deliver(channel, data)

    def _on_epoch(self, room: str, sockets: list[Conn]) -> None:
        for conn in sockets:
            conn.stop(1012, "numbering restarted: enter again")

    def _on_control(
        self, room: str, header: dict[str, Any], frame: str, sockets: list[Conn]
    ) -> None:
        kind = header.get("k")
        listener = self.control_listeners.get(str(kind))
        if listener is not None:
            listener(room, header, frame, sockets)
            return
        if kind == "room":
            view = RoomView(**orjson.loads(frame))
            old = self.views.get(room)
            self.views[room] = view
            text = encode({"type": "room", "room": view.public()})
            for conn in sockets:
                if conn.live:
                    conn.offer(text)
            if old is None or old.access != view.access:
                for conn in sockets:
                    asyncio.create_task(self._recheck(conn))
        elif kind == "recheck":
            for conn in sockets:
                if conn.user_id == header.get("u"):
                    asyncio.create_task(self._recheck(conn))
        elif kind == "mod":
            apply_mod_event(self.hub, self.mutes, room, header, frame, sockets)
        elif kind == "close":
            for conn in sockets:
                if conn.user_id == header.get("u"):
                    conn.stop(int(header.get("code", 4403)), str(header.get("reason", "")))

    async def _recheck(self, conn: Conn) -> None:
        """Close a socket whose user may no longer be in the room; refresh its role."""
        try:
            async with self.db() as db:
                view = self.views.get(conn.room) or await room_store.room_by_slug(db, conn.room)
                if view is None:
                    conn.stop(4404, "room is gone")
                    return
                role = await room_store.role_of(db, view.id, conn.user_id)
                banned = await room_store.is_banned(db, view.id, conn.user_id)
        except Exception:
            log.exception("re-checking access failed")
            return
        if not may_enter(view, conn.is_admin, role, banned):
            conn.stop(4403, "no longer allowed in this room")
            return
        conn.role = effective_role(conn.is_admin, role)

    async def _presence_loop(self) -> None:
        interval = max(self.settings.presence_ttl_seconds / 3, 0.5)
        while True:
            await asyncio.sleep(interval)
            try:
                live = [
                    (c.room, c.user_id, c.id, encode(c.participant()))
                    for c in self.all_sockets()
                    if c.live
                ]
                await self.backplane.presence.heartbeat(live)
                for room in list(self.hub.rooms):
                    for gone in await self.backplane.presence.sweep(room):
                        frame = encode(
                            {"type": "presence", "user": orjson.loads(gone), "status": "left"}
                        )
                        await self.publish(room, {"a": "all"}, frame)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("presence heartbeat failed", exc_info=True)


def _view_state(view: RoomView) -> dict[str, Any]:
    return {name: getattr(view, name) for name in view.__dataclass_fields__}


def _user_view(conn: Conn) -> dict[str, Any]:
    return {
        "id": conn.user_id,
        "username": conn.username,
        "display_name": conn.display_name,
        "is_admin": conn.is_admin,
    }


def _origin(conn: Conn, ref: str | None) -> dict[str, Any]:
    header: dict[str, Any] = {"a": "all", "c": conn.id}
    if ref is not None:
        header["r"] = ref
    return header


def _pong(ref: str | None) -> str:
    return encode({"type": "pong", "ref": ref} if ref is not None else {"type": "pong"})
