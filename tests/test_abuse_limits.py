"""Abuse limits that hold under parallel requests, with real `hearth serve` processes: login
and registration throttles count and record atomically, argon2 work in flight is bounded,
sockets per user are capped, and a member's send limit is per user in a room, however many
sockets they open."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import make_room
from tests.support.client import PASSWORD, WS, Member, admin_token, expect_close, new_user
from tests.support.hostile import memory
from tests.support.redis_server import PrivateRedis
from tests.support.servers import ROOT, SCALE, Cluster, sqlite_cluster, started

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def abuse_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two processes on a Redis of their own with the production password-hash memory."""
    redis_server = PrivateRedis().start()
    config = str(ROOT / "tests" / "support" / "hearth-abuse.toml")
    workdir = tmp_path_factory.mktemp("abuse")
    with started(sqlite_cluster(workdir, redis_server.url, config=config)) as cluster:
        yield cluster
    redis_server.stop()


def _address() -> str:
    """A client address of its own (trusted X-Forwarded-For), so tests throttle apart."""
    n = uuid.uuid4().int
    return f"198.18.{n % 250}.{(n >> 8) % 250 + 1}"


async def _post_all(
    cluster: Cluster, path: str, bodies: list[tuple[dict[str, Any], str]]
) -> list[httpx.Response]:
    """POST every (body, address) at once, alternating between the processes."""
    bases = [s.base for s in cluster.servers]
    limits = httpx.Limits(max_connections=len(bodies))
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        return await asyncio.gather(
            *(
                http.post(
                    bases[i % len(bases)] + path, json=body, headers={"X-Forwarded-For": address}
                )
                for i, (body, address) in enumerate(bodies)
            )
        )


async def test_parallel_failed_logins_check_no_more_passwords_than_the_limit(
    abuse_cluster: Cluster,
) -> None:
    address = _address()
    guesses = [
        ({"username": f"nobody-{i}", "password": f"guess number {i}"}, address) for i in range(200)
    ]
    answers = await _post_all(abuse_cluster, "/api/auth/login", guesses)
    codes = Counter(r.status_code for r in answers)
    # 50 failures per address (the default), across both processes: 50 passwords checked.
    assert codes == {401: 50, 429: 150}, codes
    assert all(r.headers["Retry-After"] == "900" for r in answers if r.status_code == 429)


async def test_parallel_registrations_hold_the_limit(abuse_cluster: Cluster) -> None:
    address = _address()
    bodies = [
        ({"username": f"reg-{uuid.uuid4().hex[:12]}", "password": PASSWORD}, address)
        for _ in range(200)
    ]
    answers = await _post_all(abuse_cluster, "/api/auth/register", bodies)
    assert Counter(r.status_code for r in answers) == {201: 40, 429: 160}


async def test_a_burst_of_logins_hashes_a_bounded_number_of_passwords_at_once(
    abuse_cluster: Cluster,
) -> None:
    """200 logins from 200 addresses (no throttle applies): every one runs argon2id with
    64 MiB, but at most two at a time, so the process's peak memory grows by about two
    hashes' worth, not the ~6 a thread pool would run (nor 200)."""
    server = abuse_cluster.servers[0]
    assert server.proc is not None
    resident_before, _ = memory(server.proc.pid)
    bodies = [
        ({"username": f"nobody-{i}", "password": f"guess number {i}"}, _address())
        for i in range(200)
    ]
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(base_url=server.base, timeout=300, limits=limits) as http:
        answers = await asyncio.gather(
            *(
                http.post("/api/auth/login", json=b, headers={"X-Forwarded-For": a})
                for b, a in bodies
            )
        )
    assert Counter(r.status_code for r in answers) == {401: 200}
    _, peak = memory(server.proc.pid)
    assert peak - resident_before < 3 * 64 * MIB + 40 * MIB, (resident_before, peak)


async def test_sockets_per_user_are_capped(abuse_cluster: Cluster) -> None:
    s0, s1 = abuse_cluster.servers
    admin = await admin_token(s0.base, abuse_cluster.admin)
    room = await make_room(s0.base, admin)
    other = await make_room(s0.base, admin)
    member = await new_user(s0.base)
    # The cap (40 here) counts the user's sockets in every room of the process.
    sockets = [(await WS.enter(s0.ws_base, room["slug"], member))[0] for _ in range(30)]
    sockets += [(await WS.enter(s0.ws_base, other["slug"], member))[0] for _ in range(10)]
    extra = await WS.open(s0.ws_base, room["slug"], member)
    code, reason = await expect_close(extra)
    assert code == 4429 and "40" in reason
    # Closing one frees a place (once the server has finished with it); another user is not
    # affected.
    await sockets.pop().close()
    again = await _enter_when_free(s0.ws_base, other["slug"], member)
    someone, _ = await WS.enter(s0.ws_base, room["slug"], await new_user(s0.base))
    for ws in [*sockets, again, someone]:
        await ws.close()


async def _enter_when_free(ws_base: str, slug: str, member: Member) -> WS:
    deadline = time.monotonic() + 5 * SCALE
    while True:
        try:
            ws, _ = await WS.enter(ws_base, slug, member)
            return ws
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 4429
            assert time.monotonic() < deadline, "the closed socket's place was never freed"
            await asyncio.sleep(0.1)


async def test_more_sockets_do_not_multiply_a_members_sends(abuse_cluster: Cluster) -> None:
    s0 = abuse_cluster.servers[0]
    admin = await admin_token(s0.base, abuse_cluster.admin)
    room = await make_room(s0.base, admin)
    member = await new_user(s0.base)
    sockets = [(await WS.enter(s0.ws_base, room["slug"], member))[0] for _ in range(40)]
    watcher, _ = await WS.enter(s0.ws_base, room["slug"], admin)
    for i, ws in enumerate(sockets):
        await ws.send({"type": "send", "body": f"hello {i}", "ref": f"s{i}"})
    answers: Counter[str] = Counter()
    for ws in sockets:
        answers[await _own_answer(ws)] += 1
    # 5 sends per 5 s per user in the room (the default), not per socket.
    assert answers == {"message": 5, "rate_limited": 35}
    delivered = [f for f in await watcher.quiet(1.0) if f["type"] == "message"]
    assert len(delivered) == 5
    for ws in [*sockets, watcher]:
        await ws.close()


async def _own_answer(ws: WS) -> str:
    """What the socket's own `send` got: its message back (with its ref) or an error code."""
    while True:
        frame = await ws.recv()
        if frame["type"] == "error":
            return str(frame["code"])
        if frame["type"] == "message" and "ref" in frame:
            return "message"
