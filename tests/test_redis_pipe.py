"""The multiplexed command connection (`broker/redis_pipe.py`) against a real redis-server.

Many commands in flight each get their own reply; an error reply fails only its caller; a
lost or silent connection fails every waiting caller with redis-py's errors and the next
command connects again; a Redis that forgot its scripts still runs them.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis
from redis import exceptions as errors

from server.broker.redis_pipe import CommandPipe
from tests.support.redis_server import PrivateRedis
from tests.support.servers import SCALE


@pytest.fixture(scope="module")
def redis_server() -> Iterator[PrivateRedis]:
    server = PrivateRedis().start()
    yield server
    server.stop()


@pytest.fixture
async def other(redis_server: PrivateRedis) -> AsyncIterator[aioredis.Redis]:
    """A plain client beside the pipe, to look at and to kill the pipe's connection."""
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    await client.aclose()


def pipe_on(url: str, **options: float) -> tuple[CommandPipe, aioredis.ConnectionPool]:
    pool = aioredis.ConnectionPool.from_url(url, decode_responses=True, socket_timeout=5.0)
    return CommandPipe(pool.make_connection, **options), pool  # type: ignore[arg-type]


@pytest.fixture
async def pipe(redis_server: PrivateRedis) -> AsyncIterator[CommandPipe]:
    made, pool = pipe_on(redis_server.url)
    yield made
    await made.close()
    await pool.aclose()


def tag() -> str:
    return uuid.uuid4().hex[:10]


async def test_hundreds_of_concurrent_commands_each_get_their_own_reply(
    pipe: CommandPipe,
) -> None:
    prefix = tag()
    values = [f"{prefix}-{i}-" + "x" * (i % 50) for i in range(600)]
    await asyncio.gather(*(pipe.execute("SET", f"{v}:k", v) for v in values))
    echoes, got = await asyncio.gather(
        asyncio.gather(*(pipe.execute("ECHO", v) for v in values)),
        asyncio.gather(*(pipe.execute("GET", f"{v}:k") for v in values)),
    )
    assert echoes == values
    assert got == values


async def test_callers_past_the_cap_wait_for_room(redis_server: PrivateRedis) -> None:
    small, pool = pipe_on(redis_server.url, in_flight_max=5)
    try:
        values = [f"{tag()}-{i}" for i in range(200)]
        assert await asyncio.gather(*(small.execute("ECHO", v) for v in values)) == values
    finally:
        await small.close()
        await pool.aclose()


async def test_an_error_reply_fails_only_its_caller(pipe: CommandPipe) -> None:
    key = f"text-{tag()}"
    await pipe.execute("SET", key, "not a number")
    results = await asyncio.gather(
        pipe.execute("ECHO", "before"),
        pipe.execute("INCR", key),
        pipe.execute("ECHO", "after"),
        return_exceptions=True,
    )
    assert results[0] == "before" and results[2] == "after"
    assert isinstance(results[1], errors.ResponseError)
    assert await pipe.execute("GET", key) == "not a number"


async def test_a_refused_argument_or_a_cancelled_caller_leaves_the_order_intact(
    pipe: CommandPipe,
) -> None:
    with pytest.raises(errors.DataError):
        await pipe.execute("ECHO", {"not": "encodable"})
    values = [f"{tag()}-{i}" for i in range(50)]
    tasks = [asyncio.create_task(pipe.execute("ECHO", v)) for v in values]
    await asyncio.sleep(0)  # all written, none answered yet
    for task in tasks[::2]:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[1::2] == values[1::2]
    assert await pipe.execute("ECHO", "after") == "after"


async def test_a_script_redis_forgot_is_loaded_again(
    pipe: CommandPipe, other: aioredis.Redis
) -> None:
    suffix = tag()
    script = f"return ARGV[1] .. '-{suffix}'"
    assert await pipe.evalsha(script, [], ["a"]) == f"a-{suffix}"
    await other.script_flush()
    assert await pipe.evalsha(script, [], ["b"]) == f"b-{suffix}"


async def held(pipe: CommandPipe, seconds: int) -> list[asyncio.Task[object]]:
    """A BLPOP that holds the connection for `seconds`, and three commands queued behind it."""
    tasks = [asyncio.create_task(pipe.execute("BLPOP", f"never-{tag()}", seconds))]
    tasks += [asyncio.create_task(pipe.execute("ECHO", str(i))) for i in range(3)]
    await asyncio.sleep(0.1 * SCALE)
    assert not any(task.done() for task in tasks)
    return tasks


async def test_a_killed_connection_fails_every_waiting_caller_then_reconnects(
    pipe: CommandPipe, other: aioredis.Redis
) -> None:
    first_id = await pipe.execute("CLIENT", "ID")
    tasks = await held(pipe, 30)
    await other.client_kill_filter(_id=first_id)
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5 * SCALE)
    assert all(isinstance(result, errors.ConnectionError) for result in results), results
    assert await pipe.execute("ECHO", "back") == "back"
    assert await pipe.execute("CLIENT", "ID") != first_id


async def test_a_stopped_redis_fails_waiting_callers_and_a_restarted_one_serves(
    redis_server: PrivateRedis,
) -> None:
    own = PrivateRedis().start()
    made, pool = pipe_on(own.url)
    try:
        script = "return 'scripted'"
        assert await made.evalsha(script, [], []) == "scripted"
        tasks = await held(made, 30)
        own.stop()
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5 * SCALE)
        assert all(isinstance(result, errors.ConnectionError) for result in results), results
        with pytest.raises(errors.ConnectionError):
            await made.execute("ECHO", "nobody there")
        own.start()  # the same port, empty: the script must be loaded again
        assert await made.evalsha(script, [], []) == "scripted"
    finally:
        await made.close()
        await pool.aclose()
        own.stop()


async def test_a_reply_that_never_comes_fails_waiting_callers_after_the_timeout(
    redis_server: PrivateRedis,
) -> None:
    timeout = 0.5 * SCALE
    made, pool = pipe_on(redis_server.url, reply_timeout=timeout)
    try:
        first_id = await made.execute("CLIENT", "ID")
        started = time.monotonic()
        tasks = await held(made, 30)
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5 * SCALE)
        assert all(isinstance(result, errors.TimeoutError) for result in results), results
        assert timeout <= time.monotonic() - started < timeout + 2 * SCALE
        assert await made.execute("CLIENT", "ID") != first_id
    finally:
        await made.close()
        await pool.aclose()


async def test_an_idle_connection_is_kept_past_the_timeout(redis_server: PrivateRedis) -> None:
    made, pool = pipe_on(redis_server.url, reply_timeout=0.2)
    try:
        first_id = await made.execute("CLIENT", "ID")
        await asyncio.sleep(0.5)
        assert await made.execute("CLIENT", "ID") == first_id
    finally:
        await made.close()
        await pool.aclose()


async def test_close_fails_waiting_callers_and_refuses_later_ones(
    redis_server: PrivateRedis,
) -> None:
    made, pool = pipe_on(redis_server.url)
    try:
        tasks = await held(made, 30)
        await made.close()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(result, errors.ConnectionError) for result in results), results
        with pytest.raises(errors.ConnectionError, match="closed"):
            await made.execute("PING")
    finally:
        await pool.aclose()
