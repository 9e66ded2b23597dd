"""A small test client speaking PROTOCOL §2 and §3 to a real server."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from .servers import SCALE

__all__ = ["Member", "admin_token", "expect_close", "new_user", "unique", "WS"]

PASSWORD = "a fine long password"


def unique(prefix: str) -> str:
    """A name no other test uses."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@dataclass
class Member:
    """A signed-in user."""

    username: str
    token: str
    user: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.user["id"])

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def new_user(base: str, prefix: str = "u", display_name: str | None = None) -> Member:
    """Register and sign in a fresh user."""
    username = unique(prefix)
    body: dict[str, Any] = {"username": username, "password": PASSWORD}
    if display_name is not None:
        body["display_name"] = display_name
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.post("/api/auth/register", json=body)
        assert r.status_code == 201, r.text
        r = await http.post("/api/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return Member(username, r.json()["token"], r.json()["user"])


async def admin_token(base: str, admin: tuple[str, str]) -> Member:
    """Sign the cluster's admin in."""
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.post("/api/auth/login", json={"username": admin[0], "password": admin[1]})
        assert r.status_code == 200, r.text
        return Member(admin[0], r.json()["token"], r.json()["user"])


class WS:
    """A room socket with helpers to wait for frames of a type."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.seen: list[dict[str, Any]] = []

    @classmethod
    async def open(
        cls,
        ws_base: str,
        slug: str,
        member: Member | None,
        query: str = "",
        headers: dict[str, str] | None = None,
    ) -> WS:
        hdrs = dict(member.headers) if member else {}
        hdrs.update(headers or {})
        url = f"{ws_base}/ws/rooms/{slug}" + (f"?{query}" if query else "")
        conn = await websockets.connect(url, additional_headers=hdrs, max_size=2**22)
        return cls(conn)

    @classmethod
    async def enter(
        cls, ws_base: str, slug: str, member: Member, query: str = ""
    ) -> tuple[WS, dict[str, Any]]:
        ws = await cls.open(ws_base, slug, member, query)
        welcome = await ws.next("welcome")
        return ws, welcome

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.conn.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.conn.recv(), timeout * SCALE)
        frame: dict[str, Any] = json.loads(raw)
        self.seen.append(frame)
        return frame

    async def next(self, type_: str, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
        """The next frame of `type_` (and matching fields), skipping others."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout * SCALE
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"no {type_} frame {match}; saw {self.seen[-5:]}")
            frame = await self.recv(left / SCALE)
            if frame.get("type") == type_ and all(frame.get(k) == v for k, v in match.items()):
                return frame

    async def quiet(self, seconds: float = 0.5) -> list[dict[str, Any]]:
        """Every frame that arrives within `seconds`."""
        frames = []
        try:
            while True:
                frames.append(await self.recv(seconds))
        except TimeoutError:
            return frames

    async def close(self) -> None:
        await self.conn.close()


async def expect_close(ws: WS, timeout: float = 5.0) -> tuple[int | None, str]:
    """Read until the server closes; its (code, reason)."""
    try:
        while True:
            await ws.recv(timeout)
    except websockets.ConnectionClosed as closed:
        rcvd = closed.rcvd
        return (rcvd.code if rcvd else None), (rcvd.reason if rcvd else "")
