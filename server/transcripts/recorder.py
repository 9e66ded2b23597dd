"""The recording step of the send pipeline (the last step: after moderation hooks).

A message is recorded iff its author consents in the room, the room records (`opt_in`, read
from the live room view) and the row is committed before the message is published. Nothing
of a message that is not recorded reaches the database or the logs.

When the database fails (or does not answer within the writer's wait, or a consent the
cache does not hold cannot be read), the message is not sent at all: the author gets
`unavailable` and may retry. Sending it unrecorded instead would silently break the
author's choice to have it recorded; and marking it recorded would be a lie. The row of a
message refused this way may still be committed later, unnumbered: it never enters the
transcript and `orphans.py` deletes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ..broker.base import Appended
from ..rooms.hub import Header
from ..rooms.sending import PASS, Draft, Verdict
from ..sealing import Sealer
from ..store.ids import now_ms
from ..wire.errors import Refuse
from .bodies import sealed_row
from .consent import ConsentBook
from .writer import GroupWriter

__all__ = ["NOT_STORED", "Recorder"]

log = logging.getLogger("hearth.transcripts")

# Publishes (room slug, header, frame) to every process: Rooms.publish.
Announce = Callable[[str, Header, str], Awaitable[None]]

NOT_STORED = Refuse(
    "unavailable", "not sent: the transcript cannot be saved right now; try again in a moment"
)


class Recorder:
    """Decides, seals and stores; numbers the row once the message is published, before
    any process delivers it."""

    def __init__(
        self, book: ConsentBook, writer: GroupWriter, sealer: Sealer, announce: Announce
    ) -> None:
        self.book = book
        self.writer = writer
        self.sealer = sealer
        self._announce = announce
        self._numbering_tasks: set[asyncio.Task[None]] = set()
        self._announced: dict[str, list[int]] = {}  # room slug → seqs numbered, to announce

    async def __call__(self, draft: Draft) -> Verdict:
        """The pipeline step: sets `draft.recorded` once the row is durable; refuses the send
        (`unavailable`) when it cannot be stored."""
        room, user_id = draft.room, draft.conn.user_id
        if room.transcripts != "opt_in":
            return PASS
        try:
            if not await self.book.consents(room, user_id):
                return PASS
            stored = await self.writer.store(sealed_row(self.sealer, room.id, draft, now_ms()))
        except Exception as exc:  # consent unknown (cache miss) or the row not stored
            log.warning("a recorded message was not sent: storing it failed (%s)", _name(exc))
            return NOT_STORED
        if not stored:  # the database says the author no longer consents: our cache was old
            self.book.forget(room.id, user_id)
            return PASS
        draft.recorded = True
        draft.after.append(self._numbering(room.id, room.slug, draft.id))
        return PASS

    def _numbering(
        self, room_id: str, slug: str, message_id: str
    ) -> Callable[[Appended], Awaitable[None]]:
        async def number(appended: Appended) -> None:
            # Not awaited by the sender: its next frame does not wait for a transaction.
            task = asyncio.create_task(self._number(room_id, slug, message_id, appended))
            self._numbering_tasks.add(task)
            task.add_done_callback(self._numbering_tasks.discard)

        return number

    async def _number(self, room_id: str, slug: str, message_id: str, appended: Appended) -> None:
        """Commit the row's number (with the writer's next batch), then tell every process
        the room's deliveries may go on (`rooms/hold.py`)."""
        try:
            await self.writer.number(room_id, message_id, appended.seq, appended.epoch)
        except Exception as exc:  # `orphans.py` numbers the row later
            log.warning("numbering a recorded message failed (%s)", _name(exc))
        # The numbers of one batch are settled together (their waiters wake in one pass of
        # the loop): one announcement per room for all of them, sent after that pass.
        if not self._announced:
            asyncio.get_running_loop().call_soon(self._announce_soon)
        self._announced.setdefault(slug, []).append(appended.seq)

    def _announce_soon(self) -> None:
        rooms, self._announced = self._announced, {}
        task = asyncio.create_task(self._announce_all(rooms))
        self._numbering_tasks.add(task)
        task.add_done_callback(self._numbering_tasks.discard)

    async def _announce_all(self, rooms: dict[str, list[int]]) -> None:
        for slug, seqs in rooms.items():
            try:
                await self._announce(slug, Header(kind="numbered", seqs=tuple(seqs)), "{}")
            except Exception as exc:  # the hold ends by itself
                log.warning("announcing numbered messages failed (%s)", _name(exc))

    async def close(self, timeout: float) -> None:
        """Wait (at most `timeout` seconds) for numberings under way."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._numbering_tasks and loop.time() < deadline:  # announcements come after
            await asyncio.wait(set(self._numbering_tasks), timeout=deadline - loop.time())
            await asyncio.sleep(0)


def _name(exc: BaseException) -> str:
    return type(exc).__name__
