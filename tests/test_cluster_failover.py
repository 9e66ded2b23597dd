"""A Redis Cluster master dies, or a room's slot moves, under a live room: members see it,
and nothing goes missing unannounced.

The cluster here has no replicas, so the killed master's slots stay unserved until it comes
back (restarted on its port with its saved cluster config and none of its data). Members of a
room on that shard must see the loss: a send is refused with `unavailable` (never an ack for a
message nobody receives), the sockets are closed to resume once the shard answers again, and
the resume either hands back every message after `after_seq` or says `gap: true`.

Its own cluster (Redis nodes and two processes), since it breaks one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import make_room
from tests.support.client import WS, Member, admin_token, expect_close, new_user
from tests.support.redis_cluster import RedisClusterNodes, running_nodes
from tests.support.servers import Cluster, sqlite_cluster, started

RESUME_CLOSES = {1011, 1012, 1013}


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterNodes]:
    with running_nodes(tmp_path_factory.mktemp("failover-redis")) as found:
        yield found


@pytest.fixture(scope="module")
def cluster(
    nodes: RedisClusterNodes, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    with started(sqlite_cluster(tmp_path_factory.mktemp("failover"), nodes.url)) as running:
        yield running


@pytest.fixture
async def admin(cluster: Cluster) -> Member:
    return await admin_token(cluster.servers[0].base, cluster.admin)


async def _send_during_outage(ws: WS, body: str) -> dict[str, Any]:
    """Send while the shard is down: the answer is an error frame or the close, never silence."""
    await ws.send({"type": "send", "body": body, "ref": "outage"})
    while True:
        frame = await ws.recv(30)
        if frame["type"] in ("error", "message"):
            return frame


async def test_a_dead_master_is_announced_never_a_silent_hole(
    cluster: Cluster, nodes: RedisClusterNodes, admin: Member
) -> None:
    s0, s1 = cluster.servers
    room = await make_room(s0.base, admin)
    slug = room["slug"]
    alice, bob = await new_user(s0.base), await new_user(s0.base)
    a, _ = await WS.enter(s0.ws_base, slug, alice)
    b, welcome = await WS.enter(s1.ws_base, slug, bob)
    epoch = welcome["epoch"]
    for body in ("one", "two"):
        await a.send({"type": "send", "body": body})
        await a.next("message", body=body)
    seen = await b.next("message", body="two")

    port = nodes.owner_of(f"hearth:room:{{{slug}}}:seq")
    # A second room on the same master, held by s1 too: s1's connection to that master then
    # carries channels of two slots, which it must subscribe again slot by slot.
    other = await _room_on(nodes, port, admin, s0.base)
    c, _ = await WS.enter(s1.ws_base, other, bob)
    nodes.kill(port)
    frame = await _send_during_outage(a, "while down")
    # Refused, never acknowledged: Redis could neither number nor publish it.
    assert frame["type"] == "error" and frame["code"] == "unavailable", frame

    nodes.start_node(port)  # back on its port, its slots remembered, its data gone
    nodes.wait_ok()
    # Each process noticed its shard connection drop and come back: its sockets resume.
    for ws in (a, b, c):
        code, _ = await expect_close(ws, timeout=30)
        assert code in RESUME_CLOSES

    b, welcome = await WS.enter(
        s0.ws_base, slug, bob, f"after_seq={seen['seq']}&epoch={epoch}"
    )
    # Nothing was numbered after "two", but the shard lost the window: either way the
    # welcome is honest (the history is complete, or the gap is announced).
    assert welcome["history"] == [] or welcome["gap"] is True
    assert welcome["epoch"] == epoch  # the processes remembered the numbering
    assert welcome["seq"] >= seen["seq"]
    a, _ = await WS.enter(s1.ws_base, slug, alice)
    await a.send({"type": "send", "body": "after"})
    after = await b.next("message", body="after", timeout=10)
    assert after["seq"] > seen["seq"]  # numbers never repeat after a loss
    # And the other room talks again through both processes.
    c, _ = await WS.enter(s1.ws_base, other, bob)
    d, _ = await WS.enter(s0.ws_base, other, alice)
    await d.send({"type": "send", "body": "other room"})
    await c.next("message", body="other room", timeout=10)
    await asyncio.gather(a.close(), b.close(), c.close(), d.close())


async def _room_on(nodes: RedisClusterNodes, port: int, admin: Member, base: str) -> str:
    """A new room whose slot the master on `port` serves."""
    for _attempt in range(60):
        slug = str((await make_room(base, admin))["slug"])
        if nodes.owner_of(f"hearth:room:{{{slug}}}:seq") == port:
            return slug
    raise AssertionError("no room landed on that master in 60 tries")


async def test_a_moved_slot_is_followed_and_the_room_resumes(
    cluster: Cluster, nodes: RedisClusterNodes, admin: Member
) -> None:
    """A reshard moves the room's slot (keys and all) to another master: Redis unsubscribes
    the processes from its shard channel; they subscribe where it lives now and their sockets
    resume, so nothing published meanwhile is lost unannounced, and numbering goes on."""
    s0, s1 = cluster.servers
    room = await make_room(s0.base, admin)
    slug = room["slug"]
    alice, bob = await new_user(s0.base), await new_user(s0.base)
    a, _ = await WS.enter(s0.ws_base, slug, alice)
    b, welcome = await WS.enter(s1.ws_base, slug, bob)
    await a.send({"type": "send", "body": "before"})
    seen = await b.next("message", body="before")

    key = f"hearth:room:{{{slug}}}:seq"
    target = next(port for port in nodes.ports if port != nodes.owner_of(key))
    nodes.move_slot(key, target)
    assert nodes.owner_of(key) == target
    for ws in (a, b):
        code, _ = await expect_close(ws, timeout=30)
        assert code in RESUME_CLOSES

    b, again = await WS.enter(
        s0.ws_base, slug, bob, f"after_seq={seen['seq']}&epoch={welcome['epoch']}"
    )
    assert again["epoch"] == welcome["epoch"] and again["gap"] is False  # the keys moved too
    a, _ = await WS.enter(s1.ws_base, slug, alice)
    await a.send({"type": "send", "body": "after"})
    after = await b.next("message", body="after", timeout=10)
    assert after["seq"] == seen["seq"] + 1
    await asyncio.gather(a.close(), b.close())
