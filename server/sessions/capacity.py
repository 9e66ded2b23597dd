"""Room capacity (PROTOCOL §5 `max_participants`): seats counted across every process.

A member takes a seat before `welcome` and gives it back when their last socket leaves; a
seat of a process that died expires (the same bound as presence) unless a living process
still holds a socket of that user and refreshes it. Taking a seat is one atomic step (one Lua
script in Redis, no await in memory), so two members arriving at the last place cannot both
get it. Facilitators and admins take no seat.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Protocol

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from ..store.ids import now_ms

__all__ = ["MemorySeats", "RedisSeats", "Seats", "may_take_seat"]


def may_take_seat(seated: Iterable[str], user_id: str, limit: int | None) -> bool:
    """Whether `user_id` may be seated: already seated (another socket), no limit, or a
    free place. Pure; the stores apply it atomically."""
    seats = set(seated)
    return limit is None or user_id in seats or len(seats) < limit


class Seats(Protocol):
    """Members seated per room, shared by every process."""

    async def take(self, room: str, user_id: str, limit: int) -> bool:
        """Seat the user unless the room is full (already seated: True)."""

    async def release(self, room: str, user_id: str) -> None:
        """Give the user's seat back."""

    async def refresh(self, seated: list[tuple[str, str]]) -> None:
        """Keep the (room, user) seats of local sockets from expiring."""


def _now() -> float:
    return time.monotonic()


class MemorySeats:
    """Seats of a single process (the in-process broker)."""

    def __init__(self, ttl_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._rooms: dict[str, dict[str, float]] = {}

    def _live(self, room: str) -> dict[str, float]:
        now = _now()
        seats = self._rooms.setdefault(room, {})
        for user, until in list(seats.items()):
            if until < now:
                del seats[user]
        return seats

    async def take(self, room: str, user_id: str, limit: int) -> bool:
        seats = self._live(room)  # no await from here to the write: atomic in one process
        if not may_take_seat(seats, user_id, limit):
            return False
        seats[user_id] = _now() + self._ttl
        return True

    async def release(self, room: str, user_id: str) -> None:
        self._rooms.get(room, {}).pop(user_id, None)

    async def refresh(self, seated: list[tuple[str, str]]) -> None:
        until = _now() + self._ttl
        for room, user in seated:
            seats = self._rooms.get(room)
            if seats is not None and user in seats:
                seats[user] = until


# KEYS: the room's seats (sorted set scored by expiry ms).  ARGV: user, limit, now, expiry.
_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
  redis.call('PEXPIRE', KEYS[1], 86400000)
  return 1
end
return 0
"""


class RedisSeats:
    """Seats in Redis: one sorted set per room, members scored by when their seat expires."""

    def __init__(self, client: aioredis.Redis | RedisCluster, ttl_seconds: float) -> None:
        self._client = client
        self._ttl_ms = int(ttl_seconds * 1000)
        self._take = client.register_script(_TAKE)

    @staticmethod
    def _key(room: str) -> str:
        return f"hearth:seats:{room}"

    async def take(self, room: str, user_id: str, limit: int) -> bool:
        now = now_ms()
        args: list[str | int] = [user_id, limit, now, now + self._ttl_ms]
        return bool(await self._take(keys=[self._key(room)], args=args))

    async def release(self, room: str, user_id: str) -> None:
        await self._client.zrem(self._key(room), user_id)

    async def refresh(self, seated: list[tuple[str, str]]) -> None:
        if not seated:
            return
        until = now_ms() + self._ttl_ms
        async with self._client.pipeline(transaction=False) as pipe:
            for room, user in seated:
                pipe.zadd(self._key(room), {user: until}, xx=True)
            await pipe.execute()
