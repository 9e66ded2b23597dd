"""Who consents to be recorded where. The database is the truth; each process keeps a cache
so that deciding whether to record a message costs no query.

Across processes: a consent change is stored, then announced on the room's channel as a
`consent` control event; every other process with sockets in the room drops its cached
answer and asks the database at that user's next message. A process without sockets in the
room is not subscribed and misses the event, but it re-reads whenever a socket enters
(`welcome` needs the answer anyway), and no socket can send before entering. Two nets catch
the rest (an event lost while Redis reconnects): cached answers expire after `ttl`, and the
group writer checks consent in the database in the transaction that stores a row, so a
withdrawn consent is never acted on, whatever a cache says.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import async_sessionmaker

from ..rooms.hub import Conn, Header
from ..rooms.settings import RoomView
from ..store.engine import DbSession, without_transaction
from . import store

__all__ = ["CONSENT_EVENT", "ConsentBook"]

log = logging.getLogger("hearth.transcripts")

CONSENT_EVENT = "consent"
TTL_SECONDS = 60.0
MAX_ENTRIES = 100_000

Publish = Callable[[str, Header, str], Awaitable[None]]


class ConsentBook:
    """Consent per (room, user): cached reads, stored changes, cross-process invalidation."""

    def __init__(
        self,
        db: async_sessionmaker[DbSession],
        publish: Publish,
        ttl: float = TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._publish = publish
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[tuple[str, str], tuple[bool, float]] = {}
        # Bumped by every change or invalidation: a read that overlapped one is not kept.
        self._changes = 0
        self.process = secrets.token_hex(8)

    async def consents(self, room: RoomView, user_id: str) -> bool:
        """Whether the user's messages in this room are to be recorded now (the hot path:
        answered from the cache while it is fresh)."""
        if room.transcripts != "opt_in":
            return False
        entry = self._entries.get((room.id, user_id))
        if entry is not None and self._clock() - entry[1] < self._ttl:
            return entry[0]
        return await self.load(room, user_id)

    async def load(self, room: RoomView, user_id: str) -> bool:
        """The stored consent, read now (and cached unless it changed meanwhile)."""
        seen = self._changes
        async with self._db() as db:
            await without_transaction(db)
            value = await store.consent_of(db, room.id, user_id)
        if seen == self._changes:
            self._keep((room.id, user_id), value)
        return value

    async def on_entry(self, room: RoomView, user_id: str) -> bool:
        """`welcome`'s `you.consent` (Rooms.consent_reader): read fresh, priming the cache."""
        if room.transcripts != "opt_in":
            return False
        return await self.load(room, user_id)

    async def change(self, room: RoomView, user_id: str, recorded: bool) -> bool:
        """A `consent` frame (Rooms.consent_writer): store it and tell the other processes.
        False, storing nothing, if the room does not record (any more)."""
        key = (room.id, user_id)
        self._changes += 1
        async with self._db() as db:
            stored = await store.set_consent_if_recording(db, room.id, user_id, recorded)
        self._changes += 1
        if not stored:
            self._entries.pop(key, None)
            return False
        self._keep(key, recorded)
        header = Header(
            kind="control",
            event=CONSENT_EVENT,
            user=user_id,
            data={"room_id": room.id, "p": self.process},
        )
        try:
            await self._publish(room.slug, header, "{}")
        except Exception:  # stored; other processes catch up through the nets above
            log.warning("could not announce a consent change to the other processes")
        return True

    def forget(self, room_id: str, user_id: str) -> None:
        """Drop a cached answer: the next message asks the database."""
        self._changes += 1
        self._entries.pop((room_id, user_id), None)

    def on_event(self, room: str, header: Header, frame: str, sockets: list[Conn]) -> None:
        """A `consent` control event from the room's channel (Rooms.control_listeners)."""
        if header.data.get("p") != self.process:
            self.forget(str(header.data.get("room_id")), str(header.user))

    def _keep(self, key: tuple[str, str], value: bool) -> None:
        now = self._clock()
        if len(self._entries) >= MAX_ENTRIES:
            stale = [k for k, (_, at) in self._entries.items() if now - at >= self._ttl]
            for old in stale:
                del self._entries[old]
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
        self._entries[key] = (value, now)
