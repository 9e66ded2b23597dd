"""One contract, three backplanes: every test body here runs against memory, one Redis and a
three-master Redis Cluster (sharded pub/sub).

Like uvicorn's protocol-implementation fixtures, the `plane` fixture is parametrized over the
implementations in `server/broker/`; a few tests only make sense where state lives outside the
process (Redis loss, sealing at rest, expiry of a dead process's presence) and use Redis alone.

Redis is a private `redis-server` this module starts on a free port, never the shared one;
every test uses its own room names and keys (uuid), so tests do not see each other's state.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from server.broker.base import Append, Appended, Backplane, WindowRead
from server.broker.envelope import (
    Header,
    decode_publication,
    encode_header,
    numbered_publication,
    room_channel,
)
from server.broker.memory import memory_backplane
from server.broker.redis_cluster import cluster_client
from server.broker.redis_log import RESTORE_MARGIN
from server.broker.redis_state import RedisPresence
from server.broker.select import open_backplane
from server.config import Settings
from server.sealing import Sealer, derive_key
from server.wire.out import MessageFields, message_fields

TIMEOUT_SCALE = float(os.environ.get("HEARTH_TEST_TIMEOUT_SCALE", "1"))


def scaled(seconds: float) -> float:
    """A wait or duration, stretched for slow machines."""
    return seconds * TIMEOUT_SCALE


WAIT = scaled(5.0)  # longest wait for something that should arrive at once
WINDOW = max(1, math.ceil(TIMEOUT_SCALE))  # a short resume window, whole seconds
LONG_WINDOW = 3600
SECRET = "contract-test-secret-0123456789"
AUTHOR = {"id": "u-author", "display_name": "Author", "role": "member"}


# --- a private Redis ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of our own on a free port, stopped (by its PID) at the end."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server must be installed for the backplane contract tests"
    workdir: Path = tmp_path_factory.mktemp("redis")
    for _attempt in range(5):
        port = _free_port()
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + scaled(10.0)
        while proc.poll() is None and time.monotonic() < deadline:
            if _answers_ping(port):
                break
            time.sleep(0.05)
        if proc.poll() is None and _answers_ping(port):
            break
        proc.kill()  # lost the port to someone else, or never came up: try another
        proc.wait()
    else:
        pytest.fail("could not start a private redis-server")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=scaled(10.0))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
async def raw_redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A plain client for looking at (or damaging) what the backplane stored."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=False)
    try:
        yield client
    finally:
        await client.aclose()


# --- the backplanes under test ------------------------------------------------------------


@dataclass
class Plane:
    """A started backplane and the publications its pub/sub delivered."""

    kind: str
    backplane: Backplane
    deliveries: asyncio.Queue[tuple[str, str]] = field(default_factory=asyncio.Queue)
    reconnections: int = 0

    def deliver(self, channel: str, data: str | bytes) -> None:
        self.deliveries.put_nowait((channel, data if isinstance(data, str) else data.decode()))

    def reconnected(self) -> None:
        self.reconnections += 1

    @property
    def log(self) -> Any:
        return self.backplane.log

    async def delivery(self) -> tuple[str, str]:
        """The next (channel, data) delivered; fails if none comes in time."""
        return await asyncio.wait_for(self.deliveries.get(), WAIT)

    async def deliveries_of(self, n: int) -> list[tuple[str, str]]:
        return [await self.delivery() for _ in range(n)]


def redis_settings(redis_url: str, presence_ttl_seconds: int = 30) -> Settings:
    return Settings(
        redis_url=redis_url, secret_key=SECRET, presence_ttl_seconds=presence_ttl_seconds
    )


@asynccontextmanager
async def started(kind: str, settings: Settings | None = None) -> AsyncIterator[Plane]:
    """A backplane built the way the server builds it, delivering into a queue."""
    close: Callable[[], Awaitable[None]]
    if kind == "memory":
        backplane = memory_backplane()

        async def close() -> None:
            await backplane.pubsub.close()

    else:
        assert settings is not None and settings.redis_url
        backplane, close = open_backplane(settings)
    plane = Plane(kind, backplane)
    try:
        await backplane.pubsub.start(plane.deliver, plane.reconnected)
        yield plane
    finally:
        await close()


def _url_of(request: pytest.FixtureRequest, kind: str) -> str:
    if kind == "redis-cluster":
        return str(request.getfixturevalue("redis_cluster_nodes").url)
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture(params=["memory", "redis", "redis-cluster"])
async def plane(request: pytest.FixtureRequest) -> AsyncIterator[Plane]:
    settings = None
    if request.param != "memory":
        settings = redis_settings(_url_of(request, request.param))
    async with started(request.param, settings) as started_plane:
        yield started_plane


# --- helpers ------------------------------------------------------------------------------


def new_room() -> str:
    return f"room-{uuid.uuid4().hex[:12]}"


def channel_of(room: str) -> str:
    # The room log publishes on the room's channel, in the slot of the room's keys.
    return room_channel(room)


def header_of(room: str) -> Header:
    return Header(kind="message", conn=f"c-{room}", ref='r \u00e9 "')


async def append(
    plane: Plane,
    room: str,
    body: str = "hello",
    *,
    message_id: str | None = None,
    author_id: str = "u-author",
    ref_key: str | None = None,
    window: int = LONG_WINDOW,
    known: tuple[str, int] | None = None,
) -> Appended:
    """Append one message the way the send pipeline does (a real message frame)."""
    message_id = message_id or f"m-{uuid.uuid4().hex}"
    fields = MessageFields(message_id, room, AUTHOR, body, 1_700_000_000_000, False)
    appended: Appended = await plane.log.append(
        Append(
            room=room,
            message_id=message_id,
            author_id=author_id,
            fields=message_fields(fields),
            header=header_of(room),
            ref_key=ref_key,
            window_seconds=window,
            known=known,
        )
    )
    return appended


def publication(room: str, appended: Appended) -> tuple[str, str]:
    """What subscribers of the room's channel receive for an appended message: the very
    text `numbered_publication` writes (the Redis script writes the same)."""
    header = encode_header(header_of(room))
    text = numbered_publication(appended.epoch, appended.seq, header, appended.frame)
    return channel_of(room), text


def seq_of(data: str) -> int:
    publication = decode_publication(data)
    assert json.loads(publication.frame_text())["seq"] == publication.seq
    return publication.seq


def seqs(read: WindowRead) -> list[int]:
    return [seq for seq, _ in read.entries]


# --- pub/sub ------------------------------------------------------------------------------


async def test_pubsub_names_its_backend_and_is_healthy(plane: Plane) -> None:
    assert plane.backplane.pubsub.name == plane.kind
    assert await plane.backplane.pubsub.healthy() is True


async def test_publish_reaches_only_subscribed_channels(plane: Plane) -> None:
    pubsub = plane.backplane.pubsub
    wanted, other = f"c-{uuid.uuid4().hex}", f"c-{uuid.uuid4().hex}"
    await pubsub.subscribe(wanted)
    await pubsub.publish(other, "not for us")
    await pubsub.publish(wanted, "for us \u3000 \U0001f600")
    # Published in this order: had `other` been delivered, it would have come first.
    assert await plane.delivery() == (wanted, "for us \u3000 \U0001f600")
    await pubsub.publish(wanted, "second")
    assert await plane.delivery() == (wanted, "second")


async def test_publications_arrive_in_publish_order(plane: Plane) -> None:
    pubsub = plane.backplane.pubsub
    channel = f"c-{uuid.uuid4().hex}"
    await pubsub.subscribe(channel)
    for i in range(50):
        await pubsub.publish(channel, str(i))
    assert [data for _, data in await plane.deliveries_of(50)] == [str(i) for i in range(50)]


async def test_subscribe_twice_delivers_once(plane: Plane) -> None:
    pubsub = plane.backplane.pubsub
    channel, marker = f"c-{uuid.uuid4().hex}", f"m-{uuid.uuid4().hex}"
    await pubsub.subscribe(channel)
    await pubsub.subscribe(channel)
    await pubsub.subscribe(marker)
    await pubsub.publish(channel, "once")
    await pubsub.publish(marker, "end")
    assert await plane.deliveries_of(2) == [(channel, "once"), (marker, "end")]


async def test_unsubscribe_stops_delivery(plane: Plane) -> None:
    pubsub = plane.backplane.pubsub
    channel, marker = f"c-{uuid.uuid4().hex}", f"m-{uuid.uuid4().hex}"
    await pubsub.subscribe(channel)
    await pubsub.subscribe(marker)
    await pubsub.publish(channel, "before")
    assert await plane.delivery() == (channel, "before")
    await pubsub.unsubscribe(channel)
    await pubsub.unsubscribe(channel)  # idempotent
    await pubsub.publish(channel, "after")
    await pubsub.publish(marker, "end")
    assert await plane.delivery() == (marker, "end")
    await pubsub.subscribe(channel)  # and a channel can be taken up again
    await pubsub.publish(channel, "again")
    assert await plane.delivery() == (channel, "again")


# --- room log: numbering and publication --------------------------------------------------


async def test_append_numbers_from_one_and_finishes_the_frame(plane: Plane) -> None:
    room = new_room()
    await plane.backplane.pubsub.subscribe(channel_of(room))
    results = [await append(plane, room, f"body {i}") for i in range(3)]
    assert [a.seq for a in results] == [1, 2, 3]
    assert all(a.duplicate is False for a in results)
    assert len({a.epoch for a in results}) == 1 and results[0].epoch
    for i, appended in enumerate(results):
        assert appended.frame.startswith('{"type":"message","seq":' + str(appended.seq) + ",")
        frame = json.loads(appended.frame)
        assert frame["type"] == "message"
        assert frame["seq"] == appended.seq
        assert frame["body"] == f"body {i}"
        assert frame["room"] == room
        assert frame["author"] == AUTHOR
    assert await plane.log.position(room) == (results[0].epoch, 3)


async def test_append_publishes_epoch_header_and_frame(plane: Plane) -> None:
    room = new_room()
    await plane.backplane.pubsub.subscribe(channel_of(room))
    first = await append(plane, room, "one")
    second = await append(plane, room, "two")
    assert await plane.delivery() == publication(room, first)
    assert await plane.delivery() == publication(room, second)


async def test_rooms_are_numbered_separately(plane: Plane) -> None:
    room_a, room_b = new_room(), new_room()
    assert (await append(plane, room_a)).seq == 1
    assert (await append(plane, room_a)).seq == 2
    assert (await append(plane, room_b)).seq == 1
    assert (await plane.log.position(room_a))[1] == 2
    assert (await plane.log.position(room_b))[1] == 1


async def test_concurrent_appends_are_published_in_seq_order(plane: Plane) -> None:
    room = new_room()
    await plane.backplane.pubsub.subscribe(channel_of(room))
    results = await asyncio.gather(*(append(plane, room, f"n{i}") for i in range(200)))
    assert sorted(a.seq for a in results) == list(range(1, 201))
    received = await plane.deliveries_of(200)
    assert [seq_of(data) for _, data in received] == list(range(1, 201))
    by_seq = {a.seq: a for a in results}
    assert received == [publication(room, by_seq[seq]) for seq in range(1, 201)]


async def test_position_creates_a_stable_epoch(plane: Plane) -> None:
    room = new_room()
    epoch, seq = await plane.log.position(room)
    assert isinstance(epoch, str) and epoch and seq == 0
    assert await plane.log.position(room) == (epoch, 0)
    appended = await append(plane, room)
    assert (appended.epoch, appended.seq) == (epoch, 1)
    assert await plane.log.position(room) == (epoch, 1)
    assert (await plane.log.position(new_room()))[0] != epoch


async def test_known_position_is_ignored_while_numbering_exists(plane: Plane) -> None:
    room = new_room()
    first = await append(plane, room)
    await append(plane, room)
    later = await append(plane, room, known=("some-other-epoch", 100))
    assert (later.epoch, later.seq) == (first.epoch, 3)


# --- room log: sent refs ------------------------------------------------------------------


async def test_repeated_ref_returns_the_original_and_publishes_nothing(plane: Plane) -> None:
    room = new_room()
    await plane.backplane.pubsub.subscribe(channel_of(room))
    original = await append(plane, room, "first words", ref_key="user-1:ref-a")
    assert original.duplicate is False
    assert await plane.delivery() == publication(room, original)

    again = await append(plane, room, "changed words", ref_key="user-1:ref-a")
    assert again.duplicate is True
    assert (again.seq, again.epoch, again.frame) == (original.seq, original.epoch, original.frame)
    assert json.loads(again.frame)["body"] == "first words"
    assert await plane.log.position(room) == (original.epoch, 1)

    marker = await append(plane, room, "next", ref_key="user-1:ref-b")
    assert (marker.seq, marker.duplicate) == (2, False)
    # The duplicate published nothing: the next publication is the marker's.
    assert await plane.delivery() == publication(room, marker)


async def test_refs_are_per_room(plane: Plane) -> None:
    room_a, room_b = new_room(), new_room()
    await append(plane, room_a, ref_key="u:r")
    other = await append(plane, room_b, ref_key="u:r")
    assert (other.seq, other.duplicate) == (1, False)


async def test_appends_without_ref_are_never_duplicates(plane: Plane) -> None:
    room = new_room()
    results = [await append(plane, room, "same") for _ in range(3)]
    assert [(a.seq, a.duplicate) for a in results] == [(1, False), (2, False), (3, False)]


# --- room log: the resume window ----------------------------------------------------------


async def test_read_returns_entries_after_a_seq_oldest_first(plane: Plane) -> None:
    room = new_room()
    results = [await append(plane, room, f"b{i}") for i in range(5)]
    epoch = results[0].epoch
    everything = await plane.log.read(room, 0, LONG_WINDOW)
    assert everything == WindowRead(epoch, 5, [(a.seq, a.frame) for a in results], 0)
    tail = await plane.log.read(room, 2, LONG_WINDOW)
    assert tail == WindowRead(epoch, 5, [(a.seq, a.frame) for a in results[2:]], 0)
    assert (await plane.log.read(room, 5, LONG_WINDOW)).entries == []
    assert (await plane.log.read(room, 99, LONG_WINDOW)).entries == []


async def test_read_of_an_empty_room(plane: Plane) -> None:
    room = new_room()
    read = await plane.log.read(room, 0, LONG_WINDOW)
    assert (read.seq, read.entries, read.floor) == (0, [], -1)
    assert read.epoch == (await plane.log.position(room))[0]


async def test_window_expiry_drops_old_entries_and_refs(plane: Plane) -> None:
    room = new_room()
    await append(plane, room, "old", ref_key="u:r", window=WINDOW)
    await append(plane, room, "old too", window=WINDOW)
    assert seqs(await plane.log.read(room, 0, WINDOW)) == [1, 2]
    await asyncio.sleep(WINDOW * 1.5)
    read = await plane.log.read(room, 0, WINDOW)
    assert (read.seq, read.entries, read.floor) == (2, [], -1)  # -1: none kept at all
    # The ref left with the window: the same ref is a new message now.
    again = await append(plane, room, "new", ref_key="u:r", window=WINDOW)
    assert (again.seq, again.duplicate) == (3, False)
    read = await plane.log.read(room, 0, WINDOW)
    assert seqs(read) == [3]
    assert read.floor == 2


async def test_window_expiry_is_per_entry(plane: Plane) -> None:
    room = new_room()
    await append(plane, room, "early", window=WINDOW)
    await asyncio.sleep(WINDOW * 0.7)
    await append(plane, room, "late", window=WINDOW)
    await asyncio.sleep(WINDOW * 0.6)
    read = await plane.log.read(room, 0, WINDOW)
    assert (seqs(read), read.floor, read.seq) == ([2], 1, 2)


async def test_window_keeps_at_most_1000_entries(plane: Plane) -> None:
    room = new_room()
    for i in range(1003):
        await append(plane, room, f"b{i}")
    read = await plane.log.read(room, 0, LONG_WINDOW)
    assert read.seq == 1003
    assert seqs(read) == list(range(4, 1004))
    assert read.floor == 3
    assert json.loads(read.entries[0][1])["body"] == "b3"
    assert seqs(await plane.log.read(room, 1000, LONG_WINDOW)) == [1001, 1002, 1003]


async def test_zero_window_keeps_nothing(plane: Plane) -> None:
    room = new_room()
    await plane.backplane.pubsub.subscribe(channel_of(room))
    first = await append(plane, room, "x", ref_key="u:r", window=0)
    second = await append(plane, room, "x", ref_key="u:r", window=0)
    # Still numbered and delivered live, but neither kept nor remembered by ref.
    assert [(a.seq, a.duplicate) for a in (first, second)] == [(1, False), (2, False)]
    assert await plane.deliveries_of(2) == [publication(room, first), publication(room, second)]
    read = await plane.log.read(room, 0, 0)
    assert (read.seq, read.entries, read.floor) == (2, [], -1)


async def test_locate_finds_room_and_seq_of_a_message(plane: Plane) -> None:
    room = new_room()
    await append(plane, room)
    message_id = f"m-{uuid.uuid4().hex}"
    await append(plane, room, message_id=message_id)
    located = await plane.log.locate(message_id)
    assert located is not None and located[:2] == (room, 2)
    assert await plane.log.locate(f"m-{uuid.uuid4().hex}") is None


async def test_remove_takes_entries_out_of_the_window(plane: Plane) -> None:
    room = new_room()
    results = [await append(plane, room, f"b{i}") for i in range(4)]
    await plane.log.remove(room, [2, 3])
    await plane.log.remove(room, [99])  # unknown seqs are no error
    read = await plane.log.read(room, 0, LONG_WINDOW)
    assert read.entries == [(1, results[0].frame), (4, results[3].frame)]
    assert (read.seq, read.floor) == (4, 0)


async def test_mark_first_entry_keeps_the_first_seq(plane: Plane) -> None:
    room, other_room = new_room(), new_room()
    assert await plane.log.mark_first_entry(room, "u1", 5) == 5
    assert await plane.log.mark_first_entry(room, "u1", 9) == 5
    assert await plane.log.mark_first_entry(room, "u1", 0) == 5
    assert await plane.log.mark_first_entry(room, "u2", 9) == 9
    assert await plane.log.mark_first_entry(other_room, "u1", 7) == 7


async def test_reset_clears_window_refs_and_first_entries(plane: Plane) -> None:
    room = new_room()
    first = await append(plane, room, ref_key="u:r")
    await append(plane, room)
    await append(plane, room)
    assert await plane.log.mark_first_entry(room, "u1", 2) == 2
    await plane.log.reset(room)

    read = await plane.log.read(room, 0, LONG_WINDOW)
    assert (read.epoch, read.seq, read.entries, read.floor) == (first.epoch, 3, [], -1)
    assert await plane.log.position(room) == (first.epoch, 3)  # numbering goes on
    assert await plane.log.mark_first_entry(room, "u1", 7) == 7
    again = await append(plane, room, ref_key="u:r")
    assert (again.seq, again.duplicate, again.epoch) == (4, False, first.epoch)
    read = await plane.log.read(room, 0, LONG_WINDOW)
    assert (seqs(read), read.floor) == ([4], 3)


async def test_last_sent_is_when_the_author_last_appended(plane: Plane) -> None:
    room = new_room()
    assert await plane.log.last_sent(room, "u1") is None
    before = time.time()
    await append(plane, room, author_id="u1", ref_key="u1:r")
    after = time.time()
    sent = await plane.log.last_sent(room, "u1")
    assert sent is not None and before - 0.01 <= sent <= after + 0.01
    assert await plane.log.last_sent(room, "u2") is None
    assert await plane.log.last_sent(new_room(), "u1") is None
    await asyncio.sleep(0.05)
    await append(plane, room, author_id="u1", ref_key="u1:r")  # a duplicate sends nothing
    assert await plane.log.last_sent(room, "u1") == sent
    await append(plane, room, author_id="u1")
    later = await plane.log.last_sent(room, "u1")
    assert later is not None and later > sent


# --- presence -----------------------------------------------------------------------------


def participant(user_id: str) -> str:
    return json.dumps({"id": user_id, "display_name": user_id.upper(), "role": "member"})


async def test_presence_counts_users_not_sockets(plane: Plane) -> None:
    presence, room = plane.backplane.presence, new_room()
    p1, p2 = participant("u1"), participant("u2")
    assert await presence.join(room, "u1", "c1", p1) is True
    assert await presence.join(room, "u1", "c2", p1) is False
    assert await presence.join(room, "u2", "c3", p2) is True
    assert sorted(await presence.members(room)) == sorted([p1, p2])

    assert await presence.leave(room, "u1", "c1") is False
    assert sorted(await presence.members(room)) == sorted([p1, p2])
    assert await presence.leave(room, "u1", "c2") is True
    assert await presence.members(room) == [p2]
    assert await presence.leave(room, "u1", "c2") is False  # already gone
    assert await presence.leave(room, "u9", "c9") is False  # never there
    assert await presence.leave(room, "u2", "c3") is True
    assert await presence.members(room) == []

    assert await presence.join(room, "u1", "c4", p1) is True  # back again: first once more


async def test_presence_is_per_room(plane: Plane) -> None:
    presence, room_a, room_b = plane.backplane.presence, new_room(), new_room()
    p1 = participant("u1")
    assert await presence.join(room_a, "u1", "c1", p1) is True
    assert await presence.join(room_b, "u1", "c2", p1) is True
    assert await presence.members(room_b) == [p1]
    assert await presence.leave(room_a, "u1", "c1") is True
    assert await presence.members(room_a) == []
    assert await presence.members(room_b) == [p1]


async def test_heartbeat_keeps_live_sockets_present(plane: Plane) -> None:
    presence, room = plane.backplane.presence, new_room()
    p1 = participant("u1")
    await presence.join(room, "u1", "c1", p1)
    await presence.heartbeat([(room, "u1", "c1", p1)])
    await presence.heartbeat([])
    assert await presence.members(room) == [p1]
    assert await presence.sweep(room) == []
    assert await presence.members(room) == [p1]
    assert await presence.leave(room, "u1", "c1") is True


async def test_heartbeat_shows_a_changed_role(plane: Plane) -> None:
    presence, room = plane.backplane.presence, new_room()
    p1, p2 = participant("u1"), participant("u2")
    await presence.join(room, "u1", "c1", p1)
    await presence.join(room, "u2", "c2", p2)
    host = json.dumps({"id": "u1", "display_name": "U1", "role": "facilitator"})
    await presence.heartbeat([(room, "u1", "c1", host), (room, "u2", "c2", p2)])
    assert sorted(await presence.members(room)) == sorted([host, p2])
    await presence.heartbeat([(room, "u1", "c1", host), (room, "u2", "c2", p2)])
    assert sorted(await presence.members(room)) == sorted([host, p2])
    assert await presence.leave(room, "u1", "c1") is True
    assert await presence.members(room) == [p2]


# --- counters -----------------------------------------------------------------------------


async def test_hit_counts_events_in_a_sliding_window(plane: Plane) -> None:
    counters, key = plane.backplane.counters, f"k-{uuid.uuid4().hex}"
    window = scaled(1.0)
    assert await counters.hit(key, window, add=False) == 0
    assert await counters.hit(key, window) == 1
    await asyncio.sleep(window * 0.6)
    assert await counters.hit(key, window) == 2
    assert await counters.hit(key, window, add=False) == 2  # reading adds nothing
    assert await counters.hit(f"k-{uuid.uuid4().hex}", window) == 1  # keys are separate
    await asyncio.sleep(window * 0.6)
    assert await counters.hit(key, window, add=False) == 1  # the first has slid out
    await asyncio.sleep(window * 0.6)
    assert await counters.hit(key, window, add=False) == 0
    assert await counters.hit(key, window) == 1


async def test_claims_are_counted_and_recorded_in_one_step(plane: Plane) -> None:
    """`claim` never lets more than `limit` events into a window, however many ask at once
    (the login throttle relies on it); `release` gives a place back."""
    counters, key = plane.backplane.counters, f"k-{uuid.uuid4().hex}"
    window = scaled(30.0)
    claims = await asyncio.gather(*(counters.claim(key, window, 5) for _ in range(40)))
    granted = [c for c in claims if c is not None]
    assert len(granted) == 5 and len(set(granted)) == 5
    assert await counters.hit(key, window, add=False) == 5
    await counters.release(key, granted[0])
    assert await counters.hit(key, window, add=False) == 4
    again = await counters.claim(key, window, 5)
    assert again is not None and await counters.claim(key, window, 5) is None
    await counters.release(key, "not-a-claim")  # unknown ids are ignored
    assert await counters.hit(key, window, add=False) == 5


async def test_put_get_delete(plane: Plane) -> None:
    counters, key = plane.backplane.counters, f"k-{uuid.uuid4().hex}"
    assert await counters.get(key) is None
    await counters.put(key, "one")
    assert await counters.get(key) == "one"
    await counters.put(key, "two \u3000")
    assert await counters.get(key) == "two \u3000"
    await counters.delete(key)
    assert await counters.get(key) is None
    await counters.delete(key)  # deleting nothing is fine


async def test_put_with_ttl_expires(plane: Plane) -> None:
    counters = plane.backplane.counters
    brief, lasting = f"k-{uuid.uuid4().hex}", f"k-{uuid.uuid4().hex}"
    await counters.put(brief, "soon gone", ttl_seconds=scaled(0.5))
    await counters.put(lasting, "stays")
    assert await counters.get(brief) == "soon gone"
    await asyncio.sleep(scaled(1.0))
    assert await counters.get(brief) is None
    assert await counters.get(lasting) == "stays"


# --- Redis only: state that outlives a process --------------------------------------------


@pytest.fixture
async def redis_plane(redis_url: str) -> AsyncIterator[Plane]:
    async with started("redis", redis_settings(redis_url)) as started_plane:
        yield started_plane


async def test_redis_pubsub_reports_a_lost_connection_once_it_is_back(
    redis_plane: Plane, raw_redis: aioredis.Redis
) -> None:
    pubsub, channel = redis_plane.backplane.pubsub, f"c-{uuid.uuid4().hex}"
    await pubsub.subscribe(channel)
    await pubsub.publish(channel, "before")
    assert await redis_plane.delivery() == (channel, "before")
    assert redis_plane.reconnections == 0
    await raw_redis.client_kill_filter(_type="pubsub")  # publications may now be lost
    deadline = time.monotonic() + WAIT
    while redis_plane.reconnections == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert redis_plane.reconnections == 1
    await pubsub.publish(channel, "after")  # subscribed again
    assert await redis_plane.delivery() == (channel, "after")


async def test_redis_known_position_survives_loss_of_numbering(
    redis_plane: Plane, raw_redis: aioredis.Redis
) -> None:
    room = new_room()
    for _ in range(3):
        old = await append(redis_plane, room)
    await raw_redis.delete(f"hearth:room:{{{room}}}:seq", f"hearth:room:{{{room}}}:epoch")
    resumed = await append(redis_plane, room, known=(old.epoch, 5))
    # Resumed past a margin: seqs may skip numbers after a loss, never repeat one.
    assert (resumed.epoch, resumed.seq) == (old.epoch, 5 + RESTORE_MARGIN + 1)
    assert await redis_plane.log.position(room) == (old.epoch, 5 + RESTORE_MARGIN + 1)

    # Lost, and no process remembers: a new numbering starts.
    await raw_redis.delete(f"hearth:room:{{{room}}}:seq", f"hearth:room:{{{room}}}:epoch")
    fresh = await append(redis_plane, room)
    assert fresh.epoch != old.epoch and fresh.seq == 1
    assert await redis_plane.log.position(room) == (fresh.epoch, 1)


def _raw(value: Any) -> bytes:
    """A value from a client without decode_responses (typed `bytes | str` by redis-py)."""
    return value if isinstance(value, bytes) else str(value).encode()


async def _stored_values(client: aioredis.Redis, key: bytes) -> list[bytes]:
    """Everything Redis holds under `key`, read by type, plus its serialized dump."""
    kind = _raw(await client.type(key)).decode()
    found: list[Any] = []
    if kind == "string":
        found.append(await client.get(key) or b"")
    elif kind == "zset":
        scored: list[Any] = await client.zrange(key, 0, -1, withscores=True)
        found += [member for member, _ in scored]
    elif kind == "hash":
        hashed: dict[Any, Any] = await client.hgetall(key)
        for name, value in hashed.items():
            found += [name, value]
    elif kind == "set":
        found += list(await client.smembers(key))
    elif kind == "list":
        found += list(await client.lrange(key, 0, -1))
    dumped = await client.dump(key)
    if dumped is not None:
        found.append(dumped)
    return [_raw(value) for value in found]


async def test_redis_window_is_sealed_at_rest(
    redis_plane: Plane, raw_redis: aioredis.Redis
) -> None:
    room = new_room()
    phrase = f"my secret {uuid.uuid4().hex} words"
    await redis_plane.backplane.pubsub.subscribe(channel_of(room))
    original = await append(redis_plane, room, phrase, ref_key="u:sealed")
    # The live publication is plain (Redis does not keep it) ...
    assert phrase in (await redis_plane.delivery())[1]
    # ... and the window and the ref give the words back ...
    assert phrase in (await redis_plane.log.read(room, 0, LONG_WINDOW)).entries[0][1]
    again = await append(redis_plane, room, "other", ref_key="u:sealed")
    assert again.duplicate and again.frame == original.frame

    # ... but nothing Redis stores holds them.
    keys = [key async for key in raw_redis.scan_iter(match=b"hearth:*", count=1000)]
    assert f"hearth:room:{{{room}}}:window".encode() in keys
    room_values = 0
    for key in keys:
        for value in await _stored_values(raw_redis, key):
            assert phrase.encode() not in value, key
            if room.encode() in key:
                room_values += 1
    assert room_values >= 4


@pytest.mark.parametrize("kind", ["redis", "redis-cluster"])
async def test_redis_processes_share_numbering_and_fan_out(
    request: pytest.FixtureRequest, kind: str
) -> None:
    room = new_room()
    settings = redis_settings(_url_of(request, kind))
    async with started(kind, settings) as one, started(kind, settings) as two:
        await one.backplane.pubsub.subscribe(channel_of(room))
        await two.backplane.pubsub.subscribe(channel_of(room))
        results = await asyncio.gather(
            *(append(one if i % 2 else two, room, f"n{i}") for i in range(100))
        )
        assert sorted(a.seq for a in results) == list(range(1, 101))
        by_seq = {a.seq: a for a in results}
        expected = [publication(room, by_seq[seq]) for seq in range(1, 101)]
        assert await one.deliveries_of(100) == expected
        assert await two.deliveries_of(100) == expected
        assert await two.log.read(room, 98, LONG_WINDOW) == WindowRead(
            results[0].epoch, 100, [(99, by_seq[99].frame), (100, by_seq[100].frame)], 0
        )


async def test_redis_presence_of_a_dead_process_expires(redis_url: str) -> None:
    ttl = WINDOW  # whole seconds, like the setting
    room = new_room()
    p1, p2 = participant("u1"), participant("u2")
    async with started("redis", redis_settings(redis_url, presence_ttl_seconds=ttl)) as plane:
        presence = plane.backplane.presence
        assert await presence.join(room, "u1", "c1", p1) is True  # its process then dies
        assert await presence.join(room, "u2", "c2", p2) is True  # its process lives on
        deadline = time.monotonic() + ttl * 1.6
        while time.monotonic() < deadline:
            await presence.heartbeat([(room, "u2", "c2", p2)])
            await asyncio.sleep(ttl / 5)
        assert await presence.members(room) == [p2]
        assert await presence.sweep(room) == [p1]
        assert await presence.sweep(room) == []  # announced once
        assert await presence.members(room) == [p2]
        assert await presence.join(room, "u1", "c3", p1) is True  # a new socket: joined anew


async def test_redis_heartbeat_restores_presence_lost_by_redis(
    redis_plane: Plane, raw_redis: aioredis.Redis
) -> None:
    presence, room = redis_plane.backplane.presence, new_room()
    p1, p2 = participant("u1"), participant("u2")
    assert await presence.join(room, "u1", "c1", p1) is True
    assert await presence.join(room, "u1", "c2", p1) is False
    assert await presence.join(room, "u2", "c3", p2) is True
    lost = [key async for key in raw_redis.scan_iter(match=f"hearth:presence:{{{room}}}*".encode())]
    assert len(lost) >= 3
    await raw_redis.delete(*lost)  # a restarted Redis
    assert await presence.members(room) == []
    await presence.heartbeat(
        [(room, "u1", "c1", p1), (room, "u1", "c2", p1), (room, "u2", "c3", p2)]
    )
    assert sorted(await presence.members(room)) == sorted([p1, p2])
    # Both sockets came back: the user leaves only with the second.
    assert await presence.leave(room, "u1", "c1") is False
    assert await presence.leave(room, "u1", "c2") is True
    assert await presence.members(room) == [p2]


class CountingSealer(Sealer):
    """The backplane's sealer, counting what it seals."""

    def __init__(self) -> None:
        super().__init__({"w1": derive_key(SECRET, "resume-window")}, "w1")
        self.sealed = 0

    def seal(self, plain: str, context: bytes = b"") -> str:
        self.sealed += 1
        return super().seal(plain, context)


@dataclass
class CountedPresence:
    """Redis presence as the server builds it, with its seals and script calls counted."""

    presence: RedisPresence
    sealer: CountingSealer
    raw: aioredis.Redis

    async def calls(self) -> dict[str, int]:
        """Commands Redis ran since the last call (its own statistics, then reset)."""
        stats: dict[str, Any] = await self.raw.info("commandstats")
        await self.raw.config_resetstat()
        return {name.removeprefix("cmdstat_"): int(s["calls"]) for name, s in stats.items()}


@pytest.fixture
async def counted(redis_url: str, raw_redis: aioredis.Redis) -> AsyncIterator[CountedPresence]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    sealer = CountingSealer()
    try:
        yield CountedPresence(RedisPresence(client, 30.0, sealer), sealer, raw_redis)
    finally:
        await client.aclose()


def beat_of(rooms: dict[str, int]) -> list[tuple[str, str, str, str]]:
    """Sockets of `rooms` (room -> sockets), two a user, as `_presence_round` lists them."""
    return [
        (room, f"u{i // 2}", f"c-{room}-{i}", participant(f"u{i // 2}"))
        for room, count in rooms.items()
        for i in range(count)
    ]


async def test_redis_heartbeat_is_one_script_call_per_room_and_chunk(
    counted: CountedPresence,
) -> None:
    rooms = {new_room(): 250, new_room(): 30, new_room(): 1}  # 3 + 1 + 1 chunks of <= 100
    sockets = beat_of(rooms)
    for room, user_id, conn_id, text in sockets:
        await counted.presence.join(room, user_id, conn_id, text)
    assert counted.sealer.sealed == len(sockets)
    await counted.calls()
    await counted.presence.heartbeat(sockets)
    calls = await counted.calls()
    assert calls.get("evalsha", 0) + calls.get("eval", 0) == 5
    assert "hset" not in calls and "hsetnx" not in calls  # nothing changed: nothing written
    assert counted.sealer.sealed == len(sockets)  # and nothing sealed again
    for room, count in rooms.items():
        users = {f"u{i // 2}" for i in range(count)}
        assert sorted(await counted.presence.members(room)) == sorted(map(participant, users))
        base = f"hearth:presence:{{{room}}}"
        assert await counted.raw.zcard(base) == len(users)
        assert await counted.raw.zcard(f"{base}:user:u0") == min(count, 2)
        assert 0 < await counted.raw.pttl(f"{base}:user:u0") <= 86400000


async def test_redis_heartbeat_reseals_only_a_changed_participant(
    counted: CountedPresence,
) -> None:
    presence, room = counted.presence, new_room()
    p1, p2 = participant("u1"), participant("u2")
    await presence.join(room, "u1", "c1", p1)
    await presence.join(room, "u2", "c2", p2)
    assert counted.sealer.sealed == 2
    for _ in range(3):
        await presence.heartbeat([(room, "u1", "c1", p1), (room, "u2", "c2", p2)])
    assert counted.sealer.sealed == 2
    host = json.dumps({"id": "u1", "display_name": "U1", "role": "facilitator"})
    for _ in range(3):
        await presence.heartbeat([(room, "u1", "c1", host), (room, "u2", "c2", p2)])
        assert sorted(await presence.members(room)) == sorted([host, p2])
    assert counted.sealer.sealed == 3  # the change, once
    keys = [key async for key in counted.raw.scan_iter(match=f"*{room}*".encode())]
    for key in keys:  # still sealed at rest
        for value in await _stored_values(counted.raw, key):
            assert b"facilitator" not in value and b"U1" not in value, key


async def test_redis_heartbeat_restores_participants_lost_by_redis(
    counted: CountedPresence,
) -> None:
    presence, room = counted.presence, new_room()
    sockets = beat_of({room: 6})  # u0, u1, u2: two sockets each
    for entry in sockets:
        await presence.join(*entry)
    await counted.raw.delete(f"hearth:presence:{{{room}}}:info")  # lost, sockets kept
    assert await presence.members(room) == []
    sealed = counted.sealer.sealed
    await counted.calls()
    await presence.heartbeat(sockets)
    assert sorted(await presence.members(room)) == sorted(map(participant, ["u0", "u1", "u2"]))
    assert counted.sealer.sealed == sealed + 3  # once a user, not a socket
    assert await counted.raw.pttl(f"hearth:presence:{{{room}}}:info") > 0
    calls = await counted.calls()
    assert calls.get("evalsha", 0) + calls.get("eval", 0) == 3  # the beat, the fill, members
    await presence.heartbeat(sockets)  # restored: the next beat is one call again
    assert (await counted.calls()).get("evalsha", 0) == 1
    assert counted.sealer.sealed == sealed + 3


@pytest.mark.parametrize("kind", ["redis", "redis-cluster"])
async def test_redis_heartbeat_restores_participants_on_every_backend(
    request: pytest.FixtureRequest, kind: str
) -> None:
    """The second call (only after a loss) takes the cluster's path too: one per room."""
    rooms = [new_room() for _ in range(3)]  # on a cluster, most likely on several masters
    async with started(kind, redis_settings(_url_of(request, kind))) as plane:
        presence, client = plane.backplane.presence, plane.backplane.redis
        assert client is not None
        sockets = beat_of({room: 4 for room in rooms})
        for entry in sockets:
            await presence.join(*entry)
        for room in rooms:
            await client.delete(f"hearth:presence:{{{room}}}:info")
        await presence.heartbeat(sockets)
        for room in rooms:
            assert sorted(await presence.members(room)) == [participant("u0"), participant("u1")]


async def test_redis_presence_forgets_the_participant_of_a_socket_that_left(
    counted: CountedPresence,
) -> None:
    presence, room = counted.presence, new_room()
    p1 = participant("u1")
    await presence.join(room, "u1", "c1", p1)
    await presence.join(room, "u1", "c2", p1)
    assert sorted(presence._written) == ["c1", "c2"]  # what bounds its memory
    assert await presence.leave(room, "u1", "c1") is False
    assert sorted(presence._written) == ["c2"]
    await presence.heartbeat([(room, "u1", "c1", p1), (room, "u1", "c2", p1)])  # racing
    assert sorted(presence._written) == ["c2"]
    assert await presence.leave(room, "u1", "c2") is False  # c1 is back until it expires
    assert presence._written == {}


# --- the cluster URL ----------------------------------------------------------------------


async def test_cluster_url_names_its_nodes_and_credentials() -> None:
    client = cluster_client("redis+cluster://app:s%40cret@10.0.0.1:7000,[::1]:7001")
    try:
        nodes = [(node.host, node.port) for node in client.startup_nodes]
        assert sorted(nodes) == [("10.0.0.1", 7000), ("::1", 7001)]
        kwargs = client.connection_kwargs
        assert (kwargs.get("username"), kwargs.get("password")) == ("app", "s@cret")
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    "url", ["redis+cluster://", "redis+cluster://host", "redis+cluster://host:port,h2:1"]
)
async def test_a_bad_cluster_url_is_refused_clearly(url: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        cluster_client(url)


async def test_members_of_a_large_room(plane: Plane) -> None:
    """More present users than one Lua call can unpack at once (Redis reads in slices)."""
    presence, room = plane.backplane.presence, new_room()
    everyone = [f"u{i}" for i in range(8200)]  # Lua unpacks at most ~8,000
    await asyncio.gather(*(presence.join(room, u, f"c-{u}", participant(u)) for u in everyone))
    assert sorted(await presence.members(room)) == sorted(participant(u) for u in everyone)
