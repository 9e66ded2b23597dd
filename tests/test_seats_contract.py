"""Room capacity seats (PROTOCOL §5): one contract, run against the in-process and the Redis
implementation (one Redis and a Redis Cluster). Many members racing for the last places:
exactly as many get in as fit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from server.broker.redis_cluster import cluster_client
from server.sessions.capacity import MemorySeats, RedisSeats, Seats
from tests.conftest import SHARED_REDIS
from tests.support.client import unique
from tests.support.redis_cluster import RedisClusterNodes, running_nodes


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterNodes]:
    with running_nodes(tmp_path_factory.mktemp("seats-cluster")) as found:
        yield found


@pytest.fixture(params=["memory", "redis", "redis-cluster"])
async def seats(request: pytest.FixtureRequest) -> AsyncIterator[Seats]:
    if request.param == "memory":
        yield MemorySeats(ttl_seconds=1.0)
        return
    client: aioredis.Redis | RedisCluster
    if request.param == "redis":
        client = aioredis.Redis.from_url(f"{SHARED_REDIS}/13", decode_responses=True)
    else:
        client = cluster_client(request.getfixturevalue("nodes").url)
        await client.initialize()  # learn the slots before the race, not during it
    try:
        yield RedisSeats(client, ttl_seconds=1.0)
    finally:
        await client.aclose()


async def test_racing_members_fill_exactly_the_places(seats: Seats) -> None:
    room = unique("seats-")
    taken = await asyncio.gather(*(seats.take(room, f"u{i}", 3) for i in range(12)))
    assert taken.count(True) == 3
    winners = [f"u{i}" for i, ok in enumerate(taken) if ok]
    assert await seats.take(room, winners[0], 3)  # another socket of someone seated
    assert not await seats.take(room, "late", 3)
    await seats.release(room, winners[0])
    assert await seats.take(room, "late", 3)
    assert not await seats.take(room, winners[0], 3)


async def test_a_seat_nobody_refreshes_expires(seats: Seats) -> None:
    room = unique("seats-")
    assert await seats.take(room, "kept", 2)
    assert await seats.take(room, "gone", 2)
    for _ in range(3):
        await asyncio.sleep(0.4)
        await seats.refresh([(room, "kept")])
    assert await seats.take(room, "new", 2)  # "gone" expired; "kept" did not
    assert not await seats.take(room, "another", 2)
