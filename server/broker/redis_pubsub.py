"""Redis pub/sub fan-out: one connection and one reader task per process.

As in channels_redis' pubsub layer, the process subscribes to the channels of rooms that have
local sockets and routes each publication to local queues; sockets never touch Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ..ops.metrics import REDIS_RECONNECTS
from .base import NO_BURSTS, Bursts, Delivery, Reconnected
from .redis_pipe import CommandPipe

__all__ = ["RedisPubSub", "more_buffered"]

log = logging.getLogger("hearth.broker")


class RedisPubSub:
    """Fan-out through Redis PUBLISH/SUBSCRIBE."""

    name = "redis"

    def __init__(
        self,
        client: aioredis.Redis,
        listener: aioredis.Redis | None = None,
        pipe: CommandPipe | None = None,
    ) -> None:
        """`client` publishes (on `pipe`, the multiplexed connection, if given); `listener`
        (default: `client`) holds the subscription and should not retry: a lost
        subscription must reach the reader, which says so."""
        self._client = client
        self._pipe = pipe
        self._pubsub = (listener or client).pubsub()
        self._confirmed: dict[str, asyncio.Event] = {}
        self._reader: asyncio.Task[None] | None = None
        self._deliver: Delivery | None = None
        self._reconnected: Reconnected | None = None
        self._bursts: Bursts = NO_BURSTS
        self._channels: set[str] = set()
        self._lock = asyncio.Lock()

    async def start(
        self, deliver: Delivery, reconnected: Reconnected, bursts: Bursts = NO_BURSTS
    ) -> None:
        self._deliver, self._reconnected = deliver, reconnected
        self._bursts = bursts
        self._reader = asyncio.create_task(self._read(), name="hearth-pubsub-reader")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    async def subscribe(self, channel: str) -> None:
        async with self._lock:
            if channel not in self._channels:
                confirmed = self._confirmed[channel] = asyncio.Event()
                await self._pubsub.subscribe(channel)
                self._channels.add(channel)
                # Publications are only guaranteed once Redis has confirmed the subscription.
                try:
                    await asyncio.wait_for(confirmed.wait(), timeout=5.0)
                finally:
                    self._confirmed.pop(channel, None)

    async def unsubscribe(self, channel: str) -> None:
        async with self._lock:
            if channel in self._channels:
                self._channels.discard(channel)
                await self._pubsub.unsubscribe(channel)

    async def publish(self, channel: str, data: str | bytes) -> None:
        if self._pipe is None:
            await self._client.publish(channel, data)
        else:
            await self._pipe.execute("PUBLISH", channel, data)

    async def healthy(self) -> bool:
        try:
            return bool(await self._client.ping())
        except (RedisError, OSError):
            return False

    async def _read(self) -> None:
        backoff = 0.05
        lost = False
        while True:
            try:
                if not self._pubsub.subscribed:  # no connection to wait on yet
                    await asyncio.sleep(0.05)
                    continue
                message = await self._pubsub.get_message(timeout=1.0)
                backoff = 0.05
                if lost:
                    lost = False
                    REDIS_RECONNECTS.inc()
                    if self._reconnected is not None:
                        self._reconnected()
                more = await more_buffered(self._pubsub)
                if message is not None:
                    if more:
                        self._bursts.begin()
                    self._handle(message)
                if not more:
                    self._bursts.end()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self._bursts.end()  # what was delivered before the loss goes out
                log.warning("pub/sub connection lost (%s); reconnecting", type(exc).__name__)
                lost = True
                await asyncio.sleep(backoff)
                # Soon back: a process that followed a room restores its numbering on
                # reconnecting, before clients re-enter elsewhere (rooms/events.py).
                backoff = min(backoff * 2, 0.5)

    def _handle(self, message: dict[str, Any]) -> None:
        """One message from the subscription: a confirmation or a publication."""
        if message.get("type") == "subscribe":
            event = self._confirmed.get(message["channel"])
            if event is not None:
                event.set()
            return
        deliver = self._deliver
        if message.get("type") != "message" or deliver is None:
            return
        try:
            deliver(message["channel"], message["data"])
        except Exception:  # a bug in one delivery must not stop the reader
            log.exception("delivering a publication failed")


async def more_buffered(pubsub: aioredis.client.PubSub) -> bool:
    """Whether the subscription's connection holds more than it has handed over: the next
    `get_message` will not wait for the network (it never awaits then)."""
    connection = pubsub.connection
    return connection is not None and await connection.can_read()
