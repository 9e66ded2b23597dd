"""The second floor: the same relay on the `websockets` library's own asyncio server.

What a Python team would write without a web framework: `websockets.asyncio.server.serve`,
one redis.asyncio pub/sub subscriber per process, and `websockets.broadcast()` for the
fan-out (it writes the frame to every open socket of the room without awaiting any, and
skips those whose buffer is full). No auth, validation, storage or numbering; the frames
are the floor's (`bench/floor.py`): `welcome` on connect, a `send` becomes `message`.

Run it as `python bench/floor_ws.py --port P --redis-url redis://127.0.0.1:N/0`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
from http import HTTPStatus

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

__all__ = ["main"]

WELCOME = orjson.dumps({"type": "welcome", "protocol": 1}).decode()
PONG = orjson.dumps({"type": "pong"}).decode()
ROOM_PATH = re.compile(r"^/ws/rooms/([a-z0-9-]{1,64})(?:\?.*)?$")


class Relay:
    """This process's one pub/sub connection and the local sockets of each room."""

    def __init__(self, redis_url: str) -> None:
        pool = aioredis.BlockingConnectionPool.from_url(
            redis_url, decode_responses=True, max_connections=64, timeout=None
        )
        self.client = aioredis.Redis.from_pool(pool)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.rooms: dict[str, set[ServerConnection]] = {}
        self.lock = asyncio.Lock()

    async def read(self) -> None:
        await self.pubsub.subscribe("floor:control")
        while True:
            message = await self.pubsub.get_message(timeout=1.0)
            if message is None or message["type"] != "message":
                continue
            sockets = self.rooms.get(message["channel"][5:])
            if sockets:
                broadcast(sockets, message["data"])

    async def handle(self, ws: ServerConnection) -> None:
        found = ROOM_PATH.match(ws.request.path if ws.request else "")
        if found is None:
            await ws.close(1008, "no such room")
            return
        room = found.group(1)
        async with self.lock:
            sockets = self.rooms.setdefault(room, set())
            sockets.add(ws)
            if len(sockets) == 1:
                await self.pubsub.subscribe(f"room:{room}")
        try:
            await ws.send(WELCOME)
            async for raw in ws:
                frame = orjson.loads(raw)
                kind = frame.get("type")
                if kind == "send":
                    message = {"type": "message", "room": room, "body": frame.get("body")}
                    await self.client.publish(f"room:{room}", orjson.dumps(message).decode())
                elif kind == "ping":
                    await ws.send(PONG)
        except ConnectionClosed:
            pass
        finally:
            async with self.lock:
                sockets.discard(ws)
                if not sockets:
                    self.rooms.pop(room, None)
                    await self.pubsub.unsubscribe(f"room:{room}")


def health(ws: ServerConnection, request: Request) -> Response | None:
    """`/healthz` answers 200 without upgrading; every other path goes on to the handler."""
    if request.path == "/healthz":
        return ws.respond(HTTPStatus.OK, '{"status":"ok"}\n')
    return None


async def run(host: str, port: int, redis_url: str) -> None:
    relay = Relay(redis_url)
    reader = asyncio.create_task(relay.read())
    try:
        async with serve(
            relay.handle, host, port, process_request=health, compression=None,
            max_size=65536, ping_interval=20.0, ping_timeout=20.0, server_header=None,
        ) as server:
            await server.serve_forever()
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
            await reader
            await relay.client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.run(run(args.host, args.port, args.redis_url))
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        asyncio.run(run(args.host, args.port, args.redis_url))


if __name__ == "__main__":
    main()
