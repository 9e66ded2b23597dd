"""Presence in Redis, shared by every process, each entry with a TTL.

Presence: per room a sorted set of users scored by when their last socket's heartbeat
expires, and per user a sorted set of sockets, all keyed with the room as a hash tag
(`hearth:presence:{slug}`) so that on a Redis Cluster one room's presence lives in one slot.
A process that dies stops heartbeating; its sockets expire after the presence TTL and the
next sweep announces who left.

A heartbeat is one script call per room (up to HEARTBEAT_CHUNK sockets each), and it seals
and writes a participant only when it changed since this process wrote it (a role), or when
Redis lost it: the process remembers what it wrote, per live local socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript

from ..sealing import Sealer
from ..store.ids import now_ms
from .redis_log import Client
from .redis_pipe import CommandPipe, run_script

__all__ = ["RedisPresence"]

# KEYS: room users, user sockets, room info.  ARGV: user, conn, participant, now ms, expiry ms.
_JOIN = """
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
local had = redis.call('ZCARD', KEYS[2])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[2])
redis.call('ZADD', KEYS[1], 'GT', ARGV[5], ARGV[1])
redis.call('ZADD', KEYS[1], 'NX', ARGV[5], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], 86400000) end
return had == 0 and 1 or 0
"""

# What _JOIN does for a socket already there, for up to HEARTBEAT_CHUNK sockets of one room.
# KEYS: room users, room info, then each user's sockets (the caller passes every key: on a
# cluster a script may touch only those, all in the room's slot).  ARGV: now ms, expiry ms,
# then per socket: the KEYS index of its user's sockets, user, conn, sealed participant or ''
# (unchanged since this process wrote it: the info field is left alone).  Returns the users
# whose info field is missing (Redis lost it) and was not written here.  (ZADD GT adds a
# missing user too: _JOIN's ZADD NX after it changes nothing.)
_BEAT = """
local now, expiry = ARGV[1], ARGV[2]
local seen, users, written = {}, {}, {}
for i = 3, #ARGV, 4 do
  local sockets, user, sealed = KEYS[tonumber(ARGV[i])], ARGV[i + 1], ARGV[i + 3]
  if not seen[sockets] then
    seen[sockets] = true
    redis.call('ZREMRANGEBYSCORE', sockets, '-inf', now)
    table.insert(users, user)
  end
  redis.call('ZADD', sockets, expiry, ARGV[i + 2])
  if sealed ~= '' then
    redis.call('HSET', KEYS[2], user, sealed)
    written[user] = true
  end
end
local scored, missing = {}, {}
for _, user in ipairs(users) do
  table.insert(scored, expiry)
  table.insert(scored, user)
  if not written[user] and redis.call('HEXISTS', KEYS[2], user) == 0 then
    table.insert(missing, user)
  end
end
redis.call('ZADD', KEYS[1], 'GT', unpack(scored))
for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], 86400000) end
return missing
"""

# KEYS: room users, room info.  ARGV: pairs of user, sealed participant.  Writes the info
# of users a beat found without one, unless they left meanwhile or a join wrote it first.
_FILL = """
for i = 1, #ARGV, 2 do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 1])
  end
end
redis.call('PEXPIRE', KEYS[2], 86400000)
"""

# KEYS: room users, user sockets, room info.  ARGV: user, conn, now ms.
_LEAVE = """
local removed = redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
if removed == 1 and redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
  return 1
end
return 0
"""

# KEYS: room users, room info.  ARGV: now ms, user sockets key prefix.
_SWEEP = """
local gone = {}
local stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for _, user in ipairs(stale) do
  local sockets = ARGV[2] .. user
  redis.call('ZREMRANGEBYSCORE', sockets, '-inf', ARGV[1])
  if redis.call('ZCARD', sockets) == 0 then
    redis.call('ZREM', KEYS[1], user)
    local info = redis.call('HGET', KEYS[2], user)
    redis.call('HDEL', KEYS[2], user)
    if info then table.insert(gone, info) end
  end
end
return gone
"""

# KEYS: room users, room info.  ARGV: now ms.
_MEMBERS = """
local users = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')
if #users == 0 then return {} end
local present = {}
for i = 1, #users, 1000 do  -- unpack() has a stack limit: read in slices
  local slice = redis.call('HMGET', KEYS[2], unpack(users, i, math.min(i + 999, #users)))
  for _, info in ipairs(slice) do
    if info then table.insert(present, info) end
  end
end
return present
"""


HEARTBEAT_CHUNK = 100  # sockets refreshed per script call (one room's)
ROUND_TRIP_SOCKETS = 500  # sockets refreshed per pipeline (single Redis) or gather (cluster)

Socket = tuple[str, str, str, str]  # room, user id, conn id, participant (a heartbeat's)
Seal = Callable[[str, str], str]  # (room, participant) -> sealed participant


def _presence_base(room: str) -> str:
    return f"hearth:presence:{{{room}}}"


def _presence_keys(room: str, user_id: str) -> list[str]:
    base = _presence_base(room)
    return [base, f"{base}:user:{user_id}", f"{base}:info"]


def _room_chunks(sockets: list[Socket]) -> list[tuple[str, list[Socket]]]:
    """The sockets by room, each room's in chunks of at most HEARTBEAT_CHUNK."""
    by_room: dict[str, list[Socket]] = {}
    for socket in sockets:
        by_room.setdefault(socket[0], []).append(socket)
    return [
        (room, found[start : start + HEARTBEAT_CHUNK])
        for room, found in by_room.items()
        for start in range(0, len(found), HEARTBEAT_CHUNK)
    ]


def _round_trips(
    chunks: list[tuple[str, list[Socket]]],
) -> Iterator[list[tuple[str, list[Socket]]]]:
    """The chunks, packed into round trips of at most ROUND_TRIP_SOCKETS sockets each."""
    trip: list[tuple[str, list[Socket]]] = []
    size = 0
    for room, chunk in chunks:
        if trip and size + len(chunk) > ROUND_TRIP_SOCKETS:
            yield trip
            trip, size = [], 0
        trip.append((room, chunk))
        size += len(chunk)
    if trip:
        yield trip


class _Beat:
    """The keys and arguments of one `_BEAT` call: sockets of one room, at most
    HEARTBEAT_CHUNK, each user's sockets key passed once."""

    def __init__(self, room: str, now: int, expiry: int) -> None:
        base = _presence_base(room)
        self.room = room
        self.keys = [base, f"{base}:info"]
        self.args: list[Any] = [now, expiry]
        self.changed: list[tuple[str, str]] = []  # (conn id, participant) written by it
        self._index: dict[str, int] = {}  # user id -> index of their sockets in KEYS
        self._participant: dict[str, str] = {}  # user id -> a participant of theirs

    def add(self, user_id: str, conn_id: str, participant: str, sealed: str) -> None:
        """Refresh one socket; `sealed` is '' when its participant is already written."""
        index = self._index.get(user_id)
        if index is None:
            self.keys.append(f"{self.keys[0]}:user:{user_id}")
            index = self._index[user_id] = len(self.keys)  # Lua counts from 1
        self.args += (index, user_id, conn_id, sealed)
        self._participant[user_id] = participant
        if sealed:
            self.changed.append((conn_id, participant))

    def fill(self, missing: list[str], seal: Seal) -> tuple[list[str], list[Any]] | None:
        """The keys and arguments of a `_FILL` call writing the participants of the users
        this beat found without one (None if there are none): sealed only then."""
        if not missing:
            return None
        args: list[Any] = []
        for user_id in missing:
            args += (user_id, seal(self.room, self._participant[user_id]))
        return self.keys[:2], args


class RedisPresence:
    """Presence across processes with heartbeat expiry (`ttl_seconds`)."""

    def __init__(
        self, client: Client, ttl_seconds: float, sealer: Sealer, pipe: CommandPipe | None = None
    ) -> None:
        """With a `pipe` (one Redis), a socket's join, leave and the members it is
        welcomed with run on that multiplexed connection, not through the pool."""
        self._pipe = pipe
        self._client = client
        self._ttl_ms = int(ttl_seconds * 1000)
        # Who is present (a participant: id, display name, role) is kept sealed, as the
        # words of the resume window are: a Redis snapshot names nobody.
        self._sealer = sealer
        self._join = client.register_script(_JOIN)
        self._leave = client.register_script(_LEAVE)
        self._sweep = client.register_script(_SWEEP)
        self._members = client.register_script(_MEMBERS)
        self._beat = client.register_script(_BEAT)
        self._fill = client.register_script(_FILL)
        # conn id -> the participant text this process last wrote for that socket, so a
        # heartbeat reseals only what changed (a role). Set by `join`, updated by the beat,
        # dropped by `leave`: one str per live local socket, no more.
        self._written: dict[str, str] = {}

    async def join(self, room: str, user_id: str, conn_id: str, participant: str) -> bool:
        now = now_ms()
        first = await run_script(
            self._pipe,
            self._join,
            _presence_keys(room, user_id),
            [user_id, conn_id, self._seal(room, participant), now, now + self._ttl_ms],
        )
        self._written[conn_id] = participant
        return bool(first)

    def _seal(self, room: str, participant: str) -> str:
        return self._sealer.seal(participant, room.encode())

    def _open(self, room: str, sealed: Any) -> str:
        text = str(sealed)
        if text.startswith("{"):  # written by a process from before sealing (a rolling update)
            return text
        return self._sealer.open(text, room.encode())

    async def leave(self, room: str, user_id: str, conn_id: str) -> bool:
        self._written.pop(conn_id, None)  # first: a leave that fails must not keep it
        last = await run_script(
            self._pipe, self._leave, _presence_keys(room, user_id), [user_id, conn_id, now_ms()]
        )
        return bool(last)

    async def members(self, room: str) -> list[str]:
        base = _presence_base(room)
        # One round trip (entering a room asks this for every socket).
        infos: list[Any] = await run_script(
            self._pipe, self._members, [base, f"{base}:info"], [now_ms()]
        )
        return [self._open(room, info) for info in infos]

    async def heartbeat(self, sockets: list[Socket]) -> None:
        if not sockets:
            return
        now = now_ms()
        # In round trips of a bounded size: building one pipeline for every socket of the
        # process would hold the event loop (and then Redis) for a stall every member feels.
        for calls in _round_trips(_room_chunks(sockets)):
            await self._refresh([self._beat_of(room, chunk, now) for room, chunk in calls])

    async def _refresh(self, beats: list[_Beat]) -> None:
        """Run `beats` in one round trip; then, only if Redis lost the participants of some
        users, seal and write those in a second."""
        found = await self._run(self._beat, [(beat.keys, beat.args) for beat in beats])
        self._remember(beats)
        fills = [beat.fill(gone, self._seal) for beat, gone in zip(beats, found, strict=True)]
        if any(fills):
            await self._run(self._fill, [fill for fill in fills if fill])

    def _beat_of(self, room: str, chunk: list[Socket], now: int) -> _Beat:
        """One `_BEAT` call for `chunk` (sockets of `room`): a participant this process
        wrote last is sent as '' rather than sealed again."""
        beat = _Beat(room, now, now + self._ttl_ms)
        for _, user_id, conn_id, participant in chunk:
            unchanged = self._written.get(conn_id) == participant
            sealed = "" if unchanged else self._seal(room, participant)
            beat.add(user_id, conn_id, participant, sealed)
        return beat

    def _remember(self, beats: list[_Beat]) -> None:
        """Note what the beats wrote, for sockets still joined: one that left meanwhile
        (or whose join has not returned yet) gets no entry, so none outlives its socket."""
        written = self._written
        for beat in beats:
            for conn_id, participant in beat.changed:
                if conn_id in written:
                    written[conn_id] = participant

    async def _run(self, script: AsyncScript, calls: list[tuple[list[str], list[Any]]]) -> Any:
        """Run `script` once per (keys, args), together; the answers in the same order."""
        if isinstance(self._client, RedisCluster):
            # A cluster spreads the rooms over several nodes: one call each, concurrently.
            return await asyncio.gather(*(script(keys=k, args=a) for k, a in calls))
        async with self._client.pipeline(transaction=False) as pipe:
            for keys, args in calls:
                await script(keys=keys, args=args, client=pipe)
            return await pipe.execute()

    async def sweep(self, room: str) -> list[str]:
        base = _presence_base(room)
        gone: list[Any] = await self._sweep(
            keys=[base, f"{base}:info"], args=[now_ms(), f"{base}:user:"]
        )
        return [self._open(room, info) for info in gone]
