"""A hostile WebSocket client against a real `hearth serve`: a client that stops reading is
dropped at once, deeply nested frames are `invalid`, integer fields are bounded, and reports
are deduplicated, rate limited and bounded per room."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
import websockets

from tests.conftest import make_room
from tests.support.client import WS, Member, admin_token, new_user
from tests.support.hostile import connection_open, hostile_cluster
from tests.support.servers import SCALE, Cluster, ServerProcess


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = hostile_cluster(tmp_path_factory.mktemp("hostile"))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def server(hostile: Cluster) -> ServerProcess:
    return hostile.servers[0]


@pytest.fixture(scope="module")
async def boss(hostile: Cluster) -> Member:
    return await admin_token(hostile.servers[0].base, hostile.admin)


async def test_a_client_that_stops_reading_is_dropped_at_once(
    server: ServerProcess, boss: Member
) -> None:
    assert server.proc is not None
    room = await make_room(server.base, boss, max_message_chars=10000)
    talker, sleeper = await new_user(server.base), await new_user(server.base)
    t, _ = await WS.enter(server.ws_base, room["slug"], talker)
    sleepy = await websockets.connect(
        f"{server.ws_base}/ws/rooms/{room['slug']}",
        additional_headers=sleeper.headers,
        max_queue=1,
        max_size=2**20,
    )
    port = sleepy.local_address[1]
    assert connection_open(server.proc.pid, server.port, port)
    body = "x" * 9000

    async def drain_own() -> None:  # the talker reads its own copies, as a client must
        while True:
            await t.conn.recv()

    drainer = asyncio.create_task(drain_own())
    # Flood until the server lets go of the sleeper (queue full: 1013, then the transport
    # is aborted, megabytes unsent and all); a polite close would keep it for minutes.
    sent, deadline = 0, time.monotonic() + 60 * SCALE
    while connection_open(server.proc.pid, server.port, port):
        assert time.monotonic() < deadline, f"still connected after {sent} messages"
        for _ in range(50):
            await t.send({"type": "send", "body": f"{sent} {body}"})
            sent += 1
        await asyncio.sleep(0.05)
    assert sent < 3000
    drainer.cancel()
    await t.close()
    with pytest.raises(websockets.ConnectionClosed):
        while True:
            await asyncio.wait_for(sleepy.recv(), 10 * SCALE)


async def test_a_socket_outlives_the_request_time_limits(
    server: ServerProcess, boss: Member
) -> None:
    """The head and body timers end with the upgrade: a WebSocket stays open past both."""
    room = await make_room(server.base, boss)
    ws, _ = await WS.enter(server.ws_base, room["slug"], await new_user(server.base))
    await asyncio.sleep(2 + 2 + 2 + 1)  # request_head_seconds + request_body_seconds + grace
    await ws.send({"type": "ping", "ref": "alive"})
    assert (await ws.next("pong"))["ref"] == "alive"
    await ws.close()


async def test_a_frame_nested_1000_deep_is_invalid(server: ServerProcess, boss: Member) -> None:
    room = await make_room(server.base, boss)
    ws, _ = await WS.enter(server.ws_base, room["slug"], await new_user(server.base))
    for nested in (
        '{"type":"send","ref":"n1","x":' + "[" * 1000 + "]" * 1000 + "}",
        '{"type":"ping","x":' + '{"a":' * 1000 + "1" + "}" * 1000 + "}",
        "[" * 30_000 + "]" * 30_000,
    ):
        await ws.send(nested)
        assert (await ws.next("error"))["code"] == "invalid"
    await ws.send({"type": "ping", "ref": "still here"})
    assert (await ws.next("pong"))["ref"] == "still here"
    await ws.close()


@pytest.mark.parametrize(
    ("action", "seconds"),
    [
        ("mute", 2**62),
        ("mute", 10**30),
        ("mute", 365 * 86400 + 1),
        ("mute", 0),
        ("remove", 2**62),
        ("remove", 7 * 86400 + 1),
        ("slow_mode", 2**62),
    ],
)
async def test_integer_fields_of_mod_are_bounded(
    server: ServerProcess, boss: Member, action: str, seconds: int
) -> None:
    room = await make_room(server.base, boss)
    member = await new_user(server.base)
    m, _ = await WS.enter(server.ws_base, room["slug"], member)
    f, _ = await WS.enter(server.ws_base, room["slug"], boss)
    frame: dict[str, Any] = {"type": "mod", "action": action, "seconds": seconds, "ref": "big"}
    if action != "slow_mode":
        frame["user_id"] = member.id
    await f.send(frame)
    error = await f.next("error")
    assert error["code"] == "invalid" and error["ref"] == "big"
    # Nothing was stored: the member still talks and can enter again.
    await m.send({"type": "send", "body": "still here", "ref": "ok"})
    assert (await m.next("message", ref="ok"))["body"] == "still here"
    again, _ = await WS.enter(server.ws_base, room["slug"], member)
    # The largest allowed mute is kept and ends when it says.
    await f.send({"type": "mod", "action": "mute", "user_id": member.id, "seconds": 365 * 86400})
    muted = await f.next("moderation", action="mute")
    assert muted["seconds"] == 365 * 86400
    await m.send({"type": "send", "body": "muted now", "ref": "no"})
    assert (await m.next("error"))["code"] == "muted"
    for ws in (m, f, again):
        await ws.close()


async def test_reports_are_deduplicated_and_rate_limited(
    server: ServerProcess, boss: Member
) -> None:
    room = await make_room(server.base, boss)
    author, reporter = await new_user(server.base), await new_user(server.base)
    a, _ = await WS.enter(server.ws_base, room["slug"], author)
    r, _ = await WS.enter(server.ws_base, room["slug"], reporter)
    f, _ = await WS.enter(server.ws_base, room["slug"], boss)
    ids = []
    for i in range(7):
        await a.send({"type": "send", "body": f"message {i}", "ref": f"m{i}"})
        ids.append((await a.next("message", ref=f"m{i}"))["id"])
    # The same message reported three times: acknowledged each time, one flag.
    for _ in range(3):
        await r.send({"type": "report", "message_id": ids[0], "reason": "unkind"})
        assert (await r.next("report_received"))["message_id"] == ids[0]
    # Four more (five in all, the default per minute), then rate_limited.
    for message_id in ids[1:5]:
        await r.send({"type": "report", "message_id": message_id})
        await r.next("report_received")
    await r.send({"type": "report", "message_id": ids[5], "ref": "sixth"})
    error = await r.next("error")
    assert error["code"] == "rate_limited" and error["ref"] == "sixth"
    assert 0 < error["retry_after"] <= 60
    flags = [x for x in await f.quiet(1.0) if x["type"] == "flag"]
    assert sorted(x["message_id"] for x in flags) == sorted(ids[:5])
    for ws in (a, r, f):
        await ws.close()


async def test_open_flags_are_bounded_per_room(server: ServerProcess, boss: Member) -> None:
    """`open_flags_per_room` (20 in this cluster) open flags at most: then reports are
    refused, and a crisis flag still reaches facilitators, in place of the oldest other."""
    room = await make_room(server.base, boss)
    author = await new_user(server.base)
    a, _ = await WS.enter(server.ws_base, room["slug"], author)
    ids = []
    for i in range(21):
        await a.send({"type": "send", "body": f"message {i}", "ref": f"m{i}"})
        ids.append((await a.next("message", ref=f"m{i}"))["id"])
    for n in range(5):  # five reports each (their budget): 20 flags, then the room is full
        ws, _ = await WS.enter(server.ws_base, room["slug"], await new_user(server.base))
        for message_id in ids[n * 5 : n * 5 + 5] if n < 4 else ids[20:]:
            await ws.send({"type": "report", "message_id": message_id})
            assert await _answer(ws) == ("report_received" if n < 4 else "rate_limited"), n
        await ws.close()
    await a.send({"type": "send", "body": "I want to end my life", "ref": "c"})
    await a.next("message", ref="c")
    f, _ = await WS.enter(server.ws_base, room["slug"], boss)
    flags = [x for x in await f.quiet(1.5) if x["type"] == "flag"]
    assert len(flags) == 20
    assert any(x.get("hook") == "crisis" for x in flags)
    assert sum(x["source"] == "report" for x in flags) == 19  # one report's flag made room
    for ws in (a, f):
        await ws.close()


async def test_held_messages_are_bounded_per_room(server: ServerProcess, boss: Member) -> None:
    """`open_held_per_room` (3 in this cluster): then a message to hold is rejected."""
    room = await make_room(server.base, boss, contact_details="hold")
    a, _ = await WS.enter(server.ws_base, room["slug"], await new_user(server.base))
    for i in range(3):
        await a.send({"type": "send", "body": f"mail me: me{i}@example.org", "ref": f"h{i}"})
        assert (await a.next("notice"))["kind"] == "held"
    await a.send({"type": "send", "body": "mail me: me3@example.org", "ref": "h3"})
    refused = await a.next("error")
    assert refused["code"] == "rejected" and refused["ref"] == "h3"
    assert "waiting for review" in refused["reason"]
    f, _ = await WS.enter(server.ws_base, room["slug"], boss)
    held = [x for x in await f.quiet(1.0) if x["type"] == "held"]
    assert len(held) == 3
    # Once one is dealt with, another may wait.
    await f.send({"type": "mod", "action": "discard", "held_id": held[0]["held_id"]})
    await f.next("moderation", action="discard")
    await a.send({"type": "send", "body": "mail me: me4@example.org", "ref": "h4"})
    await a.next("notice", kind="held")  # after the author's `held_discarded`
    for ws in (a, f):
        await ws.close()


async def _answer(ws: WS) -> str:
    while True:
        frame = await ws.recv()
        if frame["type"] in ("report_received", "error"):
            return str(frame["type"] if frame["type"] != "error" else frame["code"])
