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

Once published, the row is given its `seq` with a later batch of the group writer; nobody
waits for that: until then, the transcript places the row by the room log (`transcript.py`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ..broker.base import Appended
from ..rooms.sending import PASS, Draft, Verdict
from ..sealing import Sealer
from ..store.ids import now_ms
from ..wire.errors import Refuse
from .bodies import sealed_row
from .consent import ConsentBook
from .writer import GroupWriter

__all__ = ["NOT_STORED", "Recorder"]

log = logging.getLogger("hearth.transcripts")

NOT_STORED = Refuse(
    "unavailable", "not sent: the transcript cannot be saved right now; try again in a moment"
)


class Recorder:
    """Decides, seals and stores before the message is published; numbers the row after."""

    def __init__(self, book: ConsentBook, writer: GroupWriter, sealer: Sealer) -> None:
        self.book = book
        self.writer = writer
        self.sealer = sealer

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
        draft.after.append(self._numbering(room.id, draft.id))
        return PASS

    def _numbering(self, room_id: str, message_id: str) -> Callable[[Appended], Awaitable[None]]:
        async def number(appended: Appended) -> None:
            # Not awaited: neither the sender nor any delivery waits for a transaction.
            done = self.writer.number_soon(room_id, message_id, appended.seq, appended.epoch)
            done.add_done_callback(_numbered)

        return number


def _numbered(done: asyncio.Future[bool]) -> None:
    failed = None if done.cancelled() else done.exception()
    if failed is not None:  # `orphans.py` numbers the row later
        log.warning("numbering a recorded message failed (%s)", _name(failed))


def _name(exc: BaseException) -> str:
    return type(exc).__name__
