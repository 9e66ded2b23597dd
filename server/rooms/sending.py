"""The send pipeline: its steps in their one declared order, then numbering and publishing.

Each step takes the `Draft` and answers `Pass` (go on), a `Refuse` (the sender's `error`
frame) or `Held` (kept for review; the author was told another way). The rooms place their
own steps, other parts theirs (moderation, transcripts), each in a named slot of
`SEND_STEPS`: the order is written here, not by the order parts register in. Nothing here
touches the database unless a step records.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..broker.base import Append, Appended, RoomLog
from ..store.ids import now_ms
from ..wire.errors import Refuse
from ..wire.out import MessageFields, message_fields
from .hub import Conn, Header
from .settings import RoomView

__all__ = ["PASS", "SEND_STEPS", "Draft", "Held", "Pass", "SendPipeline", "Step", "Verdict"]

# The slots of the pipeline, in order. `body`: PROTOCOL §3's body rules; `mute`: a
# facilitator's mute (binds facilitators too); `permissions`: lock and slow mode;
# `moderation`: the hooks (reject, hold, flag); `record`: the transcript, last, so that
# nothing refused later is ever stored. Then the message is numbered and published.
SEND_STEPS = ("body", "mute", "permissions", "moderation", "record")


@dataclass(frozen=True, slots=True)
class Pass:
    """The step lets the message go on."""


@dataclass(frozen=True, slots=True)
class Held:
    """The message is kept for a facilitator's review; its author was told privately."""


PASS = Pass()
Verdict = Pass | Refuse | Held


@dataclass(slots=True)
class Draft:
    """A message on its way through the pipeline."""

    conn: Conn
    room: RoomView
    body: str
    ref: str | None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    ts: int = field(default_factory=now_ms)
    recorded: bool = False
    approved: bool = False  # a held message a facilitator approved: reviewed already
    # Run after the message is published (flags, numbering its transcript row): set by steps.
    after: list[Callable[[Appended], Awaitable[None]]] = field(default_factory=list)


class Step(Protocol):
    """One step of the pipeline."""

    async def __call__(self, draft: Draft) -> Verdict:
        """Whether the draft goes on."""
        ...


class SendPipeline:
    """Runs the placed steps in `SEND_STEPS` order, then numbers and publishes the message
    through the room log."""

    def __init__(
        self,
        log: RoomLog,
        known: Callable[[str], tuple[str, int] | None],
        seen: Callable[[str, Appended], None],
    ) -> None:
        self._log = log
        self._known = known
        self._seen = seen
        self._steps: dict[str, Step] = {}

    def place(self, slot: str, step: Step) -> None:
        """Put `step` in its slot (one of `SEND_STEPS`, each taken once)."""
        if slot not in SEND_STEPS:
            raise ValueError(f"no such pipeline slot: {slot}")
        if slot in self._steps:
            raise ValueError(f"pipeline slot already taken: {slot}")
        self._steps[slot] = step

    @property
    def steps(self) -> list[str]:
        """The slots that hold a step, in the order they run."""
        return [slot for slot in SEND_STEPS if slot in self._steps]

    async def run(self, draft: Draft) -> Appended | Refuse | Held:
        """The published message, or the verdict that stopped it."""
        for slot in SEND_STEPS:
            step = self._steps.get(slot)
            if step is None:
                continue
            verdict = await step(draft)
            if not isinstance(verdict, Pass):
                return verdict
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
                header=Header(kind="message", conn=conn.id, ref=draft.ref),
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
