"""Counters and expiring values in Redis, shared by every process: sliding-window event
counts (rate limits, claims of a limited number of places), plain values with a TTL, and
small maps (hands, pins, mutes, waiting users), each map kept a week after its last write.
"""

from __future__ import annotations

import secrets
from typing import Any

from ..store.ids import now_ms
from .redis_log import Client
from .redis_pipe import CommandPipe

__all__ = ["RedisCounters"]

MAP_TTL = 7 * 86400

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


class RedisCounters:
    """Sliding-window counters and expiring values in Redis."""

    def __init__(self, client: Client, pipe: CommandPipe | None = None) -> None:
        """With a `pipe` (one Redis), the reads every entering socket makes (`get`,
        `map_all`) run on that multiplexed connection, not through the pool."""
        self._pipe = pipe
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
        name = f"hearth:value:{key}"
        if self._pipe is None:
            value = await self._client.get(name)
        else:
            value = await self._pipe.execute("GET", name)
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
        name = f"hearth:map:{key}"
        if self._pipe is None:
            found: dict[Any, Any] = await self._client.hgetall(name)
            return {str(k): str(v) for k, v in found.items()}
        reply = await self._pipe.execute("HGETALL", name)  # a map (RESP3), or field, value, …
        if isinstance(reply, dict):
            return {str(k): str(v) for k, v in reply.items()}
        return {str(k): str(v) for k, v in zip(reply[::2], reply[1::2], strict=True)}
