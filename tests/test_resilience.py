"""Slow readers and a Redis that restarts empty, on a cluster with its own private Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import make_room
from tests.support.client import WS, admin_token, expect_close, new_user
from tests.support.redis_server import PrivateRedis
from tests.support.servers import ROOT, SCALE, Cluster, sqlite_cluster, started


@pytest.fixture(scope="module")
def private() -> Iterator[tuple[Cluster, PrivateRedis]]:
    import tempfile

    redis_server = PrivateRedis().start()
    workdir = Path(tempfile.mkdtemp(prefix="hearth-resilience-"))
    config = str(ROOT / "tests/support/hearth-fast.toml")
    with started(sqlite_cluster(workdir, redis_server.url, config=config)) as cluster:
        yield cluster, redis_server
    redis_server.stop()


async def test_slow_reader_is_cut_off_while_the_room_keeps_pace(
    private: tuple[Cluster, PrivateRedis],
) -> None:
    cluster, _ = private
    s0, s1 = cluster.servers
    admin = await admin_token(s0.base, cluster.admin)
    room = await make_room(s0.base, admin, max_message_chars=10000)
    talker, reader, sleeper = [await new_user(s0.base) for _ in range(3)]
    t, _ = await WS.enter(s0.ws_base, room["slug"], talker)
    r, _ = await WS.enter(s1.ws_base, room["slug"], reader)
    # The sleeper's client stops reading: its library buffers at most one frame.
    sleepy = await websockets.connect(
        f"{s1.ws_base}/ws/rooms/{room['slug']}",
        additional_headers=sleeper.headers,
        max_queue=1,
        max_size=2**20,
    )
    count = 1500
    body = "x" * 9000

    async def talk() -> None:
        for i in range(count):
            await t.send({"type": "send", "body": f"{i} {body}"})

    async def read_all() -> int:
        got = 0
        while got < count:
            frame = await r.recv(timeout=20)
            if frame["type"] == "message":
                got += 1
        return got

    async def drain_own() -> None:  # the talker reads its own copies, as a client must
        while True:
            await t.conn.recv()

    sender = asyncio.create_task(talk())
    drainer = asyncio.create_task(drain_own())
    assert await asyncio.wait_for(read_all(), 120 * SCALE) == count
    await sender
    drainer.cancel()
    # The sleeper was cut off (1013, "try again later") rather than slowing the room.
    frames = 0
    try:
        while True:
            await asyncio.wait_for(sleepy.recv(), 10 * SCALE)
            frames += 1
    except websockets.ConnectionClosed as closed:
        # 1013 when the close frame could still be written; a client that never reads may
        # instead see the connection dropped after the close timeout.
        assert closed.rcvd is None or closed.rcvd.code == 1013
    assert frames < count
    await t.close()
    await r.close()


async def _health(base: str) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.get("/healthz")
        return r.status_code, r.json()


async def test_redis_restart_keeps_numbering_and_delivery(
    private: tuple[Cluster, PrivateRedis],
) -> None:
    cluster, redis_server = private
    s0, s1 = cluster.servers
    admin = await admin_token(s0.base, cluster.admin)
    room = await make_room(s0.base, admin)
    alice, bob = await new_user(s0.base), await new_user(s0.base)
    a, welcome = await WS.enter(s0.ws_base, room["slug"], alice)
    b, _ = await WS.enter(s1.ws_base, room["slug"], bob)
    for body in ("one", "two"):
        await a.send({"type": "send", "body": body})
        await b.next("message", body=body)
    redis_server.stop()
    status, health = await _health(s0.base)
    assert status == 503 and health["redis"] == "down" and health["status"] == "unavailable"
    # A send while Redis is down is refused with an error, never silently lost.
    await a.send({"type": "send", "body": "during", "ref": "d"})
    err = await a.next("error", timeout=15)
    assert err["ref"] == "d"
    redis_server.start()
    for server in (s0, s1):
        for _ in range(100):
            if (await _health(server.base))[0] == 200:
                break
            await asyncio.sleep(0.1)
        assert (await _health(server.base))[0] == 200
    # Publications may have been lost meanwhile: every socket is asked to resume (1013).
    for ws in (a, b):
        code, _ = await expect_close(ws, timeout=15)
        assert code == 1013
    # Resuming, both find the numbering the processes remembered: the same epoch, on from 2.
    a, wa = await WS.enter(s0.ws_base, room["slug"], alice, f"after_seq=2&epoch={welcome['epoch']}")
    b, wb = await WS.enter(s1.ws_base, room["slug"], bob, f"after_seq=2&epoch={welcome['epoch']}")
    assert wa["epoch"] == wb["epoch"] == welcome["epoch"]
    await a.send({"type": "send", "body": "after"})
    delivered = await b.next("message", body="after")
    assert delivered["seq"] > 2
    mine = await a.next("message", body="after")
    assert mine["seq"] == delivered["seq"]
    b2, welcome2 = await WS.enter(s1.ws_base, room["slug"], bob)
    assert welcome2["epoch"] == welcome["epoch"] and welcome2["seq"] == delivered["seq"]
    for ws in (a, b, b2):
        await ws.close()
