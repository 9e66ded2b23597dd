"""The floor: the thinnest chat relay on Hearth's stack, to measure Hearth against.

A Starlette WebSocket route and a redis.asyncio pub/sub relay, one subscriber per process,
ref-counted per room; no auth, no validation, no storage, no numbering, no queues. A client's
`send` is wrapped once into a `message` frame and published to `room:{slug}`; every
publication is written to each local socket of the room, straight from the reader task.

Run it as `python bench/floor.py --port P --redis-url redis://127.0.0.1:N/0`; several
processes sharing one Redis form one relay, as `hearth serve` processes do.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator

import orjson
import redis.asyncio as aioredis
import uvicorn
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

__all__ = ["Relay", "build_app", "main"]

WELCOME = orjson.dumps({"type": "welcome", "protocol": 1}).decode()
PONG = orjson.dumps({"type": "pong"}).decode()


class Relay:
    """This process's one pub/sub connection and the local sockets of each room."""

    def __init__(self, redis_url: str) -> None:
        # Publishers wait for a pooled connection rather than fail when a burst exceeds the
        # pool (redis-py's default pool raises MaxConnectionsError past 100 in flight).
        pool = aioredis.BlockingConnectionPool.from_url(
            redis_url, decode_responses=True, max_connections=64, timeout=None
        )
        self.client = aioredis.Redis.from_pool(pool)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.rooms: dict[str, set[WebSocket]] = {}
        self.lock = asyncio.Lock()
        self.reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # A channel nobody publishes to, so the reader has a connection from the start.
        await self.pubsub.subscribe("floor:control")
        self.reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader
        with contextlib.suppress(RedisError, OSError):
            await self.pubsub.aclose()
        await self.client.aclose()

    async def join(self, room: str, ws: WebSocket) -> None:
        async with self.lock:
            sockets = self.rooms.setdefault(room, set())
            sockets.add(ws)
            if len(sockets) == 1:
                await self.pubsub.subscribe(f"room:{room}")

    async def leave(self, room: str, ws: WebSocket) -> None:
        async with self.lock:
            sockets = self.rooms.get(room)
            if sockets is None:
                return
            sockets.discard(ws)
            if not sockets:
                del self.rooms[room]
                await self.pubsub.unsubscribe(f"room:{room}")

    async def publish(self, room: str, frame: str) -> None:
        await self.client.publish(f"room:{room}", frame)

    async def _read(self) -> None:
        while True:
            message = await self.pubsub.get_message(timeout=1.0)
            if message is None or message["type"] != "message":
                continue
            room = message["channel"][5:]  # after "room:"
            for ws in tuple(self.rooms.get(room, ())):
                with contextlib.suppress(Exception):
                    await ws.send_text(message["data"])


def build_app(redis_url: str) -> Starlette:
    """The floor's ASGI app: `/ws/rooms/{slug}` and `/healthz`."""
    relay = Relay(redis_url)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await relay.start()
        try:
            yield
        finally:
            await relay.close()

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def room_socket(ws: WebSocket) -> None:
        room = ws.path_params["slug"]
        await ws.accept()
        await relay.join(room, ws)
        try:
            await ws.send_text(WELCOME)
            while True:
                frame = orjson.loads(await ws.receive_text())
                kind = frame.get("type")
                if kind == "send":
                    message = {"type": "message", "room": room, "body": frame.get("body")}
                    await relay.publish(room, orjson.dumps(message).decode())
                elif kind == "ping":
                    await ws.send_text(PONG)
        except (WebSocketDisconnect, WebSocketDisconnected):
            # The client left; the second one when the relay saw it first, writing to it.
            pass
        finally:
            await relay.leave(room, ws)

    return Starlette(
        routes=[Route("/healthz", healthz), WebSocketRoute("/ws/rooms/{slug}", room_socket)],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    # The same uvicorn settings as `hearth serve` (server/cli.py), on uvicorn[standard]'s
    # auto choices: uvloop, httptools, websockets-sansio.
    uvicorn.run(
        build_app(args.redis_url),
        host=args.host,
        port=args.port,
        log_level="info",
        ws_max_size=65536,
        ws_per_message_deflate=False,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        proxy_headers=False,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
