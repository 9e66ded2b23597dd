"""The frames members send, once they are in a room: each one authorized and acted on.

A mixin of `Rooms` (server/rooms/live.py), which holds the state these methods use.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..broker.base import Backplane
from ..ops.metrics import SEND_SECONDS, refused
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
from .hub import Conn, Header, Hub
from .sending import Draft, Refusal, SendPipeline
from .settings import RoomView

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from ..moderation import Moderation

__all__ = ["MemberFrames"]

# Sends checked for repeated refs before the pipeline, on a socket that resumed.
RECALL_SENDS = 100
# Refusals after which a crisis message still reaches the facilitators.
UNHEARD = {"muted": "muted", "locked": "the room was locked", "slow_mode": "slow mode was on"}


class MemberFrames:
    """Member frames: send, typing, react, hand, consent, report and mod."""

    backplane: Backplane
    db: async_sessionmaker[DbSession]
    hub: Hub
    pipeline: SendPipeline
    views: dict[str, RoomView]
    moderation: Moderation | None
    mutes: dict[str, dict[str, int | None]]
    mute_changes: dict[str, int]
    consent_writer: Callable[[RoomView, str, bool], Awaitable[bool]] | None

    message_readers: list[Callable[[RoomView, str], Awaitable[dict[str, Any] | None]]]
    frame_handlers: dict[type, Callable[[Conn, RoomView, Any], Awaitable[list[str]]]]

    async def publish(self, slug: str, header: Header, frame: str) -> None:
        raise NotImplementedError

    async def _recorded(self, view: RoomView, message_id: str) -> bool:
        """Whether the transcript keeps this message (known while recorded, past 24 h)."""
        for read in self.message_readers:
            if await read(view, message_id) is not None:
                return True
        return False

    async def handle(self, conn: Conn, frame: ClientFrame) -> list[str]:
        """Act on one decoded frame; returns the frames for this socket alone (errors...)."""
        view = self.views.get(conn.room)
        if view is None:
            return [error_frame("not_found", "room is gone", frame.ref)]
        match frame:
            case Ping():
                return [_pong(frame.ref)]
            case Send():
                started = time.perf_counter()
                replies = await self._send(conn, view, frame)
                SEND_SECONDS.observe(time.perf_counter() - started)
                return replies
            case Typing():
                text = encode({"type": "typing", "user_id": conn.user_id})
                await self.publish(view.slug, Header(audience="others", user=conn.user_id), text)
                return []
            case React():
                return await self._react(conn, view, frame)
            case Hand():
                if self.moderation is not None:
                    await self.moderation.state.set_hand(view.slug, conn.user_id, frame.raised)
                text = encode({"type": "hand", "user_id": conn.user_id, "raised": frame.raised})
                await self.publish(view.slug, Header(conn=conn.id, ref=frame.ref), text)
                return []
            case Consent():
                return await self._consent(conn, view, frame)
            case AcceptAgreement():
                return []
            case Report() | Mod():
                return await self.moderation_frame(conn, view, frame)
        plugged = self.frame_handlers.get(type(frame))
        if plugged is not None:
            return await plugged(conn, view, frame)
        return [error_frame("invalid", "unknown frame type", frame.ref)]

    async def moderation_frame(self, conn: Conn, view: RoomView, frame: Report | Mod) -> list[str]:
        """Reports (any member) and facilitator actions."""
        if self.moderation is None:
            return [error_frame("forbidden", "moderation is not available here", frame.ref)]
        if isinstance(frame, Mod):
            return await self.moderation.actions.handle(conn, view, frame)
        problem = await self.moderation.review.report(conn, view, frame.message_id, frame.reason)
        if problem is not None:
            code, message, retry_after = problem
            return [error_frame(code, message, frame.ref, retry_after)]
        reply: dict[str, Any] = {"type": "report_received", "message_id": frame.message_id}
        if frame.ref is not None:
            reply["ref"] = frame.ref
        return [encode(reply)]

    async def _send(self, conn: Conn, view: RoomView, frame: Send) -> list[str]:
        if frame.ref is not None and conn.extra.get("recall_left", 0) > 0:
            # A resuming client resends what it saw no echo for: answer a repeat with the
            # original before any step runs (slow mode, hooks), as the contract promises.
            conn.extra["recall_left"] -= 1
            original = await self.backplane.log.recall(view.slug, f"{conn.user_id}:{frame.ref}")
            if original is not None:
                return [with_ref(original.frame, frame.ref)]
        result = await self.pipeline.run(Draft(conn, view, frame.body, frame.ref))
        if isinstance(result, Refusal):
            refused(result.code)
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
            changes = self.mute_changes.get(slug, 0)
            mutes = await self.moderation.state.mutes(slug)
            # Cache only if no mute event arrived while reading (it would be lost).
            if slug in self.hub.rooms and self.mute_changes.get(slug, 0) == changes:
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
        if (found is None or found[0] != view.slug) and not await self._recorded(
            view, frame.message_id
        ):
            return [error_frame("not_found", "no such message", frame.ref)]
        text = encode(
            {
                "type": "reaction",
                "message_id": frame.message_id,
                "user_id": conn.user_id,
                "reaction": frame.reaction,
            }
        )
        await self.publish(view.slug, Header(conn=conn.id, ref=frame.ref), text)
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


def _pong(ref: str | None) -> str:
    return encode({"type": "pong", "ref": ref} if ref is not None else {"type": "pong"})
