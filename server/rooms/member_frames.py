"""The frames members send, once they are in a room: each one authorized and acted on.

`MemberFrames` is one collaborator of `Rooms` (server/rooms/live.py): it answers frames;
plugged-in parts handle the frame types registered in `RoomHooks.frame_handlers` (`hand`,
`report` and `mod` by moderation, `ask_facilitator` by check-ins).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from ..broker.base import RoomLog
from ..ops.metrics import SEND_SECONDS, refused
from ..wire.errors import Refuse
from ..wire.frames import (
    REACTIONS,
    AcceptAgreement,
    ClientFrame,
    Consent,
    Mod,
    Ping,
    React,
    Report,
    Send,
    Typing,
)
from ..wire.out import encode, with_ref
from .hooks import Reply, RoomHooks
from .hub import Conn, Header
from .sending import Draft, Held, SendPipeline
from .settings import RoomView

__all__ = ["RECALL_SENDS", "MemberFrames"]

# Sends checked for repeated refs before the pipeline, on a socket that resumed.
RECALL_SENDS = 100

Publish = Callable[[str, Header, str], Awaitable[None]]


class MemberFrames:
    """Member frames: send, typing, react, consent (and the plugged-in ones)."""

    def __init__(
        self,
        log: RoomLog,
        views: dict[str, RoomView],
        hooks: RoomHooks,
        pipeline: SendPipeline,
        publish: Publish,
    ) -> None:
        self._log = log
        self._views = views
        self._hooks = hooks
        self._pipeline = pipeline
        self._publish = publish

    async def _recorded(self, view: RoomView, message_id: str) -> bool:
        """Whether the transcript keeps this message (known while recorded, past 24 h)."""
        for read in self._hooks.message_readers:
            if await read(view, message_id) is not None:
                return True
        return False

    async def handle(self, conn: Conn, frame: ClientFrame) -> Sequence[Reply]:
        """Act on one decoded frame; returns the replies for this socket alone (refusals...)."""
        view = self._views.get(conn.room)
        if view is None:
            return [Refuse("not_found", "room is gone", frame.ref)]
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
                await self._publish(view.slug, Header(audience="others", user=conn.user_id), text)
                return []
            case React():
                return await self._react(conn, view, frame)
            case Consent():
                return await self._consent(conn, view, frame)
            case AcceptAgreement():
                return []
        plugged = self._hooks.frame_handlers.get(type(frame))
        if plugged is not None:
            return await plugged(conn, view, frame)
        if isinstance(frame, Report | Mod):
            return [Refuse("forbidden", "moderation is not available here", frame.ref)]
        return [Refuse("invalid", "unknown frame type", frame.ref)]

    async def _send(self, conn: Conn, view: RoomView, frame: Send) -> Sequence[Reply]:
        if frame.ref is not None and conn.recall_left > 0:
            # A resuming client resends what it saw no echo for: answer a repeat with the
            # original before any step runs (slow mode, hooks), as the contract promises.
            conn.recall_left -= 1
            original = await self._log.recall(view.slug, f"{conn.user_id}:{frame.ref}")
            if original is not None:
                return [with_ref(original.frame, frame.ref)]
        result = await self._pipeline.run(Draft(conn, view, frame.body, frame.ref))
        if isinstance(result, Held):
            refused("held")
            return []
        if isinstance(result, Refuse):
            refused(result.code)
            for listener in self._hooks.refused:
                await listener(conn, view, frame.body, result)
            return [result.answering(frame.ref)]
        if result.duplicate:
            return [with_ref(result.frame, frame.ref) if frame.ref is not None else result.frame]
        return []

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
            conn,
            view,
            str(held["body"]),
            None,
            id=str(held["held_id"]),
            ts=int(held["ts"]),
            approved=True,
        )
        await self._pipeline.run(draft)

    async def _react(self, conn: Conn, view: RoomView, frame: React) -> Sequence[Reply]:
        if frame.reaction not in REACTIONS:
            return [Refuse("invalid", "reaction must be nod, heart, hug or clap", frame.ref)]
        found = await self._log.locate(frame.message_id)
        if (found is None or found[0] != view.slug) and not await self._recorded(
            view, frame.message_id
        ):
            return [Refuse("not_found", "no such message", frame.ref)]
        text = encode(
            {
                "type": "reaction",
                "message_id": frame.message_id,
                "user_id": conn.user_id,
                "reaction": frame.reaction,
            }
        )
        await self._publish(view.slug, origin(conn, frame.ref), text)
        return []

    async def _consent(self, conn: Conn, view: RoomView, frame: Consent) -> Sequence[Reply]:
        if view.transcripts != "opt_in":
            return [Refuse("forbidden", "this room keeps no transcript", frame.ref)]
        writer = self._hooks.consent_writer
        if writer is None or not await writer(view, conn.user_id, frame.recorded):
            return [Refuse("forbidden", "this room keeps no transcript", frame.ref)]
        reply: dict[str, Any] = {"type": "consent", "recorded": frame.recorded}
        if frame.ref is not None:
            reply["ref"] = frame.ref
        return [encode(reply)]


def origin(conn: Conn, ref: str | None) -> Header:
    """The header of a frame everyone gets, its sender's socket with `ref`."""
    return Header(conn=conn.id, ref=ref)


def _pong(ref: str | None) -> str:
    return encode({"type": "pong", "ref": ref} if ref is not None else {"type": "pong"})
