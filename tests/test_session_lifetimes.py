"""Session lifetimes across two processes (PROTOCOL §8), on a cluster configured with tiny
values (tests/support/hearth-sessions.toml): idle after 6 s, at most 14.4 s after login,
three sessions per user, checked every 0.5 s; two-step sign-in required of staff."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pyotp
import pytest
import websockets

from tests.support.client import PASSWORD, WS, Member, expect_close, new_user
from tests.support.redis_server import PrivateRedis
from tests.support.servers import ROOT, Cluster, sqlite_cluster, started

pytestmark = pytest.mark.timeout(240)

IDLE_S = 6.0
MAX_S = 14.4
CHECK_S = 0.5


@pytest.fixture(scope="module")
def short(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two processes with tiny lifetimes, on a redis-server of their own (nothing shared to
    flush under another module's feet)."""
    redis_server = PrivateRedis().start()
    workdir = tmp_path_factory.mktemp("short-sessions")
    config = str(ROOT / "tests" / "support" / "hearth-sessions.toml")
    try:
        with started(sqlite_cluster(workdir, redis_server.url, config=config)) as cluster:
            yield cluster
    finally:
        redis_server.stop()


async def login(
    base: str, username: str, password: str = PASSWORD, **extra: str
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base) as http:
        body = {"username": username, "password": password, **extra}
        return await http.post("/api/auth/login", json=body)


async def sign_in(base: str, username: str) -> Member:
    r = await login(base, username)
    assert r.status_code == 200, r.text
    return Member(username, r.json()["token"], r.json()["user"])


async def me(base: str, member: Member) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, headers=member.headers) as http:
        return await http.get("/api/me")


@dataclass
class Staffed:
    """The short cluster's admin, enrolled in two-step sign-in, and its room."""

    cluster: Cluster
    slug: str
    recovery_codes: list[str]

    async def admin(self) -> httpx.AsyncClient:
        """A client signed in as the admin (spending a recovery code: sessions are short)."""
        base = self.cluster.servers[0].base
        r = await login(base, *self.cluster.admin, code=self.recovery_codes.pop())
        assert r.status_code == 200, r.text
        return httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {r.json()['token']}"}
        )


@pytest.fixture(scope="module")
async def staffed(short: Cluster) -> Staffed:
    """The admin must set up two-step sign-in (staff) before anything else; then a room."""
    base = short.servers[0].base
    r = await login(base, *short.admin)
    assert r.status_code == 200 and r.json().get("totp_setup_required") is True
    async with httpx.AsyncClient(base_url=base) as http:
        http.headers["Authorization"] = f"Bearer {r.json()['token']}"
        refused = await http.post("/api/admin/rooms", json={"slug": "calm", "title": "Calm"})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "totp_setup_required"
        secret = (await http.post("/api/auth/totp/setup")).json()["secret"]
        code = pyotp.TOTP(secret).now()
        confirmed = await http.post("/api/auth/totp/confirm", json={"code": code})
        assert confirmed.status_code == 200
        made = await http.post("/api/admin/rooms", json={"slug": "calm", "title": "Calm"})
        assert made.status_code == 201, made.text
    r = await login(base, *short.admin)
    assert r.status_code == 401 and r.json()["error"]["code"] == "totp_required"
    return Staffed(short, "calm", confirmed.json()["recovery_codes"])


async def test_idle_and_absolute_ends_close_sockets_on_every_process(
    short: Cluster, staffed: Staffed
) -> None:
    s0, s1 = short.servers
    slug = staffed.slug
    member = await new_user(s0.base)
    t0 = time.monotonic()
    busy = member  # this session keeps acting, on s0's socket
    quiet = await sign_in(s1.base, member.username)  # this one only pings, on s1
    busy_ws, _ = await WS.enter(s0.ws_base, slug, busy)
    quiet_ws, _ = await WS.enter(s1.ws_base, slug, quiet)
    ends = (await me(s1.base, quiet)).json()["session"]

    async def act(stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(websockets.ConnectionClosed):
                await busy_ws.send({"type": "typing"})
            with contextlib.suppress(websockets.ConnectionClosed):
                await quiet_ws.send({"type": "ping"})  # a keep-alive is not activity
            await asyncio.sleep(0.5)

    stop = asyncio.Event()
    acting = asyncio.create_task(act(stop))
    code, _ = await expect_close(quiet_ws, timeout=IDLE_S + 10)
    quiet_closed = time.monotonic() - t0
    assert code == 4401
    assert quiet_closed >= IDLE_S - 1, quiet_closed
    assert (await me(s0.base, quiet)).status_code == 401
    # Idle for the quiet one, not for the busy one: its session lives on.
    assert (await me(s1.base, busy)).status_code == 200
    # The busy session still ends at its absolute end, however busy.
    code, _ = await expect_close(busy_ws, timeout=MAX_S + 10)
    busy_closed = time.monotonic() - t0
    stop.set()
    await acting
    assert code == 4401
    assert busy_closed >= MAX_S - 2, busy_closed
    assert (await me(s1.base, busy)).status_code == 401
    assert ends["idle_seconds"] == int(IDLE_S)
    assert ends["expires_at"] <= ends["absolute_expires_at"]


async def test_http_requests_refresh_idle_time(short: Cluster) -> None:
    s0, s1 = short.servers
    member = await new_user(s0.base)
    first = (await me(s0.base, member)).json()["session"]
    for _ in range(4):  # 8 s of requests, each within the idle time, alternating processes
        await asyncio.sleep(2)
        assert (await me((s0, s1)[_ % 2].base, member)).status_code == 200
    later = (await me(s1.base, member)).json()["session"]
    assert later["expires_at"] - first["expires_at"] >= 7000
    # Asking when the session ends is not activity: it ends while being asked.
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=s1.base, headers=member.headers) as http:
        while (peek := await http.get("/api/auth/session")).status_code == 200:
            assert peek.json()["session"]["expires_at"] == later["expires_at"]
            assert time.monotonic() - started < IDLE_S + 5
            await asyncio.sleep(0.5)
    assert peek.status_code == 401
    assert time.monotonic() - started >= IDLE_S - 1
    assert (await me(s0.base, member)).status_code == 401


async def test_sessions_per_user_bound_ends_the_oldest(
    short: Cluster, staffed: Staffed
) -> None:
    s0, s1 = short.servers
    oldest = await new_user(s0.base)
    ws, _ = await WS.enter(s1.ws_base, staffed.slug, oldest)
    others = [await sign_in((s0, s1)[i % 2].base, oldest.username) for i in range(2)]
    assert (await me(s0.base, oldest)).status_code == 200  # three sessions: all live
    fourth = await sign_in(s1.base, oldest.username)
    assert (await expect_close(ws, timeout=5))[0] == 4401
    assert (await me(s0.base, oldest)).status_code == 401
    for member in [*others, fourth]:
        assert (await me(s1.base, member)).status_code == 200


async def test_staff_must_set_up_two_step_sign_in(short: Cluster, staffed: Staffed) -> None:
    s0, s1 = short.servers
    member, facilitator = await new_user(s0.base), await new_user(s0.base)
    assert "totp_setup_required" not in (await login(s0.base, member.username)).json()
    async with await staffed.admin() as admin:
        r = await admin.put(
            f"/api/admin/rooms/{staffed.slug}/roles/{facilitator.username}",
            json={"role": "facilitator"},
        )
        assert r.status_code == 200, r.text
    answer = await login(s1.base, facilitator.username)
    assert answer.json()["totp_setup_required"] is True
    fac = Member(facilitator.username, answer.json()["token"], answer.json()["user"])
    body: dict[str, Any] = (await me(s0.base, fac)).json()
    assert body["totp"] == {"enabled": False, "setup_required": True}
    async with httpx.AsyncClient(base_url=s0.base, headers=fac.headers) as http:
        r = await http.get("/api/rooms")
        assert r.status_code == 403 and r.json()["error"]["code"] == "totp_setup_required"
        ws = await WS.open(s1.ws_base, staffed.slug, fac)
        assert (await expect_close(ws))[0] == 4403
        secret = (await http.post("/api/auth/totp/setup")).json()["secret"]
        code = pyotp.TOTP(secret).now()
        assert (await http.post("/api/auth/totp/confirm", json={"code": code})).status_code == 200
        assert (await http.get("/api/rooms")).status_code == 200
        # Required of staff: it cannot be turned off.
        r = await http.post("/api/auth/totp/disable", json={"password": PASSWORD})
        assert r.status_code == 403
    ws, _ = await WS.enter(s1.ws_base, staffed.slug, fac)
    await ws.close()
