"""Chooses the backplane from configuration: Redis when a URL is set, else in-process.

`redis://…` is one Redis; `redis+cluster://host:port,…` is a Redis Cluster (sharded pub/sub).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from ..config import Settings
from ..sealing import Sealer, derive_key
from .base import Backplane
from .memory import memory_backplane
from .redis_cluster import ShardedPubSub, cluster_client, is_cluster
from .redis_counters import RedisCounters
from .redis_log import RedisRoomLog
from .redis_pipe import CommandPipe
from .redis_pubsub import RedisPubSub
from .redis_state import RedisPresence

__all__ = ["open_backplane"]


def open_backplane(settings: Settings) -> tuple[Backplane, Callable[[], Awaitable[None]]]:
    """The configured backplane and a coroutine function that closes its connections."""
    if not settings.redis_url:
        backplane = memory_backplane()

        async def close_memory() -> None:
            await backplane.pubsub.close()

        return backplane, close_memory
    sealer = Sealer({"w1": derive_key(settings.secret_key, "resume-window")}, "w1")
    if is_cluster(settings.redis_url):
        return _cluster_backplane(settings.redis_url, settings.presence_entry_ttl, sealer)
    # A blocking pool: with the default pool, the 65th concurrent command raises
    # MaxConnectionsError instead of waiting for a free connection.
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_connect_timeout=2.0,
        socket_timeout=5.0,
        health_check_interval=10,
        max_connections=64,
        timeout=5.0,
    )
    client = aioredis.Redis.from_pool(pool)
    # The subscription's own connection, which never reconnects behind the reader's back:
    # redis-py would quietly reconnect and resubscribe (after Redis dropped a slow
    # subscriber, or a blip), and the publications in between would be lost unnoticed.
    listener = aioredis.Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_connect_timeout=2.0,
        health_check_interval=10,
        retry=Retry(NoBackoff(), 0),
    )
    # Every message's append, and the commands of every entering socket, multiplexed on one
    # connection of the pool's making (issue #16); the rest goes through the pool.
    pipe = CommandPipe(pool.make_connection)
    backplane = Backplane(
        RedisPubSub(client, listener, pipe=pipe),
        RedisRoomLog(client, sealer, pipe=pipe),
        RedisPresence(client, settings.presence_entry_ttl, sealer, pipe=pipe),
        RedisCounters(client, pipe=pipe),
        client,
    )

    async def close_redis() -> None:
        await backplane.pubsub.close()
        await pipe.close()
        await listener.aclose()
        await client.aclose()

    return backplane, close_redis


def _cluster_backplane(
    url: str, presence_ttl: float, sealer: Sealer
) -> tuple[Backplane, Callable[[], Awaitable[None]]]:
    """The backplane on the Redis Cluster at `url` (sharded pub/sub) and what closes it."""
    cluster = cluster_client(url)
    backplane = Backplane(
        ShardedPubSub(cluster),
        RedisRoomLog(cluster, sealer, sharded=True),
        RedisPresence(cluster, presence_ttl, sealer),
        RedisCounters(cluster),
        cluster,
    )

    async def close_cluster() -> None:
        await backplane.pubsub.close()
        await cluster.aclose()

    return backplane, close_cluster
