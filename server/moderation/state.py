"""Moderation state every process sees (Counters: Redis or memory), surviving restarts of
server processes: mutes, pins, raised hands, the waiting queue, admissions, cool-downs,
open flags and held messages.

Anything carrying a member's words or identity (pins, flag excerpts, held messages, who is
waiting) is sealed with AES-GCM before it is stored, as the resume window is: a Redis
snapshot reveals nothing.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..broker.base import Counters
from ..sealing import Sealer
from ..store.ids import now_ms

__all__ = ["ModerationState"]


class ModerationState:
    """Typed access to one room's shared moderation state."""

    def __init__(self, counters: Counters, sealer: Sealer) -> None:
        self._c = counters
        self._sealer = sealer

    # -- sealed maps ---------------------------------------------------------------------

    async def _put_sealed(self, key: str, field: str, value: dict[str, Any]) -> None:
        plain = orjson.dumps(value).decode()
        await self._c.map_put(key, field, self._sealer.seal(plain, key.encode()))

    async def _all_sealed(self, key: str) -> list[dict[str, Any]]:
        found = await self._c.map_all(key)
        items = [orjson.loads(self._open(v, key)) for v in found.values()]
        return sorted(items, key=lambda item: (item.get("ts", 0), str(item)))

    async def _pop_sealed(self, key: str, field: str) -> dict[str, Any] | None:
        found = await self._c.map_pop(key, field)
        if found is None:
            return None
        value: dict[str, Any] = orjson.loads(self._open(found, key))
        return value

    def _open(self, stored: str, key: str) -> str:
        if stored.startswith("{"):  # a waiting user kept before they were sealed
            return stored
        return self._sealer.open(stored, key.encode())

    # -- mutes ---------------------------------------------------------------------------

    async def mutes(self, room: str) -> dict[str, int | None]:
        """{user id: mute end (ms) or None for until unmuted}, expired ones left out."""
        now = now_ms()
        mutes: dict[str, int | None] = {}
        for user_id, until in (await self._c.map_all(f"mod:{room}:mutes")).items():
            end = int(until) or None
            if end is None or end > now:
                mutes[user_id] = end
        return mutes

    async def mute(self, room: str, user_id: str, until_ms: int | None) -> None:
        await self._c.map_put(f"mod:{room}:mutes", user_id, str(until_ms or 0))

    async def unmute(self, room: str, user_id: str) -> None:
        await self._c.map_pop(f"mod:{room}:mutes", user_id)

    # -- pins ----------------------------------------------------------------------------

    async def pins(self, room: str) -> list[dict[str, Any]]:
        """Pins, oldest first."""
        return await self._all_sealed(f"mod:{room}:pins")

    async def pin(self, room: str, pin: dict[str, Any]) -> None:
        await self._put_sealed(f"mod:{room}:pins", str(pin["pin_id"]), pin)

    async def unpin(self, room: str, pin_id: str) -> bool:
        return await self._c.map_pop(f"mod:{room}:pins", pin_id) is not None

    # -- hands ---------------------------------------------------------------------------

    async def hands(self, room: str) -> list[str]:
        """User ids with a raised hand, in the order they raised it."""
        found = await self._c.map_all(f"mod:{room}:hands")
        return [u for u, _ in sorted(found.items(), key=lambda kv: int(kv[1]))]

    async def set_hand(self, room: str, user_id: str, raised: bool) -> bool:
        """Raise or lower; whether it changed."""
        if raised:
            already = user_id in await self._c.map_all(f"mod:{room}:hands")
            await self._c.map_put(f"mod:{room}:hands", user_id, str(now_ms()))
            return not already
        return await self._c.map_pop(f"mod:{room}:hands", user_id) is not None

    # -- waiting room and admissions -----------------------------------------------------

    async def knock(self, room: str, participant: dict[str, Any]) -> None:
        """Keep a waiting user (sealed: a username and display name are an identity)."""
        key = f"mod:{room}:waiting"
        await self._put_sealed(key, str(participant["id"]), {**participant, "ts": now_ms()})

    async def waiting(self, room: str) -> list[dict[str, Any]]:
        """Participants waiting to be admitted, oldest first."""
        return await self._all_sealed(f"mod:{room}:waiting")

    async def stop_waiting(self, room: str, user_id: str) -> bool:
        return await self._c.map_pop(f"mod:{room}:waiting", user_id) is not None

    async def admit(self, room: str, user_id: str) -> None:
        await self._c.map_put(f"mod:{room}:admitted", user_id, str(now_ms()))

    async def admitted(self, room: str, user_id: str) -> bool:
        return user_id in await self._c.map_all(f"mod:{room}:admitted")

    async def revoke(self, room: str, user_id: str) -> None:
        await self._c.map_pop(f"mod:{room}:admitted", user_id)

    # -- cool-downs after `remove` -------------------------------------------------------

    async def cool_down(self, room: str, user_id: str, seconds: int) -> None:
        until = now_ms() + seconds * 1000
        await self._c.put(f"mod:{room}:cooldown:{user_id}", str(until), seconds)

    async def cooling(self, room: str, user_id: str) -> float | None:
        """Seconds left before the user may rejoin, or None."""
        found = await self._c.get(f"mod:{room}:cooldown:{user_id}")
        if found is None:
            return None
        left = (int(found) - now_ms()) / 1000
        return left if left > 0 else None

    # -- flags and held messages ---------------------------------------------------------

    async def add_flag(self, room: str, flag: dict[str, Any]) -> None:
        await self._put_sealed(f"mod:{room}:flags", str(flag["flag_id"]), flag)

    async def flags(self, room: str) -> list[dict[str, Any]]:
        return await self._all_sealed(f"mod:{room}:flags")

    async def forget_excerpts(self, room: str, message_ids: set[str]) -> None:
        """Deleted messages: their open flags keep no excerpt (PROTOCOL: null once gone)."""
        for flag in await self.flags(room):
            if flag.get("message_id") in message_ids and flag.get("excerpt") is not None:
                await self.add_flag(room, {**flag, "excerpt": None})

    async def resolve_flag(self, room: str, flag_id: str) -> dict[str, Any] | None:
        return await self._pop_sealed(f"mod:{room}:flags", flag_id)

    async def hold(self, room: str, held: dict[str, Any]) -> None:
        await self._put_sealed(f"mod:{room}:held", str(held["held_id"]), held)

    async def held_count(self, room: str) -> int:
        """How many messages wait for review (none is opened to count them)."""
        return len(await self._c.map_all(f"mod:{room}:held"))

    async def held(self, room: str) -> list[dict[str, Any]]:
        return await self._all_sealed(f"mod:{room}:held")

    async def release(self, room: str, held_id: str) -> dict[str, Any] | None:
        return await self._pop_sealed(f"mod:{room}:held", held_id)

    # -- end of a session ----------------------------------------------------------------

    async def end(self, room: str) -> None:
        """`end`: admissions, hands and the waiting queue are cleared."""
        for name in ("admitted", "hands", "waiting"):
            await self._c.delete(f"mod:{room}:{name}")
