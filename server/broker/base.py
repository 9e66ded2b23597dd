"""The contracts every process-spanning backend keeps: fan-out, room log, presence, counters.

Each has two implementations side by side: in-process memory (one process, no services) and
Redis (several processes). The contract tests run one body against both.

Fan-out is at-most-once, like Django Channels' channel layer: a subscriber that is not
connected when a publication happens misses it; clients recover through the room log's
resume window. Payloads are text; the rooms publish the typed publications of
`envelope.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .envelope import Header

if TYPE_CHECKING:
    import redis.asyncio as aioredis
    from redis.asyncio.cluster import RedisCluster

__all__ = [
    "NO_BURSTS",
    "Append",
    "Appended",
    "Backplane",
    "Bursts",
    "Counters",
    "Delivery",
    "Presence",
    "PubSub",
    "Reconnected",
    "RoomLog",
    "WindowRead",
]

# Called by the pub/sub reader for every publication on a subscribed channel.
Delivery = Callable[[str, str | bytes], None]
# Called by the pub/sub reader once its connection came back after a loss: publications
# made meanwhile are lost to this process.
Reconnected = Callable[[], None]


class Bursts(Protocol):
    """What the pub/sub reader tells of bursts: `begin()` before delivering a publication
    read with more behind it (already buffered), `end()` once it has delivered all it had
    read, before waiting for more. The subscriber writes what a burst put to one socket in
    one write (rooms/outbox.py); a lone publication is no burst and waits for nothing."""

    def begin(self) -> None: ...

    def end(self) -> None: ...


class NoBursts:
    """The `Bursts` of a subscriber that batches nothing."""

    def begin(self) -> None:
        pass

    def end(self) -> None:
        pass


NO_BURSTS = NoBursts()


class PubSub(Protocol):
    """One subscription per process; publications reach every subscribed process."""

    name: str

    async def start(
        self, deliver: Delivery, reconnected: Reconnected, bursts: Bursts = NO_BURSTS
    ) -> None:
        """Begin delivering publications to `deliver(channel, data)`; call `reconnected()`
        whenever the connection came back after a loss (publications may be missing), and
        tell `bursts` where bursts of publications begin and end."""

    async def close(self) -> None:
        """Stop delivering and release connections."""

    async def subscribe(self, channel: str) -> None:
        """Receive publications on `channel` (idempotent)."""

    async def unsubscribe(self, channel: str) -> None:
        """Stop receiving publications on `channel` (idempotent)."""

    async def publish(self, channel: str, data: str | bytes) -> None:
        """Send `data` to every process subscribed to `channel`."""

    async def healthy(self) -> bool:
        """Whether the backend answers right now."""


@dataclass(frozen=True, slots=True)
class Append:
    """One message for `RoomLog.append` to number, keep and publish."""

    room: str
    message_id: str
    author_id: str
    fields: str  # the `message` frame's fields, encoded (wire/out.py: `message_fields`)
    header: Header  # the publication's header (kind `message`: who sent it, `ref`, recorded)
    ref_key: str | None  # the sender's ref (user id and ref): a repeat is not appended twice
    window_seconds: int  # the room's resume window (0: none is kept)
    known: tuple[str, int] | None  # this process's last (epoch, seq) of the room


@dataclass(frozen=True, slots=True)
class Appended:
    """Result of `RoomLog.append`: the finished frame and its place in the room's numbering."""

    seq: int
    epoch: str
    frame: str
    duplicate: bool  # the ref was seen before: `frame` is the original message


@dataclass(frozen=True, slots=True)
class WindowRead:
    """What the resume window holds for a room after some seq."""

    epoch: str
    seq: int  # the room's latest seq (0 if none)
    entries: list[tuple[int, str]]  # (seq, frame) after the asked seq, oldest first
    floor: int  # highest seq that has left the window (0 if none); -1 if none is kept at all
    ended: int = 0  # the room's seq when its session last ended (`end`), 0 if never


class RoomLog(Protocol):
    """Per-room numbering, the resume window, sent refs and message ids, in one place."""

    async def append(self, message: Append) -> Appended:
        """Number a message, keep it in the window, publish it on the room's channel
        (`envelope.numbered_publication`).

        Atomic: numbering, keeping and publishing happen in one step, so every subscriber
        receives a room's messages in seq order. If `ref_key` was appended within the window,
        nothing is published and the original frame comes back with `duplicate=True`.
        If the backend lost the numbering it resumes from `known` instead of starting a new
        epoch.
        """

    async def last_sent(self, room: str, user_id: str) -> float | None:
        """Unix time (s) of the user's last appended message in the room, if within a day."""

    async def position(self, room: str, known: tuple[str, int] | None = None) -> tuple[str, int]:
        """The room's (epoch, latest seq); creates the epoch if there is none yet, resuming
        from `known` (this process's last (epoch, seq)) when the backend lost it."""

    async def read(
        self, room: str, after_seq: int, window_seconds: int, upto: int | None = None
    ) -> WindowRead:
        """The window's messages after `after_seq` (and at most `upto`), oldest first,
        dropping those older than the window."""

    async def recall(self, room: str, ref_key: str) -> Appended | None:
        """The message appended with this ref within the window, or None (no side effects)."""

    async def locate(self, message_id: str) -> tuple[str, int, str] | None:
        """(room, seq, author id) of a message sent within the last 24 hours, or None."""

    async def remove(self, room: str, seqs: list[int]) -> None:
        """Take messages out of the window (deleted by a facilitator)."""

    async def mark_first_entry(self, room: str, user_id: str, seq: int) -> int:
        """Remember the seq at a user's first entry since the last `end`; returns the kept one."""

    async def reset(self, room: str) -> None:
        """Clear the window, refs and first entries (the room's session ended), remembering
        the seq it ended at (`WindowRead.ended`)."""


class Presence(Protocol):
    """Who is in which room, across processes; entries of a dead process expire."""

    async def join(self, room: str, user_id: str, conn_id: str, participant: str) -> bool:
        """Add a socket; True if it is the user's first in the room."""

    async def leave(self, room: str, user_id: str, conn_id: str) -> bool:
        """Remove a socket; True if it was the user's last in the room."""

    async def members(self, room: str) -> list[str]:
        """Encoded participants present in the room, each user once."""

    async def heartbeat(self, sockets: list[tuple[str, str, str, str]]) -> None:
        """Keep (room, user_id, conn_id, participant) entries of live local sockets from
        expiring, re-adding any the backend lost (a restarted Redis); a participant that
        changed (a role) is what `members` gives from then on."""

    async def sweep(self, room: str) -> list[str]:
        """Drop expired sockets; return encoded participants who have now left entirely."""


class Counters(Protocol):
    """Small shared values with expiry: throttles, clocks, flags."""

    async def hit(self, key: str, window_seconds: float, add: bool = True) -> int:
        """Record one event now (unless `add` is False); events in the last window."""

    async def claim(self, key: str, window_seconds: float, limit: int) -> str | None:
        """Atomically, record one event now if fewer than `limit` are in the last window:
        its id (for `release`), or None (nothing recorded) when the window is full."""

    async def release(self, key: str, event_id: str) -> None:
        """Forget an event recorded by `claim` (it did not happen after all)."""

    async def get(self, key: str) -> str | None:
        """The value at `key`, or None."""

    async def put(self, key: str, value: str, ttl_seconds: float | None = None) -> None:
        """Set `key`, expiring after `ttl_seconds` if given."""

    async def delete(self, key: str) -> None:
        """Remove `key` (a value or a map)."""

    async def map_put(self, key: str, field: str, value: str) -> None:
        """Set one field of the map at `key` (kept a week since its last change)."""

    async def map_pop(self, key: str, field: str) -> str | None:
        """Remove one field of the map at `key`; its value, or None if it was not there."""

    async def map_all(self, key: str) -> dict[str, str]:
        """Every field of the map at `key`."""


@dataclass(frozen=True, slots=True)
class Backplane:
    """The four shared parts a process is started with."""

    pubsub: PubSub
    log: RoomLog
    presence: Presence
    counters: Counters
    # The Redis command client behind them (None in memory): parts keeping state of their own
    # in the same Redis (the sessions' seats) share its bounded pool, not a pool of their own.
    redis: aioredis.Redis | RedisCluster | None = None
