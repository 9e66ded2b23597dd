"""The send pipeline: validate → permissions → moderation hooks → record → publish.

Each step takes the `Draft` and either lets it go on (returns None) or stops it with a
`Refusal` that becomes the sender's `error` frame. Later parts add steps (hooks, recording)
without rewriting the others. Nothing here touches the database unless a step records.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..broker.base import Append, Appended, RoomLog
from ..wire.out import MessageFields, message_fields
from ..wire.text import body_problem
from .hub import Conn, Header
from .settings import RoomView

__all__ = ["Draft", "Refusal", "SendPipeline", "Step"]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a send was stopped: the `error` frame's code, message and optional retry_after."""

    code: str
    message: str
    retry_after: float | None = None
    reason: str | None = None  # `rejected`: the hook's reason
    silent: bool = False  # the author was already told another way (a held message)


@dataclass(slots=True)
class Draft:
    """A message on its way through the pipeline."""

    conn: Conn
    room: RoomView
    body: str
    ref: str | None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    ts: int = field(default_factory=lambda: int(time.time() * 1000))
    recorded: bool = False
    # Run after the message is published (flags, private notices): set by hooks.
    after: list[Callable[[Appended], Awaitable[None]]] = field(default_factory=list)
    hold: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


Step = Callable[[Draft], Awaitable[Refusal | None]]


def check_body(draft: Draft) -> Refusal | None:
    """The body rules of PROTOCOL §3."""
    problem = body_problem(draft.body, draft.room.max_message_chars)
    return None if problem is None else Refusal(*problem)


class SendPipeline:
    """Runs the steps in order, then numbers and publishes the message through the room log."""

    def __init__(
        self,
        log: RoomLog,
        known: Callable[[str], tuple[str, int] | None],
        seen: Callable[[str, Appended], None],
    ) -> None:
        self._log = log
        self._known = known
        self._seen = seen
        self.steps: list[Step] = []

    async def run(self, draft: Draft) -> Appended | Refusal:
        """The published message, or the refusal that stopped it."""
        refusal = check_body(draft)
        if refusal is not None:
            return refusal
        for step in self.steps:
            refusal = await step(draft)
            if refusal is not None:
                return refusal
        return await self.publish(draft)

    async def publish(self, draft: Draft) -> Appended:
        """Number, keep and fan out the message (once; a repeated ref returns the original)."""
        conn, room = draft.conn, draft.room
        fields = MessageFields(
            draft.id, room.slug, conn.participant(), draft.body, draft.ts, draft.recorded
        )
        appended = await self._log.append(
            Append(
                room=room.slug,
                message_id=draft.id,
                author_id=conn.user_id,
                fields=message_fields(fields),
                # `recorded`: every process holds the room's deliveries until the recorder
                # says this message is numbered in the transcript (rooms/hold.py).
                header=Header(kind="message", conn=conn.id, ref=draft.ref, recorded=draft.recorded),
                ref_key=None if draft.ref is None else f"{conn.user_id}:{draft.ref}",
                window_seconds=room.resume_window_seconds,
                known=self._known(room.slug),
            )
        )
        self._seen(room.slug, appended)
        if not appended.duplicate:
            for after in draft.after:
                await after(appended)
        return appended
