"""A burst of publications reaches each socket in one write (issue #16: batch on the way out),
and a lone publication is no burst.

The real app is served in this process on a shared Redis; a burst of publications on a
room's channel arrives in one read of the pub/sub connection. Each socket in the room must
get every frame, in order, and the frames the burst put to one socket must leave in one
write to its transport (counted at Hearth's uvicorn protocol), not one write per frame.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from websockets.protocol import State
from websockets.server import ServerProtocol

from server.broker.envelope import Header, encode_publication, room_channel
from server.broker.memory import MemoryPubSub
from server.broker.redis_pubsub import RedisPubSub
from server.http.connections import AbortableWebSocketProtocol, serialized
from tests.conftest import SHARED_REDIS
from tests.support.client import WS, admin_token, new_user, unique
from tests.support.in_process import serving
from tests.support.redis_server import emptied

BURST = 30


@pytest.mark.parametrize("length", [0, 1, 125, 126, 127, 65_535, 65_536, 70_000])
@pytest.mark.parametrize("char", ["a", "é", "🌿"])
def test_a_frame_made_once_is_the_frame_websockets_would_send(length: int, char: str) -> None:
    text = char * length
    protocol = ServerProtocol()
    protocol.state = State.OPEN
    protocol.send_text(text.encode())
    assert serialized(text) == b"".join(protocol.data_to_send())
    assert serialized(text) == serialized(text)  # and again, kept or not


async def test_a_burst_of_publications_leaves_in_one_write_per_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis_url = emptied(f"{SHARED_REDIS}/9")
    writes: list[int] = []  # frames per write to a transport
    write_texts = AbortableWebSocketProtocol.write_texts

    def counted(self: AbortableWebSocketProtocol, texts: Sequence[str]) -> int:
        writes.append(len(texts))
        return write_texts(self, texts)

    monkeypatch.setattr(AbortableWebSocketProtocol, "write_texts", counted)
    async with serving(tmp_path, redis_url) as app:
        admin = await admin_token(app.base, app.admin)
        slug = unique("burst-")
        async with httpx.AsyncClient(base_url=app.base, headers=admin.headers) as http:
            r = await http.post("/api/admin/rooms", json={"slug": slug, "title": "Burst"})
            assert r.status_code == 201, r.text
        sockets = [
            (await WS.enter(app.ws_base, slug, await new_user(app.base, "b")))[0]
            for _ in range(2)
        ]
        for ws in sockets:
            await ws.quiet(0.3)  # the other's arrival
        writes.clear()
        publisher = aioredis.Redis.from_url(redis_url)
        try:
            async with publisher.pipeline(transaction=False) as pipe:
                for n in range(BURST):
                    frame = json.dumps({"type": "burst", "n": n})
                    pipe.publish(room_channel(slug), encode_publication(Header(), frame))
                await pipe.execute()
        finally:
            await publisher.aclose()
        for ws in sockets:
            frames = [await ws.next("burst") for _ in range(BURST)]
            assert [f["n"] for f in frames] == list(range(BURST))
        burst = list(writes)
        for ws in sockets:
            await ws.close()
    assert sum(burst) == 2 * BURST
    # One read of the subscription carries the burst: far fewer writes than frames.
    assert len(burst) <= 2 * 4, f"frames per write: {burst}"


class Told:
    """A `Bursts` and a delivery that write down, in order, what the reader told them."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def begin(self) -> None:
        self.events.append("begin")

    def end(self) -> None:
        self.events.append("end")

    def deliver(self, channel: str, data: str | bytes) -> None:
        self.events.append(f"deliver {json.loads(data)['n']}")


@pytest.mark.parametrize("backend", ["redis", "memory"])
async def test_a_reader_tells_a_burst_but_not_a_lone_publication(backend: str) -> None:
    told = Told()
    channel = room_channel(unique("told-"))
    client = aioredis.Redis.from_url(emptied(f"{SHARED_REDIS}/9"), decode_responses=True)
    pubsub: RedisPubSub | MemoryPubSub = (
        RedisPubSub(client) if backend == "redis" else MemoryPubSub()
    )
    await pubsub.start(told.deliver, lambda: None, told)
    await pubsub.subscribe(channel)

    async def publish(*ns: int) -> None:
        data = [json.dumps({"n": n}) for n in ns]
        if isinstance(pubsub, MemoryPubSub):
            for one in data:
                pubsub.publish_now(channel, one)
        else:
            async with client.pipeline(transaction=False) as pipe:
                for one in data:
                    pipe.publish(channel, one)
                await pipe.execute()

    async def heard(n: int) -> None:
        async with asyncio.timeout(5):
            while f"deliver {n}" not in told.events:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)

    try:
        await publish(0)
        await heard(0)
        assert "begin" not in told.events  # a lone publication: written at once
        told.events.clear()
        await publish(1, 2, 3)
        await heard(3)
        delivered = [e for e in told.events if e.startswith("deliver")]
        assert delivered == ["deliver 1", "deliver 2", "deliver 3"]
        # Begun before the first of them was handed over, ended after the last.
        assert told.events.index("begin") < told.events.index("deliver 1")
        assert told.events[-1] == "end" and told.events.index("deliver 3") < len(told.events) - 1
    finally:
        await pubsub.close()
        await client.aclose()
