"""A socket's lifetime leaves nothing of Hearth's to the cyclic collector.

The collector's full collections are the latency tail of a busy process (the README's
Performance section): what a closed socket leaves in reference cycles is walked and freed
there, all at once after a crowd of sockets left. Everything a socket's lifetime made should
go by reference counting the moment it is gone. This test serves the real app in this
process, runs socket lifetimes (token and cookie, `welcome`, sends in an open and in a
recording room, `typing`, a reaction, a client close and a facilitator's `remove`), and
asks the collector (DEBUG_SAVEALL) what only it would have freed: nothing may be Hearth's
own (an object of a `server` class, a frame or function of `server` code). Garbage of
the client libraries, or of asyncio's own transports, does not count.
"""

from __future__ import annotations

import asyncio
import gc
import types
from pathlib import Path
from typing import Any, cast

import httpx
import websockets

import server
from tests.conftest import SHARED_REDIS
from tests.support.client import WS, Member, admin_token, expect_close, new_user, unique
from tests.support.in_process import InProcess, serving
from tests.support.redis_server import emptied

SERVER_CODE = str(Path(server.__file__).resolve().parent)
ROUNDS = 2


def _hearths(thing: object) -> bool:
    """Whether `thing` is Hearth's own: of a `server` class, or `server` code running."""
    kind = type(thing)
    if kind.__module__.split(".")[0] == "server":
        return True
    # By exact type, not isinstance: a dead weak proxy among the garbage raises on that.
    code: types.CodeType | None = None
    if kind is types.FrameType:
        code = cast(types.FrameType, thing).f_code
    elif kind is types.TracebackType:
        code = cast(types.TracebackType, thing).tb_frame.f_code
    elif kind is types.FunctionType:
        code = cast(types.FunctionType, thing).__code__
    elif kind is types.CoroutineType:
        code = cast("types.CoroutineType[Any, Any, Any]", thing).cr_code
    return code is not None and code.co_filename.startswith(SERVER_CODE)


def _describe(thing: object) -> str:
    if isinstance(thing, types.FrameType):
        return f"frame of {thing.f_code.co_qualname} ({thing.f_code.co_filename})"
    if isinstance(thing, types.TracebackType):
        return f"traceback through {thing.tb_frame.f_code.co_qualname}"
    if isinstance(thing, types.FunctionType | types.CoroutineType):
        return f"{type(thing).__name__} {thing.__qualname__}"
    return f"{type(thing).__module__}.{type(thing).__qualname__}"


async def _room(app: InProcess, admin: Member, **settings: Any) -> dict[str, Any]:
    body = {"slug": unique("g-"), "title": "Garbage", **settings}
    async with httpx.AsyncClient(base_url=app.base, headers=admin.headers) as http:
        r = await http.post("/api/admin/rooms", json=body)
        assert r.status_code == 201, r.text
        room: dict[str, Any] = r.json()["room"]
        return room


async def _cookie_socket(app: InProcess, slug: str, member: Member) -> WS:
    async with httpx.AsyncClient(base_url=app.base) as http:
        r = await http.post(
            "/api/auth/login",
            json={"username": member.username, "password": "a fine long password"},
        )
        cookie = str(r.cookies["hearth_session"])
    headers = {"Cookie": f"hearth_session={cookie}", "Origin": app.base}
    ws = WS(await websockets.connect(f"{app.ws_base}/ws/rooms/{slug}", additional_headers=headers))
    await ws.next("welcome")
    return ws


class _Lifetimes:
    """Socket lifetimes in an open and a recording room, each with a facilitator present
    (who removes members, and whose socket is read so that it never falls behind)."""

    def __init__(self, app: InProcess, admin: Member) -> None:
        self.app, self.admin = app, admin
        self.rooms: dict[str, dict[str, Any]] = {}
        self.facilitators: dict[str, WS] = {}

    async def start(self) -> None:
        self.rooms = {
            "open": await _room(self.app, self.admin),
            "recording": await _room(self.app, self.admin, transcripts="opt_in"),
        }
        for kind, room in self.rooms.items():
            self.facilitators[kind], _ = await WS.enter(self.app.ws_base, room["slug"], self.admin)
        await _consent(self.facilitators["recording"])

    async def close(self) -> None:
        for ws in self.facilitators.values():
            await ws.close()

    async def round(self) -> int:
        """One lifetime of each kind; how many."""
        count = 0
        for kind in ("token", "cookie", "recording"):
            for removed in (False, True):
                await self.one(kind, removed)
                count += 1
        return count

    async def one(self, kind: str, removed: bool) -> None:
        room = "recording" if kind == "recording" else "open"
        slug, facilitator = self.rooms[room]["slug"], self.facilitators[room]
        member = await new_user(self.app.base, "gc")
        if kind == "cookie":
            ws = await _cookie_socket(self.app, slug, member)
        else:
            ws, _ = await WS.enter(self.app.ws_base, slug, member)
        if kind == "recording":
            await _consent(ws)
        message = {}
        for n in range(3):
            await ws.send({"type": "send", "body": f"hello {n}", "ref": f"s{n}"})
            message = await ws.next("message", ref=f"s{n}")
        await ws.send({"type": "typing"})
        await ws.send(
            {"type": "react", "message_id": message["id"], "reaction": "heart", "ref": "r"}
        )
        await ws.quiet(0.2)
        if removed:
            await facilitator.send({"type": "mod", "action": "remove", "user_id": member.id})
            await expect_close(ws)
        else:
            await ws.close()
        await asyncio.sleep(0.2)  # the server's side of the departure
        for ws in self.facilitators.values():
            await ws.quiet(0.1)


async def _consent(ws: WS) -> None:
    await ws.send({"type": "consent", "recorded": True, "ref": "c"})
    await ws.next("consent", ref="c")


async def test_socket_lifetimes_leave_no_cycles_of_hearths(tmp_path: Path) -> None:
    redis_url = emptied(f"{SHARED_REDIS}/11")
    try:
        left, count = await _left_to_the_collector(tmp_path, redis_url)
    finally:
        gc.unfreeze()  # the app froze what existed at its start-up: this process's, not its own
    assert not left, f"after {count} socket lifetimes, only the cyclic collector frees: {left}"


async def _left_to_the_collector(workdir: Path, redis_url: str) -> tuple[list[str], int]:
    """What of Hearth's only the cyclic collector frees after socket lifetimes; how many."""
    async with serving(workdir, redis_url) as app:
        lifetimes = _Lifetimes(app, await admin_token(app.base, app.admin))
        await lifetimes.start()
        await lifetimes.round()  # first uses: caches, pools, lazily built statements
        enabled, debug = gc.isenabled(), gc.get_debug()
        gc.collect()
        gc.garbage.clear()
        try:
            gc.disable()
            gc.set_debug(gc.DEBUG_SAVEALL)
            count = sum([await lifetimes.round() for _ in range(ROUNDS)])
            await asyncio.sleep(0.3)
            gc.collect()
            left = sorted({_describe(o) for o in gc.garbage if _hearths(o)})
        finally:
            gc.garbage.clear()
            gc.set_debug(debug)
            if enabled:
                gc.enable()
        await lifetimes.close()
    return left, count
