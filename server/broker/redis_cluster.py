"""Redis Cluster: the client, and fan-out by sharded pub/sub (SSUBSCRIBE/SPUBLISH).

`HEARTH_REDIS_URL=redis+cluster://host:port[,host:port…]` selects it. Every key and the
channel of one room carry the room as a hash tag (`hearth:room:{slug}:seq`), so they live in
one hash slot: the append script stays atomic and its SPUBLISH goes to the shard that owns the
room, not to every node as a classic PUBLISH would in a cluster.

Fan-out keeps one pub/sub connection and one reader task per master that owns a subscribed
channel (redis-py's own cluster pub/sub polls the nodes in turn, adding a poll's timeout to
the delivery of a quiet node's neighbour). A reader that loses its node reports that it
reconnected once it is back, exactly as the single-node reader does: the process's sockets
resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from typing import Any
from urllib.parse import unquote, urlsplit

from redis.asyncio.client import PubSub as NodePubSub
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.crc import key_slot
from redis.exceptions import RedisError

from ..ops.metrics import REDIS_RECONNECTS
from .base import NO_BURSTS, Bursts, Delivery, Reconnected
from .redis_pubsub import more_buffered

__all__ = ["CLUSTER_SCHEME", "BoundedCluster", "ShardedPubSub", "cluster_client", "is_cluster"]

log = logging.getLogger("hearth.broker")

CLUSTER_SCHEME = "redis+cluster"
MAX_IN_FLIGHT = 256  # commands at once per process; the node pools never refuse one


def is_cluster(url: str) -> bool:
    """Whether `url` names a Redis Cluster."""
    return url.startswith(CLUSTER_SCHEME + "://")


class BoundedCluster(RedisCluster):
    """A cluster client that waits for a free slot instead of raising MaxConnectionsError.

    redis-py's cluster nodes refuse the command past `max_connections` (and the client then
    treats the node as failed); the single-node client has a blocking pool for this.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gate = asyncio.Semaphore(MAX_IN_FLIGHT)

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        async with self._gate:
            return await super().execute_command(*args, **kwargs)


def cluster_client(url: str) -> BoundedCluster:
    """A client for `redis+cluster://[user:password@]host:port[,host:port…]`."""
    parts = urlsplit(url)
    userinfo, _, hosts = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    nodes = []
    for item in hosts.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"cluster URL needs host:port pairs, got {item!r}")
        nodes.append(ClusterNode(host.strip("[]"), int(port)))
    return BoundedCluster(
        startup_nodes=nodes,
        username=unquote(user) or None,
        password=unquote(password) or None,
        decode_responses=True,
        socket_connect_timeout=2.0,
        socket_timeout=5.0,
        max_connections=MAX_IN_FLIGHT,
        require_full_coverage=True,
    )


class _NodePubSub(NodePubSub):
    """One master's pub/sub connection.

    On reconnecting, redis-py re-subscribes every shard channel in one SSUBSCRIBE, which a
    cluster refuses (CROSSSLOT) when they hash to several slots; this does it slot by slot,
    as redis-py's own ClusterPubSub does for its node connections.
    """

    async def _resubscribe_shard_channels(self) -> None:
        by_slot: dict[int, list[Any]] = {}
        for channel in self.shard_channels:
            by_slot.setdefault(key_slot(self.encoder.encode(channel)), []).append(channel)
        for channels in by_slot.values():
            await self.ssubscribe(*channels)


class _NodeReader:
    """One master's pub/sub connection and the task reading it."""

    def __init__(self, owner: ShardedPubSub, node: ClusterNode) -> None:
        self.node = node
        self.pubsub = _NodePubSub(
            connection_pool=_pool_for(node), encoder=owner.client.encoder
        )
        self.task: asyncio.Task[None] = asyncio.create_task(
            owner.read(self), name=f"hearth-shard-reader-{node.name}"
        )

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        with contextlib.suppress(RedisError, OSError):
            await self.pubsub.aclose()  # type: ignore[no-untyped-call]


def _pool_for(node: ClusterNode) -> Any:
    """A private connection pool to `node` (pub/sub holds its connection for good)."""
    from redis.asyncio.connection import ConnectionPool

    # Never retried inside redis-py: a quiet reconnect and resubscribe would lose the
    # publications in between unnoticed; the reader must see the loss and say so.
    kwargs = {k: v for k, v in node.connection_kwargs.items() if k != "retry"}
    kwargs["health_check_interval"] = 10
    return ConnectionPool(
        connection_class=node.connection_class, retry=Retry(NoBackoff(), 0), **kwargs
    )


class ShardedPubSub:
    """Fan-out through SPUBLISH/SSUBSCRIBE, one reader per master holding our channels."""

    name = "redis-cluster"

    def __init__(self, client: RedisCluster) -> None:
        self.client = client
        self._readers: dict[str, _NodeReader] = {}
        self._channel_node: dict[str, str] = {}
        self._confirmed: dict[str, asyncio.Event] = {}
        self._deliver: Delivery | None = None
        self._reconnected: Reconnected | None = None
        self._bursts: Bursts = NO_BURSTS
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._leaving: Counter[str] = Counter()  # our own unsubscribes not yet answered

    async def start(
        self, deliver: Delivery, reconnected: Reconnected, bursts: Bursts = NO_BURSTS
    ) -> None:
        self._deliver, self._reconnected = deliver, reconnected
        self._bursts = bursts
        await self.client.initialize()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for reader in list(self._readers.values()):
            await reader.close()
        self._readers.clear()

    async def subscribe(self, channel: str) -> None:
        async with self._lock:
            if channel in self._channel_node:
                return
            node = self.client.get_node_from_key(channel)
            if node is None:
                raise RedisError(f"no cluster node serves {channel!r}")
            reader = self._readers.get(node.name)
            if reader is None:
                reader = self._readers[node.name] = _NodeReader(self, node)
            confirmed = self._confirmed[channel] = asyncio.Event()
            try:
                await reader.pubsub.ssubscribe(channel)
                self._channel_node[channel] = node.name
                # Publications are only guaranteed once Redis has confirmed the subscription.
                await asyncio.wait_for(confirmed.wait(), timeout=5.0)
            finally:
                self._confirmed.pop(channel, None)

    async def unsubscribe(self, channel: str) -> None:
        async with self._lock:
            name = self._channel_node.pop(channel, None)
            reader = self._readers.get(name or "")
            if reader is not None:
                self._leaving[channel] += 1
                await reader.pubsub.sunsubscribe(channel)

    async def publish(self, channel: str, data: str | bytes) -> None:
        await self.client.spublish(channel, data)

    async def healthy(self) -> bool:
        try:
            answers = await self.client.ping(target_nodes=RedisCluster.PRIMARIES)
        except (RedisError, OSError):
            return False
        return bool(answers)

    async def _follow(self, channel: str, reader: _NodeReader) -> None:
        """Subscribe again where the channel's slot now lives; the sockets then resume, since
        publications may have been lost during the move."""
        async with self._lock:
            self._channel_node.pop(channel, None)
            reader.pubsub.shard_channels.pop(channel, None)
        try:
            await self.client.nodes_manager.initialize()  # the new slot map
            await self.subscribe(channel)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("following a moved shard channel failed (%s)", type(exc).__name__)
        if self._reconnected is not None:
            self._reconnected()

    async def read(self, reader: _NodeReader) -> None:
        """Deliver one node's publications until cancelled, reconnecting on loss."""
        backoff = 0.05
        lost = False
        while True:
            try:
                if not reader.pubsub.subscribed:
                    await asyncio.sleep(0.05)
                    continue
                message = await reader.pubsub.get_message(timeout=1.0)
                backoff = 0.05
                if lost:
                    lost = False
                    # An unsubscribe unanswered on the lost connection must not hide a move
                    # later (misreading one of ours as a move only costs a resume).
                    self._leaving.clear()
                    REDIS_RECONNECTS.inc()
                    if self._reconnected is not None:
                        self._reconnected()
                more = await more_buffered(reader.pubsub)
                if message is not None:
                    if more:
                        self._bursts.begin()
                    self._handle(message, reader)
                if not more:
                    self._bursts.end()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self._bursts.end()  # what was delivered before the loss goes out
                log.warning(
                    "shard %s pub/sub lost (%s); reconnecting", reader.node.name, type(exc).__name__
                )
                lost = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 0.5)  # soon back, as the one-Redis reader

    def _handle(self, message: dict[str, Any], reader: _NodeReader) -> None:
        kind = message.get("type")
        if kind == "sunsubscribe":
            channel = message["channel"]
            if self._leaving[channel] > 0:  # the answer to our own unsubscribe
                self._leaving[channel] -= 1
                return
            if channel not in self._channel_node:
                return
            # Not ours: the slot moved to another master, which unsubscribes us.
            task = asyncio.create_task(self._follow(channel, reader))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        if kind == "ssubscribe":
            event = self._confirmed.get(message["channel"])
            if event is not None:
                event.set()
            return
        deliver = self._deliver
        if kind != "smessage" or deliver is None:
            return
        try:
            deliver(message["channel"], message["data"])
        except Exception:  # a bug in one delivery must not stop the reader
            log.exception("delivering a publication failed")
