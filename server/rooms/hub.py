"""The local socket hub: this process's sockets per room, fed from the backplane.

Every publication arrives once per process (one subscription per room with local sockets);
the hub decodes it once (a typed `Publication`, broker/envelope.py) and writes its
already-encoded frame to each local socket its header's audience names, through the
socket's outbox (`outbox.py`): to the socket at once while it keeps up, to a bounded queue
while it does not. A socket whose queue is full is cut off, never waited for (websockets'
broadcast advice). Only numbered messages carry an epoch and a seq.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec

from ..broker.base import Appended, PubSub
from ..broker.envelope import (
    Audience,
    Header,
    Publication,
    decode_publication,
    room_channel,
    room_of_channel,
)
from ..ops.metrics import DELIVERIES
from ..wire.out import with_ref
from .outbox import Outbox, WriteBatch

__all__ = [
    "CONTROL_CHANNEL",
    "Audience",
    "GOING_AWAY",
    "Conn",
    "ControlHandler",
    "EpochHandler",
    "Header",
    "Hub",
    "Localizer",
    "Logout",
    "receives",
    "room_channel",
]

log = logging.getLogger("hearth.hub")

LINGER_SECONDS = 60.0  # a room's numbering is followed this long after its last socket left
SLOW_CLIENT_CLOSE = 1013  # Try Again Later: the client stopped reading; it may resume
GOING_AWAY = 1001  # the process is shutting down: reconnect (to another) and resume
# Process-wide events (a logout closes the session's sockets everywhere).
CONTROL_CHANNEL = "hearth:control"


class Logout(
    msgspec.Struct, frozen=True, gc=False, tag="logout", tag_field="k", rename={"session": "s"}
):
    """The event on CONTROL_CHANNEL of a logout: every process closes the session's sockets
    (`{"k":"logout","s":session id}`)."""

    session: str


class Localizer(Protocol):
    """Puts the server's own words (in frames and close reasons) in one reader's language;
    plugged in from outside (the connection loop), so rooms know nothing of languages."""

    def frame(self, text: str) -> str: ...

    def text(self, text: str) -> str: ...


@dataclass(eq=False, slots=True)
class Conn:
    """One local WebSocket in a room, as the hub and the room logic see it."""

    id: str
    room: str
    user_id: str
    username: str
    display_name: str
    is_admin: bool
    role: str
    session_id: str
    queue_size: int
    live: bool = False  # welcomed: receives frames in order
    waiting: bool = False  # in the waiting room
    welcome_seq: int = 0
    buffered: list[tuple[int | None, str]] = field(default_factory=list)
    queue: Outbox = field(init=False)
    stopped: bool = False
    busy: bool = False  # handling a frame: a shutdown lets it finish (a recorded write)
    close_code: int = 1000
    close_reason: str = ""
    present: bool = False  # joined the room's presence: leaving withdraws it
    recall_left: int = 0  # resends of a resuming client still answered from the sent refs
    admitted: asyncio.Event | None = None  # knocking at the waiting room: set once admitted
    session_opened: asyncio.Event | None = None  # waiting for a session: set once one opens
    on_stop: Callable[[], object] | None = None  # interrupts the connection loop's reading
    language: str = "en"  # the user's (PROTOCOL §7)
    localizer: Localizer | None = None  # puts the server's words in `language` (not English)

    def __post_init__(self) -> None:
        self.queue = Outbox(self.queue_size)

    @property
    def moderator(self) -> bool:
        """Facilitators and admins."""
        return self.role in ("facilitator", "admin")

    def participant(self) -> dict[str, Any]:
        """The contract's `participant` object for this socket's user."""
        return {"id": self.user_id, "display_name": self.display_name, "role": self.role}

    def offer(self, text: str) -> None:
        """Queue a frame; a full queue means the client stopped reading: cut it off."""
        if self.stopped:
            return
        if self.localizer is not None:
            text = self.localizer.frame(text)
        if not self.queue.put(text):
            self.stop(SLOW_CLIENT_CLOSE, "too slow: reconnect to resume")

    def stop(self, code: int, reason: str = "") -> None:
        """Ask the connection loop to close this socket with `code` (once)."""
        if not self.stopped:
            if self.localizer is not None:
                reason = self.localizer.text(reason)
            # A close reason is at most 123 bytes (RFC 6455 §5.5): cut on a character.
            reason = reason.encode()[:123].decode(errors="ignore")
            self.close_code, self.close_reason = code, reason
            self.stopped = True
            if self.on_stop is not None:
                self.on_stop()


def receives(conn: Conn, header: Header) -> bool:
    """Whether `conn` is in the audience `header` names."""
    match header.audience:
        case "all":
            return True
        case "others":
            return conn.user_id != header.user
        case "mods_user":
            return conn.moderator or conn.user_id == header.user
        case "mods":
            return conn.moderator
        case "user":
            return conn.user_id == header.user
        case "conn":
            return conn.id == header.conn
    return False


# Called for publications that are not frames to pass on (settings, closes, ends).
ControlHandler = Callable[[str, Header, str, list[Conn]], None]
# Called when a room's numbering restarted under a process that knew the old one.
EpochHandler = Callable[[str, list[Conn]], None]


class Hub:
    """Routes publications to local sockets; subscribes to rooms that have local sockets."""

    def __init__(
        self,
        pubsub: PubSub,
        on_control: ControlHandler,
        on_epoch: EpochHandler,
        linger_seconds: float = LINGER_SECONDS,
    ) -> None:
        self._pubsub = pubsub
        self._on_control = on_control
        self._on_epoch = on_epoch
        self._linger_seconds = linger_seconds
        self.rooms: dict[str, set[Conn]] = {}
        self.known: dict[str, tuple[str, int]] = {}
        # Rooms whose last local socket left lately: still subscribed, numbering followed.
        self._lingering: dict[str, asyncio.TimerHandle] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # room -> a number given when the room's first local socket came (and anew when the
        # pub/sub connection was lost): while it stays the same, every control event of the
        # room reached this process's handlers (a lingering room's events are not handled).
        self._local_since: dict[str, int] = {}
        self._stretches = 0
        # What a burst of publications puts to one socket leaves in one write (outbox.py).
        self.batch = WriteBatch()

    async def attach(self, conn: Conn) -> None:
        """Start routing the room's publications to `conn` (buffered until it is live)."""
        lock = self._locks.setdefault(conn.room, asyncio.Lock())
        async with lock:
            members = self.rooms.setdefault(conn.room, set())
            members.add(conn)
            if len(members) == 1:
                handle = self._lingering.pop(conn.room, None)
                if handle is not None:
                    handle.cancel()  # still subscribed
                else:
                    await self._pubsub.subscribe(room_channel(conn.room))
                self._local_since[conn.room] = self._next_stretch()

    async def detach(self, conn: Conn) -> None:
        """Stop routing to `conn`. After the room's last local socket, the process stays
        subscribed for `linger_seconds`, following the numbering: if Redis loses it (an
        outage that closed the room's only socket), this process still restores it."""
        lock = self._locks.setdefault(conn.room, asyncio.Lock())
        async with lock:
            members = self.rooms.get(conn.room)
            if members is None:
                return
            members.discard(conn)
            if not members:
                del self.rooms[conn.room]
                self._local_since.pop(conn.room, None)
                self._linger(conn.room)

    def _linger(self, room: str) -> None:
        loop = asyncio.get_running_loop()
        old = self._lingering.pop(room, None)
        if old is not None:
            old.cancel()

        def expire() -> None:
            task = loop.create_task(self._forget(room))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        self._lingering[room] = loop.call_later(self._linger_seconds, expire)

    async def _forget(self, room: str) -> None:
        lock = self._locks.setdefault(room, asyncio.Lock())
        async with lock:
            if room in self.rooms:
                return
            self._lingering.pop(room, None)
            self.known.pop(room, None)
            try:
                await self._pubsub.unsubscribe(room_channel(room))
            except Exception:  # the backend is down; the reader resubscribes what it holds
                log.warning("unsubscribing from a room failed", exc_info=True)
        if room not in self.rooms and not lock.locked():
            self._locks.pop(room, None)

    async def close(self) -> None:
        """Stop lingering (the process is shutting down)."""
        for handle in self._lingering.values():
            handle.cancel()
        self._lingering.clear()

    def numbered(self, room: str, appended: Appended) -> None:
        """Remember the numbering this process itself just used (for restoring it)."""
        known = self.known.get(room)
        if room in self.rooms and (known is None or known[0] == appended.epoch):
            self.known[room] = (appended.epoch, max(appended.seq, known[1] if known else 0))

    def backplane_interrupted(self) -> list[Conn]:
        """The pub/sub connection was lost: publications may be missing. Every local socket
        must resume; rooms whose sockets are gone are followed a while longer."""
        for room in list(self._lingering):
            self._linger(room)
        for room in self._local_since:
            self._local_since[room] = self._next_stretch()
        return [conn for conns in self.rooms.values() for conn in conns]

    def local_since(self, room: str) -> int | None:
        """The current unbroken stretch in which the room's control events reach this
        process (it has local sockets, and the pub/sub connection held); None outside one.
        What a process learned of the room in a stretch stays true while it lasts."""
        return self._local_since.get(room)

    def _next_stretch(self) -> int:
        self._stretches += 1
        return self._stretches

    def go_live(self, conn: Conn, seq: int) -> list[str]:
        """Mark `conn` welcomed at `seq`; return buffered frames it must still receive."""
        conn.live, conn.welcome_seq = True, seq
        pending = [text for s, text in conn.buffered if s is None or s > seq]
        conn.buffered.clear()
        return pending

    def deliver(self, channel: str, data: str | bytes) -> None:
        """Route one publication (called by the pub/sub reader, never awaits); in a burst
        the frames it puts to sockets wait in the batch until the burst ends."""
        room = room_of_channel(channel)
        sockets = self.rooms.get(room)
        if not sockets:
            if room in self._lingering:
                self._follow(room, decode_publication(data))
            return
        publication = decode_publication(data)
        header = publication.header
        match header.kind:
            case "control":
                self._on_control(room, header, publication.frame_text(), list(sockets))
            case "message":
                if self._renumbered(room, publication, sockets):
                    return
                self.route(sockets, header, publication.frame_text(), publication.seq)
            case "frame":
                self.route(sockets, header, publication.frame_text(), None)
            # "numbered": published by processes of an earlier version (rolling deploys).

    def _renumbered(self, room: str, publication: Publication, sockets: set[Conn]) -> bool:
        """Follow the room's numbering; True if it restarted (a new epoch) under us."""
        known = self.known.get(room)
        if known is not None and known[0] != publication.epoch:
            self.known[room] = (publication.epoch, publication.seq)
            self._on_epoch(room, list(sockets))
            return True
        self.known[room] = (publication.epoch, max(publication.seq, known[1] if known else 0))
        return False

    def _follow(self, room: str, publication: Publication) -> None:
        """A numbered message in a room with no local socket left: remember its place."""
        if publication.header.kind == "message":
            known = self.known.get(room)
            seq = publication.seq
            if known is None or known[0] != publication.epoch or known[1] < seq:
                self.known[room] = (publication.epoch, seq)

    def route(
        self, sockets: Iterable[Conn], header: Header, frame: str, seq: int | None = None
    ) -> None:
        """Queue `frame` for the sockets its header's audience names (the origin gets `ref`);
        a socket not yet welcomed keeps it for later, one welcomed at or after `seq` skips it."""
        ref, origin = header.ref, header.conn
        delivered = 0
        for conn in sockets:
            if not receives(conn, header):
                continue
            text = with_ref(frame, ref) if ref is not None and conn.id == origin else frame
            if conn.live:
                if seq is None or seq > conn.welcome_seq:
                    conn.offer(text)
                    delivered += 1
            elif not conn.waiting:
                conn.buffered.append((seq, text))
        if seq is not None and delivered:
            DELIVERIES.inc(delivered)  # once per publication, not per copy
