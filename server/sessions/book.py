"""Opening and ending sessions, and telling every socket (PROTOCOL §5 "Opening", "Ending",
"Frames"). The database decides who opened or ended a session; the winner alone audits and
publishes, so a race between processes yields one session and one `session` frame."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import orjson

from ..ops.flights import Flights
from ..rooms.hub import Conn, Header
from ..rooms.settings import RoomView
from ..store import audit as audit_store
from ..store.engine import without_transaction
from ..wire.out import encode
from . import records
from .clock import now_ms
from .schedule import next_start

if TYPE_CHECKING:
    from ..rooms.live import Rooms

__all__ = ["SESSION_EVENT", "SessionBook", "entry_of"]

log = logging.getLogger("hearth.sessions")

SESSION_EVENT = "session"
ENDED_CLOSE = (4410, "the session has ended")


def entry_of(view: RoomView) -> str:
    """The room's `entry` setting."""
    return str(view.extra.get("entry", "always"))


class SessionBook:
    """Open sessions as this process knows them, and the only way to open or end one."""

    def __init__(self, rooms: Rooms) -> None:
        self.rooms = rooms
        self.current: dict[str, dict[str, Any]] = {}  # slug -> open `session`
        # slug -> the hub's stretch (`Hub.local_since`) in which `current` was read from the
        # database: while it lasts, `session` events keep it true without another read.
        self._read_in: dict[str, int] = {}
        self._events: dict[str, int] = {}  # slug -> `session` events handled (see read_now)
        # The opening under way on arrival, and the reads of the open session, per slug.
        self._openings: Flights[str, dict[str, Any] | None] = Flights()
        self._reads: Flights[str, dict[str, Any] | None] = Flights()

    def public(self, view: RoomView) -> dict[str, Any]:
        """The read-only `session` and `next_session_at` of a room object."""
        schedule = view.extra.get("schedule") or []
        timezone = str(view.extra.get("timezone", "UTC"))
        return {
            "session": self.current.get(view.slug),
            "next_session_at": next_start(schedule, timezone, now_ms()),
        }

    async def refresh(self) -> None:
        """Reload every open session from the database."""
        async with self.rooms.db() as db:
            found = await records.open_sessions(db)
        self.current = {slug: records.session_view(row, slug) for row, slug in found}
        # An event handled during the read may be newer than what it found: trust nothing
        # read here; the next entry into each room reads its session again.
        self._read_in.clear()

    async def open_now(self, view: RoomView) -> dict[str, Any] | None:
        """The room's open session: as last read, if read in the stretch of local sockets
        still under way (its `session` events have kept it true since), else read from the
        database (a storm of reconnections into a room reads it once, not once a member)."""
        stretch = self.rooms.hub.local_since(view.slug)
        if stretch is not None and self._read_in.get(view.slug) == stretch:
            return self.current.get(view.slug)
        return await self._reads.share(view.slug, lambda: self.read_now(view))

    async def read_now(self, view: RoomView) -> dict[str, Any] | None:
        """The room's open session, read from the database (and remembered)."""
        slug = view.slug
        stretch = self.rooms.hub.local_since(slug)  # before the read: no event missed
        events = self._events.get(slug, 0)
        async with self.rooms.db() as db:
            await without_transaction(db)
            row = await records.current(db, view.id)
        session = None if row is None else records.session_view(row, slug)
        if self._events.get(slug, 0) != events:
            # An event came during the read, older or newer than it: keep what the event
            # said, and trust neither until a read that no event crosses.
            self._read_in.pop(slug, None)
            return session
        if stretch is None:
            self._read_in.pop(slug, None)
        else:
            self._read_in[slug] = stretch
        if session is None:
            self.current.pop(slug, None)
        else:
            self.current[slug] = session
        return session

    async def open_on_arrival(self, view: RoomView) -> dict[str, Any] | None:
        """Open the session of a room none is open in as someone arrives, or find the one
        another process opened meanwhile. The arrivals of one burst on this process share
        one attempt: each would otherwise try an insert that all but one see refused."""
        return await self._openings.share(view.slug, lambda: self._open_on_arrival(view))

    async def _open_on_arrival(self, view: RoomView) -> dict[str, Any] | None:
        session = await self.open(view, "arrival", None)
        if session is None:  # another process opened it at the same moment
            session = await self.read_now(view)
        return session

    async def open(
        self, view: RoomView, opened_by: str, actor: Conn | None, slot_at: int | None = None
    ) -> dict[str, Any] | None:
        """Open a session; None if one was open already (or the slot opened one before).
        Users present already attend from now."""
        now = now_ms()
        async with self.rooms.db() as db:
            row = await records.open_session(db, view.id, opened_by, now, slot_at)
            if row is None:
                return None
            members = await self.rooms.backplane.presence.members(view.slug)
            present = [orjson.loads(p) for p in members]
            stays = [
                records.stay_row(row.id, str(p["id"]), str(p.get("role", "member")), now)
                for p in present
            ]
            await records.ensure_stays(db, stays)  # one statement for all of them
            who = (actor.user_id, actor.username) if actor is not None else None
            await audit_store.write_entry(
                db, who, "open", view.slug, details={"session_id": str(row.id)}
            )
        session = records.session_view(row, view.slug)
        self.current[view.slug] = session
        log.info("session %s opened in %s by %s", row.id, view.slug, opened_by)
        await self._announce(view.slug, session, idle=False)
        return session

    async def end(self, view: RoomView, ended_by: str, audit: bool) -> dict[str, Any] | None:
        """End the open session (every stay in it ends too); None if none was open.
        `audit`: write the `end` entry as the server's own (a facilitator's `end` is
        audited by moderation)."""
        now = now_ms()
        async with self.rooms.db() as db:
            row = await records.current(db, view.id)
            if row is None or not await records.end_session(db, row.id, ended_by, now):
                return None
            if audit:
                await audit_store.write_entry(
                    db, None, "end", view.slug, details={"session_id": str(row.id)}
                )
        row.ended_at, row.ended_by = now, ended_by
        session = records.session_view(row, view.slug)
        self.current.pop(view.slug, None)
        log.info("session %s in %s ended (%s)", row.id, view.slug, ended_by)
        await self._announce(view.slug, session, idle=ended_by == "idle")
        return session

    async def _announce(self, slug: str, session: dict[str, Any], idle: bool) -> None:
        frame = encode({"type": "session", "session": session})
        header = Header(kind="control", event=SESSION_EVENT, data={"idle": idle})
        await self.rooms.publish(slug, header, frame)

    def on_event(self, room: str, header: Header, frame: str, sockets: list[Conn]) -> None:
        """A `session` frame reached this process: every socket gets it, waiting ones
        too; an opening lets the waiting go on entering, an idle ending closes them."""
        session = orjson.loads(frame)["session"]
        opened = session["ended_at"] is None
        self._events[room] = self._events.get(room, 0) + 1
        if opened:
            self.current[room] = session
        elif self.current.get(room, {}).get("id") == session["id"]:
            self.current.pop(room, None)
        for conn in sockets:
            if conn.live or conn.waiting:
                conn.offer(frame)
            else:
                conn.buffered.append((None, frame))
            if opened and conn.session_opened is not None:
                conn.session_opened.set()
            if header.data.get("idle") and conn.waiting:
                conn.stop(*ENDED_CLOSE)
