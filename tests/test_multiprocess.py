"""Two real server processes sharing Redis and one database: one room across both.

Every test runs twice: on one Redis, and on a three-master Redis Cluster (sharded pub/sub).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.conftest import make_room
from tests.support.client import WS, Member, admin_token, expect_close, new_user
from tests.support.servers import Cluster


@pytest.fixture(params=["redis", "redis-cluster"])
def cluster(request: pytest.FixtureRequest) -> Cluster:
    """The session's processes on one Redis, or those on the Redis Cluster."""
    name = "single_redis_cluster" if request.param == "redis" else "sharded_cluster"
    found: Cluster = request.getfixturevalue(name)
    return found


@pytest.fixture
async def admin(cluster: Cluster) -> Member:
    return await admin_token(cluster.servers[0].base, cluster.admin)


async def test_every_message_reaches_every_member_once_in_one_order(
    cluster: Cluster, room: dict[str, Any]
) -> None:
    s0, s1 = cluster.servers
    users = [await new_user(s0.base) for _ in range(4)]
    sockets = []
    for i, user in enumerate(users):
        server = (s0, s1)[i % 2]
        sockets.append((await WS.enter(server.ws_base, room["slug"], user))[0])
    per_sender = 5

    async def burst(i: int, ws: WS) -> None:
        for n in range(per_sender):
            await ws.send({"type": "send", "body": f"{i}:{n}", "ref": f"{i}-{n}"})

    await asyncio.gather(*(burst(i, ws) for i, ws in enumerate(sockets)))
    total = per_sender * len(sockets)
    orders = []
    for i, ws in enumerate(sockets):
        got: list[dict[str, Any]] = []
        while len(got) < total:
            got.append(await ws.next("message"))
        extra = [f for f in await ws.quiet(0.3) if f["type"] == "message"]
        assert extra == [], "a message arrived twice"
        seqs = [m["seq"] for m in got]
        assert seqs == sorted(seqs) and len(set(seqs)) == total
        assert sorted(m["body"] for m in got) == sorted(
            f"{s}:{n}" for s in range(len(sockets)) for n in range(per_sender)
        )
        mine = [m for m in got if m["author"]["id"] == users[i].id]
        assert [m["ref"] for m in mine] == [f"{i}-{n}" for n in range(per_sender)]
        assert all("ref" not in m for m in got if m["author"]["id"] != users[i].id)
        orders.append([m["id"] for m in got])
    assert all(order == orders[0] for order in orders)
    for ws in sockets:
        await ws.close()


async def test_presence_crosses_processes(cluster: Cluster, room: dict[str, Any]) -> None:
    s0, s1 = cluster.servers
    alice, bob = await new_user(s0.base), await new_user(s0.base)
    a, _ = await WS.enter(s0.ws_base, room["slug"], alice)
    b, welcome = await WS.enter(s1.ws_base, room["slug"], bob)
    assert welcome["members"] == [
        {"id": alice.id, "display_name": alice.username, "role": "member"}
    ]
    joined = await a.next("presence")
    assert joined == {
        "type": "presence",
        "status": "joined",
        "user": {"id": bob.id, "display_name": bob.username, "role": "member"},
    }
    # A second socket of Bob's, on the other process, is not a second presence.
    b2, welcome2 = await WS.enter(s0.ws_base, room["slug"], bob)
    assert [m["id"] for m in welcome2["members"]] == [alice.id]
    await b.close()
    assert [f for f in await a.quiet(0.5) if f["type"] == "presence"] == []
    await b2.close()
    left = await a.next("presence")
    assert left["status"] == "left" and left["user"]["id"] == bob.id
    await a.close()


async def test_resume_through_the_other_process(cluster: Cluster, room: dict[str, Any]) -> None:
    s0, s1 = cluster.servers
    alice, bob = await new_user(s0.base), await new_user(s0.base)
    a, _ = await WS.enter(s0.ws_base, room["slug"], alice)
    b, welcome = await WS.enter(s0.ws_base, room["slug"], bob)
    epoch = welcome["epoch"]
    await a.send({"type": "send", "body": "before"})
    seen = await b.next("message")
    await b.close()
    for body in ("missed 1", "missed 2", "missed 3"):
        await a.send({"type": "send", "body": body})
        await a.next("message", body=body)
    b, welcome = await WS.enter(
        s1.ws_base, room["slug"], bob, f"after_seq={seen['seq']}&epoch={epoch}"
    )
    assert [m["body"] for m in welcome["history"]] == ["missed 1", "missed 2", "missed 3"]
    assert [m["seq"] for m in welcome["history"]] == [
        seen["seq"] + 1,
        seen["seq"] + 2,
        seen["seq"] + 3,
    ]
    assert welcome["gap"] is False and welcome["seq"] == seen["seq"] + 3
    # Live from there on, without repeats.
    await a.send({"type": "send", "body": "live"})
    live = await b.next("message")
    assert live["body"] == "live" and live["seq"] == welcome["seq"] + 1
    await b.close()
    for query in (
        f"after_seq={seen['seq']}&epoch=other",
        "after_seq=abc",
        f"after_seq={welcome['seq'] + 50}",
        "after_seq=-1",
    ):
        b, welcome = await WS.enter(s1.ws_base, room["slug"], bob, query)
        assert welcome["gap"] is True and welcome["history"] == [], query
        await b.close()
    await a.close()


async def test_newcomer_never_reads_what_was_said_before(
    cluster: Cluster, room: dict[str, Any]
) -> None:
    s0, s1 = cluster.servers
    alice, carol = await new_user(s0.base), await new_user(s0.base)
    a, _ = await WS.enter(s0.ws_base, room["slug"], alice)
    await a.send({"type": "send", "body": "private, before carol"})
    await a.next("message")
    c, welcome = await WS.enter(s1.ws_base, room["slug"], carol, "after_seq=0")
    assert welcome["history"] == [] and welcome["gap"] is False
    await c.close()
    await a.send({"type": "send", "body": "after carol arrived"})
    await a.next("message", body="after carol arrived")
    c, welcome = await WS.enter(s0.ws_base, room["slug"], carol, "after_seq=0")
    assert [m["body"] for m in welcome["history"]] == ["after carol arrived"]
    assert welcome["gap"] is False
    await c.close()
    await a.close()


async def test_settings_change_reaches_both_processes(
    cluster: Cluster, admin: Member, room: dict[str, Any]
) -> None:
    s0, s1 = cluster.servers
    alice, bob = await new_user(s0.base), await new_user(s0.base)
    a, _ = await WS.enter(s0.ws_base, room["slug"], alice)
    b, _ = await WS.enter(s1.ws_base, room["slug"], bob)
    async with httpx.AsyncClient(base_url=s0.base, headers=admin.headers) as http:
        r = await http.patch(f"/api/admin/rooms/{room['slug']}", json={"locked": True})
        assert r.status_code == 200 and r.json()["room"]["locked"] is True
    for ws in (a, b):
        frame = await ws.next("room", timeout=1.5)
        assert frame["room"]["locked"] is True
    await b.send({"type": "send", "body": "may I?", "ref": "q"})
    err = await b.next("error")
    assert err["code"] == "locked" and err["ref"] == "q"
    await a.close()
    await b.close()


async def test_access_change_closes_sockets_everywhere(cluster: Cluster, admin: Member) -> None:
    s0, s1 = cluster.servers
    room = await make_room(s0.base, admin, access="members")
    bob = await new_user(s0.base)
    async with httpx.AsyncClient(base_url=s0.base, headers=admin.headers) as http:
        r = await http.put(
            f"/api/admin/rooms/{room['slug']}/roles/{bob.username}", json={"role": "member"}
        )
        assert r.status_code == 200
        b0, _ = await WS.enter(s0.ws_base, room["slug"], bob)
        b1, _ = await WS.enter(s1.ws_base, room["slug"], bob)
        r = await http.delete(f"/api/admin/rooms/{room['slug']}/roles/{bob.username}")
        assert r.status_code == 204
    for ws in (b0, b1):
        code, _ = await expect_close(ws, timeout=2)
        assert code == 4403


async def test_a_dead_process_leaves_no_ghost(cluster: Cluster, tmp_path: Any) -> None:
    """A third process joins, its member enters, then it is killed: the others see them leave
    within the presence bound (3 s in the test config; the contract's 30 s by default)."""
    await dead_process_left_within_bound(cluster, tmp_path, bound=3.0)


async def dead_process_left_within_bound(cluster: Cluster, tmp_path: Any, bound: float) -> float:
    """Kill a process whose member is present; `left` reaches the others within `bound`
    (plus a little delivery slack on a loaded machine), and not at once: the bound is what
    the entries' TTL and the sweep add up to. Returns the seconds it took."""
    import signal
    import time

    from tests.support.servers import SCALE, ServerProcess

    s0 = cluster.servers[0]
    extra = ServerProcess(cluster.env, tmp_path / "doomed.log")
    extra.start()
    try:
        admin_member = await _admin(cluster)
        room = await make_room(s0.base, admin_member)
        alice, ghost = await new_user(s0.base), await new_user(s0.base)
        a, _ = await WS.enter(s0.ws_base, room["slug"], alice)
        g, _ = await WS.enter(extra.ws_base, room["slug"], ghost)
        await a.next("presence", status="joined")
        killed = time.monotonic()
        extra.stop(signal.SIGKILL)
        left = await a.next("presence", timeout=bound * 3, status="left")
        took = time.monotonic() - killed
        assert left["user"]["id"] == ghost.id
        # At least the entry TTL less one heartbeat interval (5/6 - 1/6 of the bound).
        assert bound * 4 / 6 - 0.1 <= took <= bound + 0.5 * max(SCALE, 1), took
        await a.close()
        return took
    finally:
        extra.stop(signal.SIGKILL)


async def _admin(cluster: Cluster) -> Member:
    return await admin_token(cluster.servers[0].base, cluster.admin)
