"""In-process backplane: one server process, no services. Same contract as the Redis one."""

from __future__ import annotations

import asyncio
import bisect
import logging
import secrets
import time
from collections import defaultdict, deque

from ..wire.out import numbered_message
from .base import (
    NO_BURSTS,
    Append,
    Appended,
    Backplane,
    Bursts,
    Delivery,
    Reconnected,
    WindowRead,
)
from .envelope import encode_header, numbered_publication, room_channel

__all__ = ["MemoryCounters", "MemoryPresence", "MemoryPubSub", "MemoryRoomLog", "memory_backplane"]

log = logging.getLogger("hearth.broker")

WINDOW_MAX = 1000
MESSAGE_ID_TTL = 86400.0


class MemoryPubSub:
    """Publications are handed to the subscriber on the next loop turn, as over a network:
    those of one turn together, as one burst, as a reader of a socket would."""

    name = "memory"

    def __init__(self) -> None:
        self._deliver: Delivery | None = None
        self._bursts: Bursts = NO_BURSTS
        self._channels: set[str] = set()
        self._pending: list[tuple[str, str | bytes]] = []

    async def start(
        self, deliver: Delivery, reconnected: Reconnected, bursts: Bursts = NO_BURSTS
    ) -> None:
        self._deliver = deliver  # one process: never disconnected
        self._bursts = bursts

    async def close(self) -> None:
        self._deliver = None

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)

    async def publish(self, channel: str, data: str | bytes) -> None:
        self.publish_now(channel, data)

    def publish_now(self, channel: str, data: str | bytes) -> None:
        """Publish without awaiting: keeps the room log's append atomic."""
        if self._deliver is not None and channel in self._channels:
            if not self._pending:
                asyncio.get_running_loop().call_soon(self._hand_over)
            self._pending.append((channel, data))

    def _hand_over(self) -> None:
        pending, self._pending = self._pending, []
        if len(pending) > 1:
            self._bursts.begin()
        for channel, data in pending:
            if self._deliver is not None:
                try:
                    self._deliver(channel, data)
                except Exception:  # a bug in one delivery must not lose the others
                    log.exception("delivering a publication failed")
        self._bursts.end()

    async def healthy(self) -> bool:
        return True


class _Room:
    __slots__ = ("epoch", "seq", "window", "refs", "first", "floor", "ended", "last_sent")

    def __init__(self) -> None:
        self.epoch = secrets.token_hex(8)
        self.seq = 0
        self.window: deque[tuple[int, float, str]] = deque()
        self.refs: dict[str, tuple[float, str, int]] = {}
        self.first: dict[str, int] = {}
        self.floor = 0
        self.ended = 0
        self.last_sent: dict[str, float] = {}


class MemoryRoomLog:
    """Numbering and resume window in this process's memory."""

    def __init__(self, pubsub: MemoryPubSub) -> None:
        self._pubsub = pubsub
        self._rooms: dict[str, _Room] = defaultdict(_Room)
        self._ids: dict[str, tuple[float, str, int, str]] = {}
        self._id_order: deque[tuple[float, str]] = deque()

    def _trim(self, room: _Room, window_seconds: int, now: float) -> None:
        cutoff = now - window_seconds
        while room.window and (len(room.window) > WINDOW_MAX or room.window[0][1] < cutoff):
            room.floor = max(room.floor, room.window.popleft()[0])
        while room.refs:  # refs are kept in the order they were sent
            oldest = next(iter(room.refs))
            if room.refs[oldest][0] >= cutoff:
                break
            del room.refs[oldest]

    async def append(self, message: Append) -> Appended:
        room, ref_key, window_seconds = message.room, message.ref_key, message.window_seconds
        state = self._rooms[room]
        now = time.monotonic()
        self._trim(state, window_seconds, now)
        if ref_key is not None and ref_key in state.refs:
            _, frame, seq = state.refs[ref_key]
            return Appended(seq, state.epoch, frame, duplicate=True)
        state.seq += 1
        frame = numbered_message(state.seq, message.fields)
        if window_seconds > 0:
            state.window.append((state.seq, now, frame))
            if ref_key is not None:
                state.refs[ref_key] = (now, frame, state.seq)
            self._trim(state, window_seconds, now)
        else:
            state.floor = state.seq
        self._remember_id(message.message_id, room, state.seq, message.author_id, now)
        state.last_sent[message.author_id] = time.time()
        header = encode_header(message.header)
        publication = numbered_publication(state.epoch, state.seq, header, frame)
        self._pubsub.publish_now(room_channel(room), publication)
        return Appended(state.seq, state.epoch, frame, duplicate=False)

    def _remember_id(self, message_id: str, room: str, seq: int, author: str, now: float) -> None:
        self._ids[message_id] = (now, room, seq, author)
        self._id_order.append((now, message_id))
        while self._id_order and self._id_order[0][0] < now - MESSAGE_ID_TTL:
            self._ids.pop(self._id_order.popleft()[1], None)

    async def last_sent(self, room: str, user_id: str) -> float | None:
        return self._rooms[room].last_sent.get(user_id)

    async def position(self, room: str, known: tuple[str, int] | None = None) -> tuple[str, int]:
        state = self._rooms[room]
        return state.epoch, state.seq

    async def read(
        self, room: str, after_seq: int, window_seconds: int, upto: int | None = None
    ) -> WindowRead:
        state = self._rooms[room]
        self._trim(state, window_seconds, time.monotonic())
        seqs = [s for s, _, _ in state.window]
        start = bisect.bisect_right(seqs, after_seq)
        stop = len(seqs) if upto is None else bisect.bisect_right(seqs, upto)
        entries = [(s, f) for s, _, f in list(state.window)[start:stop]]
        floor = state.floor if state.window else -1
        return WindowRead(state.epoch, state.seq, entries, floor, state.ended)

    async def recall(self, room: str, ref_key: str) -> Appended | None:
        state = self._rooms[room]
        found = state.refs.get(ref_key)
        if found is None:
            return None
        return Appended(found[2], state.epoch, found[1], duplicate=True)

    async def locate(self, message_id: str) -> tuple[str, int, str] | None:
        found = self._ids.get(message_id)
        if found is None or found[0] < time.monotonic() - MESSAGE_ID_TTL:
            return None
        return found[1], found[2], found[3]

    async def remove(self, room: str, seqs: list[int]) -> None:
        state = self._rooms[room]
        drop = set(seqs)
        state.window = deque(e for e in state.window if e[0] not in drop)

    async def mark_first_entry(self, room: str, user_id: str, seq: int) -> int:
        return self._rooms[room].first.setdefault(user_id, seq)

    async def reset(self, room: str) -> None:
        state = self._rooms[room]
        state.floor = state.ended = state.seq
        state.window.clear()
        state.refs.clear()
        state.first.clear()


class MemoryPresence:
    """Sockets per user per room; nothing expires in one process but dead sockets leave."""

    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, dict[str, str]]] = defaultdict(dict)

    async def join(self, room: str, user_id: str, conn_id: str, participant: str) -> bool:
        users = self._rooms[room]
        conns = users.setdefault(user_id, {})
        first = not conns
        conns[conn_id] = participant
        return first

    async def leave(self, room: str, user_id: str, conn_id: str) -> bool:
        users = self._rooms[room]
        conns = users.get(user_id)
        if not conns or conn_id not in conns:
            return False
        del conns[conn_id]
        if conns:
            return False
        del users[user_id]
        return True

    async def members(self, room: str) -> list[str]:
        return [next(iter(conns.values())) for conns in self._rooms[room].values() if conns]

    async def heartbeat(self, sockets: list[tuple[str, str, str, str]]) -> None:
        # Nothing here expires or is lost, so nothing is re-added; but a participant may
        # have changed (a role), and members() shows it after the next beat, as on Redis.
        for room, user_id, conn_id, participant in sockets:
            conns = self._rooms.get(room, {}).get(user_id, {})
            if conn_id in conns:
                conns[conn_id] = participant

    async def sweep(self, room: str) -> list[str]:
        return []


class MemoryCounters:
    """Sliding-window counters and expiring values in a dict."""

    def __init__(self) -> None:
        self._events: dict[str, deque[tuple[float, str]]] = defaultdict(deque)
        self._values: dict[str, tuple[str, float | None]] = {}
        self._maps: dict[str, dict[str, str]] = {}
        self._ops = 0

    def _prune(self, now: float) -> None:
        """Drop keys nobody will read again, so memory does not grow with every new key."""
        self._ops += 1
        if self._ops % 1000:
            return
        for key in [k for k, e in self._events.items() if not e or e[-1][0] < now - 86400]:
            del self._events[key]
        for key in [k for k, (_, exp) in self._values.items() if exp is not None and exp <= now]:
            del self._values[key]

    def _window(self, key: str, window_seconds: float, now: float) -> deque[tuple[float, str]]:
        self._prune(now)
        events = self._events[key]
        while events and events[0][0] <= now - window_seconds:
            events.popleft()
        return events

    async def hit(self, key: str, window_seconds: float, add: bool = True) -> int:
        now = time.monotonic()
        events = self._window(key, window_seconds, now)
        if add:
            events.append((now, ""))
        if not events:
            del self._events[key]
            return 0
        return len(events)

    async def claim(self, key: str, window_seconds: float, limit: int) -> str | None:
        now = time.monotonic()
        events = self._window(key, window_seconds, now)
        if len(events) >= limit:
            return None
        event_id = secrets.token_hex(8)
        events.append((now, event_id))
        return event_id

    async def release(self, key: str, event_id: str) -> None:
        events = self._events.get(key)
        if events is not None:
            for event in events:
                if event[1] == event_id:
                    events.remove(event)
                    break

    async def get(self, key: str) -> str | None:
        found = self._values.get(key)
        if found is None:
            return None
        value, expires = found
        if expires is not None and expires <= time.monotonic():
            del self._values[key]
            return None
        return value

    async def put(self, key: str, value: str, ttl_seconds: float | None = None) -> None:
        self._prune(time.monotonic())
        expires = None if ttl_seconds is None else time.monotonic() + ttl_seconds
        self._values[key] = (value, expires)

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)
        self._maps.pop(key, None)

    async def map_put(self, key: str, field: str, value: str) -> None:
        self._maps.setdefault(key, {})[field] = value

    async def map_pop(self, key: str, field: str) -> str | None:
        found = self._maps.get(key, {}).pop(field, None)
        if key in self._maps and not self._maps[key]:
            del self._maps[key]
        return found

    async def map_all(self, key: str) -> dict[str, str]:
        return dict(self._maps.get(key, {}))


def memory_backplane() -> Backplane:
    """All four parts, in this process."""
    pubsub = MemoryPubSub()
    return Backplane(pubsub, MemoryRoomLog(pubsub), MemoryPresence(), MemoryCounters())
