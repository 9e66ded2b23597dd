"""Open check-in requests, one per member per room, kept where the resume window is (Redis
or memory, through Counters), sealed: a request's note never reaches the database or logs."""

from __future__ import annotations

import secrets
from typing import Any

import orjson

from ..broker.base import Counters
from ..sealing import Sealer

__all__ = ["RequestBook"]


class RequestBook:
    """Typed access to a room's open requests: {user id: sealed request}."""

    def __init__(self, counters: Counters, sealer: Sealer) -> None:
        self._c = counters
        self._sealer = sealer

    @staticmethod
    def _key(room: str) -> str:
        return f"checkin:{room}:requests"

    def _open(self, key: str, sealed: str) -> dict[str, Any]:
        value: dict[str, Any] = orjson.loads(self._sealer.open(sealed, key.encode()))
        return value

    async def ask(
        self, room: str, user: dict[str, Any], note: str | None, ts: int
    ) -> dict[str, Any]:
        """Open the member's request, or replace the note of the one open (same id)."""
        key = self._key(room)
        found = (await self._c.map_all(key)).get(str(user["id"]))
        request_id = self._open(key, found)["request_id"] if found else secrets.token_hex(8)
        request = {"request_id": request_id, "user": user, "note": note, "ts": ts}
        plain = orjson.dumps(request).decode()
        await self._c.map_put(key, str(user["id"]), self._sealer.seal(plain, key.encode()))
        return request

    async def open_requests(self, room: str) -> list[dict[str, Any]]:
        """Every open request in the room, oldest first."""
        key = self._key(room)
        found = [self._open(key, v) for v in (await self._c.map_all(key)).values()]
        return sorted(found, key=lambda r: (r["ts"], r["request_id"]))

    async def close_by_id(self, room: str, request_id: str) -> dict[str, Any] | None:
        """Close one request by its id; None if it is not open."""
        for request in await self.open_requests(room):
            if request["request_id"] == request_id:
                await self._c.map_pop(self._key(room), str(request["user"]["id"]))
                return request
        return None

    async def close_for(self, room: str, user_id: str) -> None:
        """Close the member's request, if any."""
        await self._c.map_pop(self._key(room), user_id)
