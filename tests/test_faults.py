"""Faults with real processes: a cluster of two `hearth serve` on a PostgreSQL database of
its own and a private redis-server, which the tests terminate, kill, pause, restart and cut
off from the database. Each test leaves the cluster running for the next."""

from __future__ import annotations

import asyncio
import signal
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from server.rooms.hub import CONTROL_CHANNEL
from tests.conftest import make_room
from tests.support.client import PASSWORD, WS, Member, admin_token, expect_close, new_user
from tests.support.pg import async_url, create_database, drop_database, set_connections
from tests.support.redis_server import PrivateRedis
from tests.support.resuming import ResumingClient, check_no_silent_hole
from tests.support.servers import ROOT, SCALE, Cluster, ServerProcess
from tests.support.transcripts import consent, get_transcript, whole_transcript
from tests.test_multiprocess import dead_process_left_within_bound
from tests.test_promises import recorded_on_delivery

pytestmark = pytest.mark.timeout(600)

BOUND = 5.0  # presence_ttl_seconds in hearth-faults.toml


@pytest.fixture(scope="module")
async def faults() -> AsyncIterator[tuple[Cluster, PrivateRedis, str]]:
    redis_server = PrivateRedis().start()
    name = await create_database()
    workdir = Path(tempfile.mkdtemp(prefix="hearth-faults-"))
    cluster = Cluster(
        workdir=workdir,
        database_url=async_url(name),
        redis_url=redis_server.url,
        config=str(ROOT / "tests/support/hearth-faults.toml"),
    )
    await asyncio.to_thread(cluster.start)
    yield cluster, redis_server, name
    await asyncio.to_thread(cluster.stop)
    redis_server.stop()
    await drop_database(name)


@pytest.fixture
async def admin(faults: tuple[Cluster, PrivateRedis, str]) -> Member:
    cluster = faults[0]
    return await admin_token(cluster.servers[0].base, cluster.admin)


def log_sizes(cluster: Cluster) -> list[int]:
    """Where each server's log ends now (logs are appended to across restarts)."""
    return [len(server.log()) for server in cluster.servers]


def no_tracebacks_since(cluster: Cluster, sizes: list[int]) -> None:
    for server, size in zip(cluster.servers, sizes, strict=True):
        tail = server.log()[size:]
        assert "Traceback" not in tail, tail[-4000:]


async def restart(server: ServerProcess) -> None:
    await asyncio.to_thread(server.start)


async def wait_healthy(*servers: ServerProcess) -> None:
    async with httpx.AsyncClient() as http:
        for server in servers:
            deadline = time.monotonic() + 30 * SCALE
            while (await http.get(server.base + "/healthz")).status_code != 200:
                assert time.monotonic() < deadline, "never healthy again"
                await asyncio.sleep(0.1)


# -- recorded messages on PostgreSQL ------------------------------------------------------


async def test_recorded_message_is_in_the_transcript_when_delivered_postgresql(
    faults: tuple[Cluster, PrivateRedis, str], admin: Member
) -> None:
    await recorded_on_delivery(faults[0], admin)


# -- presence after a process dies --------------------------------------------------------


async def test_presence_bound_scales_with_its_setting(
    faults: tuple[Cluster, PrivateRedis, str], tmp_path: Path
) -> None:
    # The shared cluster proves 3 s (test_multiprocess); this one is set to 5 s.
    took = await dead_process_left_within_bound(faults[0], tmp_path, bound=BOUND)
    assert took > 3.0


# -- numbering through a Redis loss ---------------------------------------------------------


async def test_numbering_survives_a_redis_loss_that_closed_the_rooms_only_socket(
    faults: tuple[Cluster, PrivateRedis, str], admin: Member
) -> None:
    cluster, redis_server, _ = faults
    s0, s1 = cluster.servers
    room = await make_room(s0.base, admin)
    slug = room["slug"]
    alice = await new_user(s0.base)
    a, welcome = await WS.enter(s0.ws_base, slug, alice)
    for body in ("one", "two"):
        await a.send({"type": "send", "body": body})
        last = await a.next("message", body=body)
    await a.close()  # the room's only socket, on s0, goes with the outage
    await asyncio.sleep(0.2)
    redis_server.stop()
    await asyncio.sleep(1.0)
    redis_server.start()
    await wait_healthy(s0, s1)
    # s0 followed the room after its last socket left and gives its numbering back to
    # Redis as soon as its pub/sub connection returns.
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    deadline = time.monotonic() + 10 * SCALE
    while await client.get(f"hearth:room:{{{slug}}}:epoch") is None:
        assert time.monotonic() < deadline, "the numbering was never restored"
        await asyncio.sleep(0.05)
    await client.aclose()
    # Entering through the other process, which never had the room: the same epoch, on.
    query = f"after_seq={last['seq']}&epoch={welcome['epoch']}"
    a, again = await WS.enter(s1.ws_base, slug, alice, query)
    assert again["epoch"] == welcome["epoch"] and again["seq"] > last["seq"]
    await a.send({"type": "send", "body": "after"})
    after = await a.next("message", body="after")
    assert after["seq"] > last["seq"]
    await a.close()


# -- shutdown and a rolling restart ---------------------------------------------------------


async def test_sigterm_closes_with_1001_clears_presence_and_exits_quickly(
    faults: tuple[Cluster, PrivateRedis, str], admin: Member
) -> None:
    cluster = faults[0]
    s0, s1 = cluster.servers
    room = await make_room(s0.base, admin, transcripts="opt_in")
    slug = room["slug"]
    carol, watcher = await new_user(s0.base), await new_user(s0.base)
    w, _ = await WS.enter(s1.ws_base, slug, watcher)
    c, _ = await WS.enter(s0.ws_base, slug, carol)
    await consent(c, True)
    await w.next("presence", status="joined")
    # Sockets not welcomed yet close with 1001 too: one in a waiting room, one before an
    # agreement (they would otherwise hold the drain and get uvicorn's 1012).
    waiting_room = await make_room(s0.base, admin, access="approval")
    waiting = await WS.open(s0.ws_base, waiting_room["slug"], await new_user(s0.base))
    await waiting.next("waiting")
    agreed_room = await make_room(s0.base, admin, agreement="We keep what is said here.")
    agreeing = await WS.open(s0.ws_base, agreed_room["slug"], await new_user(s0.base))
    await agreeing.next("agreement_required")
    # A recorded send racing the signal is either finished (delivered and kept) or not
    # begun (the client sends it again with its ref), never half done.
    await c.send({"type": "send", "body": "last words before the deploy", "ref": "last"})
    assert s0.proc is not None
    started = time.monotonic()
    s0.proc.send_signal(signal.SIGTERM)
    try:
        code, _ = await expect_close(c, timeout=5)
        assert code == 1001
        for gated in (waiting, agreeing):
            assert (await expect_close(gated, timeout=5))[0] == 1001
        left = await w.next("presence", status="left", timeout=5)
        assert left["user"]["id"] == carol.id
        # Others see `left` at once, not after the presence bound.
        assert time.monotonic() - started < min(BOUND / 2, 1.5 * SCALE)
        await asyncio.to_thread(s0.proc.wait, 10 * SCALE)
        assert time.monotonic() - started < 5 * SCALE
    finally:
        await restart(s0)
    answered = [f for f in c.seen if f.get("ref") == "last"]
    c, _ = await WS.enter(s1.ws_base, slug, carol)
    await c.send({"type": "send", "body": "last words before the deploy", "ref": "last"})
    said = await c.next("message", ref="last")
    assert said["recorded"] is True
    assert answered in ([], [said])
    kept = (await get_transcript(s1.base, admin, slug)).json()["messages"]
    assert [m["id"] for m in kept] == [said["id"]]
    heard = [f for f in w.seen if f.get("type") == "message"]
    heard += [f for f in await w.quiet(0.3) if f.get("type") == "message"]
    assert [m["id"] for m in heard] == [said["id"]]
    await w.close()
    await c.close()
    assert "1012" not in s0.log()


async def test_rolling_restart_while_members_chat_loses_and_repeats_nothing(
    faults: tuple[Cluster, PrivateRedis, str], admin: Member
) -> None:
    cluster = faults[0]
    s0, s1 = cluster.servers
    room = await make_room(s0.base, admin, transcripts="opt_in")
    slug = room["slug"]
    sizes = log_sizes(cluster)
    bases = [s0.ws_base, s1.ws_base]
    clients = [
        ResumingClient(await new_user(s0.base), slug, bases[i:] + bases[:i]) for i in (0, 0, 1, 1)
    ]
    for client in clients:
        await client.start()
    # Everyone consents: the restarts also cut recorded writes short if they can.
    for client in clients:
        ref = uuid.uuid4().hex[:8]
        await client._ws.send(f'{{"type":"consent","recorded":true,"ref":"{ref}"}}')
    await asyncio.sleep(0.3)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 90 * SCALE
    running = True

    async def chat(i: int, client: ResumingClient) -> None:
        n = 0
        while running or n < 3:
            await client.say(f"{i}:{n}", f"{i}-{n}", deadline)
            n += 1
            await asyncio.sleep(0.03)

    talkers = [asyncio.create_task(chat(i, c)) for i, c in enumerate(clients)]
    await asyncio.sleep(0.5)
    for server in (s0, s1):  # one at a time, as a deploy does
        await asyncio.to_thread(server.stop)  # SIGTERM, waits for the exit
        await asyncio.sleep(0.3)
        await restart(server)
        await asyncio.sleep(0.5)
    running = False
    await asyncio.gather(*talkers)
    await asyncio.sleep(0.5)
    sent = {ref for client in clients for ref in client.acked}
    for client in clients:
        await client.stop()
    check_no_silent_hole(clients)
    for client in clients:
        assert client.gaps == [], "a resume across a restart should lose nothing"
        assert set(client.closes) <= {1001}, client.closes
        bodies = {m["body"] for m in client.messages}
        assert {m["body"] for c in clients for m in c.acked.values()} <= bodies
    assert any(1001 in c.closes for c in clients)
    kept = await whole_transcript(s0.base, admin, slug)
    assert len(kept) == len(sent) and len({m["id"] for m in kept}) == len(sent)
    no_tracebacks_since(cluster, sizes)


# -- Redis drops a slow subscriber ------------------------------------------------------------

COUNT = 5


async def test_a_subscriber_redis_dropped_resubscribes_and_its_sockets_resume(
    faults: tuple[Cluster, PrivateRedis, str], admin: Member
) -> None:
    cluster, redis_server, _ = faults
    s0, s1 = cluster.servers
    room = await make_room(s0.base, admin, max_message_chars=10000)
    slug = room["slug"]
    talker = ResumingClient(await new_user(s0.base), slug, [s0.ws_base, s1.ws_base])
    bob = ResumingClient(await new_user(s0.base), slug, [s1.ws_base, s0.ws_base])
    for member in (talker, bob):
        await member.start()
    loop = asyncio.get_running_loop()
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    await client.config_set("client-output-buffer-limit", "pubsub 64kb 0 0")
    assert s1.proc is not None
    try:
        s1.proc.send_signal(signal.SIGSTOP)  # s1 stops reading its subscription
        for i in range(COUNT):  # messages bob misses live
            await talker.say(f"while s1 slept {i}", f"t{i}", loop.time() + 30 * SCALE)
        # Traffic on a channel every process reads, more than the kernel's socket buffers
        # hold, so that Redis's own output buffer for s1 passes its limit.
        pad = "x" * 2**20
        for _ in range(48):
            await client.publish(CONTROL_CHANNEL, f'{{"k":"flood","pad":"{pad}"}}')
        for i in range(COUNT, 2 * COUNT):  # published once Redis had dropped s1: lost to it
            await talker.say(f"after the flood {i}", f"t{i}", loop.time() + 30 * SCALE)
    finally:
        s1.proc.send_signal(signal.SIGCONT)
        await client.config_set("client-output-buffer-limit", "pubsub 32mb 8mb 60")
        await client.aclose()
    # s1 noticed Redis had dropped it, resubscribed and asked bob's socket to resume.
    authored = talker.member.id
    deadline = time.monotonic() + 15 * SCALE
    while 1013 not in bob.closes or bob._ws is None or not bob._connected.is_set():
        assert time.monotonic() < deadline, (bob.closes, len(bob.messages))
        await asyncio.sleep(0.05)
    while len([m for m in bob.messages if m["author"]["id"] == authored]) < 2 * COUNT:
        assert time.monotonic() < deadline, (bob.closes, len(bob.messages))
        await asyncio.sleep(0.05)
    assert bob.gaps == []
    await talker.say("live again", "again", loop.time() + 10 * SCALE)
    deadline = time.monotonic() + 5 * SCALE
    while not any(m["body"] == "live again" for m in bob.messages):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    for member in (talker, bob):
        await member.stop()
    check_no_silent_hole([talker, bob])
    assert "pub/sub connection lost" in s1.log()


# -- chaos ------------------------------------------------------------------------------------


async def test_chaos_kill_a_process_and_restart_redis_while_members_chat(
    faults: tuple[Cluster, PrivateRedis, str], admin: Member
) -> None:
    cluster, redis_server, _ = faults
    s0, s1 = cluster.servers
    room = await make_room(s0.base, admin)
    slug = room["slug"]
    bases = [s0.ws_base, s1.ws_base]
    clients = [
        ResumingClient(await new_user(s0.base), slug, bases[i % 2 :] + bases[: i % 2])
        for i in range(4)
    ]
    for client in clients:
        await client.start()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120 * SCALE
    running = True

    async def chat(i: int, client: ResumingClient) -> None:
        n = 0
        while running or n < 3:
            await client.say(f"chaos {i}:{n}", f"c{i}-{n}", deadline)
            n += 1
            await asyncio.sleep(0.02)

    talkers = [asyncio.create_task(chat(i, c)) for i, c in enumerate(clients)]
    await asyncio.sleep(0.5)
    s0.stop(signal.SIGKILL)
    await asyncio.sleep(0.5)
    await restart(s0)
    await asyncio.sleep(0.5)
    redis_server.stop()
    await asyncio.sleep(1.0)
    redis_server.start()
    await wait_healthy(s0, s1)
    await asyncio.sleep(1.0)
    running = False
    await asyncio.gather(*talkers)
    await asyncio.sleep(0.5)
    for client in clients:
        await client.stop()
    check_no_silent_hole(clients)
    everyone = {m["body"] for c in clients for m in c.acked.values()}
    for client in clients:
        # What was acknowledged reached this client too, unless a `gap` said it might not.
        if not client.gaps:
            assert everyone <= {m["body"] for m in client.messages}
    assert all(client.epoch == clients[0].epoch for client in clients)


# -- the database unavailable for a while -----------------------------------------------------


async def _login(base: str, member: Member) -> int:
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.post(
            "/api/auth/login", json={"username": member.username, "password": PASSWORD}
        )
        return r.status_code


async def test_database_outage_keeps_unrecorded_rooms_talking_and_recovers(
    faults: tuple[Cluster, PrivateRedis, str], admin: Member
) -> None:
    cluster, _, name = faults
    s0, s1 = cluster.servers
    plain = await make_room(s0.base, admin)
    recorded = await make_room(s0.base, admin, transcripts="opt_in")
    alice, bob, carol = [await new_user(s0.base) for _ in range(3)]
    a, _ = await WS.enter(s0.ws_base, plain["slug"], alice)
    b, _ = await WS.enter(s1.ws_base, plain["slug"], bob)
    r, _ = await WS.enter(s0.ws_base, recorded["slug"], carol)
    await consent(r, True)
    await set_connections(name, False)
    try:
        assert await _login(s0.base, carol) == 503
        async with httpx.AsyncClient(base_url=s1.base, headers=bob.headers) as http:
            assert (await http.get(f"/api/rooms/{plain['slug']}")).status_code == 503
        entering = await WS.open(s1.ws_base, plain["slug"], carol)
        assert (await expect_close(entering))[0] == 1011
        # Members already in a room that records nothing keep talking.
        await a.send({"type": "send", "body": "still here?"})
        assert (await b.next("message", body="still here?"))["recorded"] is False
        await b.send({"type": "send", "body": "still here."})
        await a.next("message", body="still here.")
        # A recorded send fails clearly: not sent, and nobody receives it.
        await r.send({"type": "send", "body": "for the record", "ref": "rec"})
        error = await r.next("error", ref="rec", timeout=15)
        assert error["code"] == "unavailable"
    finally:
        await set_connections(name, True)
    # Everything comes back by itself.
    await wait_healthy(s0, s1)
    assert await _login(s0.base, carol) == 200
    await r.send({"type": "send", "body": "for the record", "ref": "rec2"})
    kept = await r.next("message", ref="rec2", timeout=15)
    assert kept["recorded"] is True
    again, _ = await WS.enter(s1.ws_base, plain["slug"], carol)
    transcript = (await get_transcript(s1.base, admin, recorded["slug"])).json()["messages"]
    assert [m["body"] for m in transcript] == ["for the record"]
    for ws in (a, b, r, again):
        await ws.close()
