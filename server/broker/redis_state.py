"""Presence and counters in Redis, shared by every process, each entry with a TTL.

Presence: per room a sorted set of users scored by when their last socket's heartbeat
expires, and per user a sorted set of sockets, all keyed with the room as a hash tag
(`hearth:presence:{slug}`) so that on a Redis Cluster one room's presence lives in one slot.
A process that dies stops heartbeating; its sockets expire after the presence TTL and the
next sweep announces who left.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from redis.asyncio.cluster import RedisCluster

from ..sealing import Sealer
from ..store.ids import now_ms
from .redis_log import Client

__all__ = ["RedisCounters", "RedisPresence"]

MAP_TTL = 7 * 86400

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

# KEYS: the map.  ARGV: field, value, ttl s.
_MAP_PUT = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
"""

# KEYS: the map.  ARGV: field.
_MAP_POP = """
local found = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
return found
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

# KEYS: the event log.  ARGV: now ms, window ms, add (1/0), member.
_HIT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('ZCARD', KEYS[1])
"""

# KEYS: the event log.  ARGV: now ms, window ms, limit, member.
_CLAIM = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""


HEARTBEAT_CHUNK = 100  # sockets refreshed per round trip


def _presence_base(room: str) -> str:
    return f"hearth:presence:{{{room}}}"


def _presence_keys(room: str, user_id: str) -> list[str]:
    base = _presence_base(room)
    return [base, f"{base}:user:{user_id}", f"{base}:info"]


class RedisPresence:
    """Presence across processes with heartbeat expiry (`ttl_seconds`)."""

    def __init__(self, client: Client, ttl_seconds: float, sealer: Sealer) -> None:
        self._client = client
        self._ttl_ms = int(ttl_seconds * 1000)
        # Who is present (a participant: id, display name, role) is kept sealed, as the
        # words of the resume window are: a Redis snapshot names nobody.
        self._sealer = sealer
        self._join = client.register_script(_JOIN)
        self._leave = client.register_script(_LEAVE)
        self._sweep = client.register_script(_SWEEP)
        self._members = client.register_script(_MEMBERS)

    async def join(self, room: str, user_id: str, conn_id: str, participant: str) -> bool:
        now = now_ms()
        first = await self._join(
            keys=_presence_keys(room, user_id),
            args=[user_id, conn_id, self._seal(room, participant), now, now + self._ttl_ms],
        )
        return bool(first)

    def _seal(self, room: str, participant: str) -> str:
        return self._sealer.seal(participant, room.encode())

    def _open(self, room: str, sealed: Any) -> str:
        text = str(sealed)
        if text.startswith("{"):  # written by a process from before sealing (a rolling update)
            return text
        return self._sealer.open(text, room.encode())

    async def leave(self, room: str, user_id: str, conn_id: str) -> bool:
        last = await self._leave(
            keys=_presence_keys(room, user_id), args=[user_id, conn_id, now_ms()]
        )
        return bool(last)

    async def members(self, room: str) -> list[str]:
        base = _presence_base(room)
        # One round trip (entering a room asks this for every socket).
        infos: list[Any] = await self._members(keys=[base, f"{base}:info"], args=[now_ms()])
        return [self._open(room, info) for info in infos]

    async def heartbeat(self, sockets: list[tuple[str, str, str, str]]) -> None:
        if not sockets:
            return
        now = now_ms()
        # In chunks: building one pipeline for every socket of the process would hold the
        # event loop (and then Redis) for tens of milliseconds, a stall every member feels.
        for start in range(0, len(sockets), HEARTBEAT_CHUNK):
            chunk = sockets[start : start + HEARTBEAT_CHUNK]
            if isinstance(self._client, RedisCluster):
                # A cluster spreads the rooms over several nodes: one call each, concurrently.
                await asyncio.gather(*(self._refresh(entry, now) for entry in chunk))
                continue
            async with self._client.pipeline(transaction=False) as pipe:
                for room, user_id, conn_id, participant in chunk:
                    await self._join(
                        keys=_presence_keys(room, user_id),
                        args=[
                            user_id,
                            conn_id,
                            self._seal(room, participant),
                            now,
                            now + self._ttl_ms,
                        ],
                        client=pipe,
                    )
                await pipe.execute()

    async def _refresh(self, socket: tuple[str, str, str, str], now: int) -> None:
        room, user_id, conn_id, participant = socket
        await self._join(
            keys=_presence_keys(room, user_id),
            args=[user_id, conn_id, self._seal(room, participant), now, now + self._ttl_ms],
        )

    async def sweep(self, room: str) -> list[str]:
        base = _presence_base(room)
        gone: list[Any] = await self._sweep(
            keys=[base, f"{base}:info"], args=[now_ms(), f"{base}:user:"]
        )
        return [self._open(room, info) for info in gone]


class RedisCounters:
    """Sliding-window counters and expiring values in Redis."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._hit = client.register_script(_HIT)
        self._claim = client.register_script(_CLAIM)
        self._map_put = client.register_script(_MAP_PUT)
        self._map_pop = client.register_script(_MAP_POP)

    async def hit(self, key: str, window_seconds: float, add: bool = True) -> int:
        member = f"{now_ms()}-{secrets.token_hex(4)}"
        count = await self._hit(
            keys=[f"hearth:count:{key}"],
            args=[now_ms(), int(window_seconds * 1000), "1" if add else "0", member],
        )
        return int(count)

    async def claim(self, key: str, window_seconds: float, limit: int) -> str | None:
        now = now_ms()
        member = f"{now}-{secrets.token_hex(8)}"
        claimed = await self._claim(
            keys=[f"hearth:count:{key}"], args=[now, int(window_seconds * 1000), limit, member]
        )
        return member if int(claimed) else None

    async def release(self, key: str, event_id: str) -> None:
        await self._client.zrem(f"hearth:count:{key}", event_id)

    async def get(self, key: str) -> str | None:
        value = await self._client.get(f"hearth:value:{key}")
        return None if value is None else str(value)

    async def put(self, key: str, value: str, ttl_seconds: float | None = None) -> None:
        px = None if ttl_seconds is None else max(1, int(ttl_seconds * 1000))
        await self._client.set(f"hearth:value:{key}", value, px=px)

    async def delete(self, key: str) -> None:
        # Two slots on a cluster: one DEL each.
        await self._client.delete(f"hearth:value:{key}")
        await self._client.delete(f"hearth:map:{key}")

    async def map_put(self, key: str, field: str, value: str) -> None:
        await self._map_put(keys=[f"hearth:map:{key}"], args=[field, value, MAP_TTL])

    async def map_pop(self, key: str, field: str) -> str | None:
        found = await self._map_pop(keys=[f"hearth:map:{key}"], args=[field])
        return None if found is None else str(found)

    async def map_all(self, key: str) -> dict[str, str]:
        found: dict[Any, Any] = await self._client.hgetall(f"hearth:map:{key}")
        return {str(k): str(v) for k, v in found.items()}
