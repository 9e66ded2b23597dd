"""Group sessions and attendance (PROTOCOL §5) across two real processes on Redis and
SQLite, with a movable clock (tests/support/clocked_serve.py): no test waits for a weekday
or for 15 minutes."""

from __future__ import annotations

import asyncio
import csv
import io
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from server.sessions.schedule import next_start
from tests.conftest import SHARED_REDIS, make_room
from tests.support.client import WS, Member, admin_token, expect_close, new_user
from tests.support.moderation import new_facilitator
from tests.support.redis_server import emptied
from tests.support.servers import ROOT, SCALE, Cluster, ServerProcess, sqlite_cluster, started

MINUTE = 60_000


class MovableClock:
    """The offset (ms) every clocked server adds to its sessions' clock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.set(0)

    def set(self, offset_ms: int) -> None:
        self.path.write_text(str(offset_ms))


@pytest.fixture(scope="module")
def clocked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, MovableClock]]:
    """Two clocked processes sharing one SQLite file and Redis database 12 (13 to 15 belong
    to other modules; 1 and up to the xdist workers' shared clusters)."""
    redis_url = emptied(f"{SHARED_REDIS}/12")
    workdir = tmp_path_factory.mktemp("sessions")
    clock = MovableClock(workdir / "clock-offset")
    cluster = sqlite_cluster(
        workdir,
        redis_url,
        config=str(ROOT / "tests" / "support" / "sessions-test.toml"),
        extra_env={"HEARTH_TEST_CLOCK_FILE": str(clock.path)},
        command=(sys.executable, str(ROOT / "tests" / "support" / "clocked_serve.py")),
    )
    with started(cluster):
        yield cluster, clock


@pytest.fixture
async def setup(clocked: tuple[Cluster, MovableClock]) -> tuple[Cluster, MovableClock, Member]:
    cluster, clock = clocked
    clock.set(0)
    return cluster, clock, await admin_token(cluster.servers[0].base, cluster.admin)


async def get(base: str, who: Member, path: str, **params: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, headers=who.headers) as http:
        return await http.get(path, params=params)


async def audit(base: str, admin: Member, slug: str) -> list[dict[str, Any]]:
    r = await get(base, admin, "/api/admin/audit", room=slug, limit=500)
    assert r.status_code == 200, r.text
    entries: list[dict[str, Any]] = r.json()["entries"]
    return entries


async def eventually(check: Callable[[], Awaitable[Any]], seconds: float = 5.0) -> Any:
    """Poll `check` until it returns something true; that value."""
    deadline = time.monotonic() + seconds * SCALE
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("condition never held")
        await asyncio.sleep(0.1)


async def outcome(ws: WS) -> str | int:
    """`welcome`, or the close code of a socket refused before it."""
    try:
        await ws.next("welcome")
        return "welcome"
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else -1


async def attendance(base: str, who: Member, slug: str, session_id: str) -> dict[str, Any]:
    r = await get(base, who, f"/api/rooms/{slug}/sessions/{session_id}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


# -- settings ----------------------------------------------------------------------------


async def test_session_settings_are_validated_and_shown(setup: Any) -> None:
    cluster, _, admin = setup
    base = cluster.servers[0].base
    bad: list[dict[str, Any]] = [
        {"schedule": [{"weekday": 7, "start": "18:00", "minutes": 60}]},
        {"schedule": [{"weekday": 1, "start": "24:00", "minutes": 60}]},
        {"schedule": [{"weekday": 1, "start": "18:00", "minutes": 4}]},
        {"schedule": [{"weekday": 1, "start": "18:00"}]},
        {"schedule": "Tuesdays"},
        {"timezone": "Mars/Olympus"},
        {"timezone": "../../etc/passwd"},
        {"entry": "sometimes"},
        {"max_participants": 1},
        {"max_participants": 1001},
        {"max_participants": True},
    ]
    async with httpx.AsyncClient(base_url=base, headers=admin.headers) as http:
        for settings in bad:
            r = await http.post(
                "/api/admin/rooms", json={"slug": "r-bad", "title": "x", **settings}
            )
            assert r.status_code == 422, (settings, r.text)
            assert r.json()["error"]["code"] == "invalid"
            assert next(iter(settings)) in r.json()["error"]["message"]
    room = await make_room(base, admin)
    assert room["schedule"] == [] and room["timezone"] == "UTC" and room["entry"] == "always"
    assert room["max_participants"] is None
    assert room["session"] is None and room["next_session_at"] is None
    slot = {"weekday": 1, "start": "18:00", "minutes": 90}
    async with httpx.AsyncClient(base_url=base, headers=admin.headers) as http:
        r = await http.patch(
            f"/api/admin/rooms/{room['slug']}",
            json={"schedule": [slot], "timezone": "America/Los_Angeles", "max_participants": 12},
        )
    assert r.status_code == 200, r.text
    changed = r.json()["room"]
    assert changed["schedule"] == [slot] and changed["max_participants"] == 12
    expected = next_start([slot], "America/Los_Angeles", int(time.time() * 1000))
    assert changed["next_session_at"] == expected
    r = await get(cluster.servers[1].base, admin, f"/api/rooms/{room['slug']}")
    assert r.json()["room"]["next_session_at"] == expected


# -- opening and ending ------------------------------------------------------------------


async def test_first_arrival_opens_a_session_in_an_always_room(setup: Any) -> None:
    cluster, _, admin = setup
    s0, s1 = cluster.servers
    room = await make_room(s0.base, admin)
    slug = room["slug"]
    ana, ben = await new_user(s0.base), await new_user(s0.base)
    a, welcome = await WS.enter(s0.ws_base, slug, ana)
    session = welcome["session"]
    assert session["opened_by"] == "arrival" and session["ended_at"] is None
    assert session["room"] == slug and session["ended_by"] is None
    b, welcome_b = await WS.enter(s1.ws_base, slug, ben)
    assert welcome_b["session"] == session
    r = await get(s1.base, ben, f"/api/rooms/{slug}")
    assert r.json()["room"]["session"] == session
    entries = [e for e in await audit(s0.base, admin, slug) if e["action"] == "open"]
    assert len(entries) == 1 and entries[0]["actor"] is None
    assert entries[0]["details"] == {"session_id": session["id"]}
    await a.close()
    await b.close()


async def test_a_burst_of_first_arrivals_opens_one_session_all_attend(setup: Any) -> None:
    """Arrivals at the same moment on both processes share one opening: one session, one
    `open` entry, every one of them in its attendance."""
    cluster, _, admin = setup
    room = await make_room(cluster.servers[0].base, admin)
    slug = room["slug"]
    users = [await new_user(cluster.servers[0].base) for _ in range(8)]
    entered = await asyncio.gather(
        *(WS.enter(cluster.servers[i % 2].ws_base, slug, u) for i, u in enumerate(users))
    )
    sessions = {welcome["session"]["id"] for _, welcome in entered}
    assert len(sessions) == 1 and None not in sessions
    session_id = sessions.pop()
    opened = [e for e in await audit(cluster.servers[0].base, admin, slug) if e["action"] == "open"]
    assert [e["details"] for e in opened] == [{"session_id": session_id}]

    async def everyone() -> bool:
        found = await attendance(cluster.servers[1].base, admin, slug, session_id)
        present = {a["user"]["id"] for a in found["attendance"] if a["last_left"] is None}
        return present == {u.id for u in users}

    await eventually(everyone)
    for ws, _ in entered:
        await ws.close()


async def test_members_wait_at_a_closed_door_until_a_facilitator_opens(setup: Any) -> None:
    cluster, _, admin = setup
    s0, s1 = cluster.servers
    room = await make_room(s0.base, admin, entry="in_session")
    slug = room["slug"]
    fac = await new_facilitator(s0.base, admin, slug)
    member = await new_user(s0.base)
    m = await WS.open(s1.ws_base, slug, member)
    assert await m.next("waiting") == {
        "type": "waiting",
        "reason": "closed",
        "next_session_at": None,
    }
    await m.send({"type": "ping", "ref": "p"})
    assert (await m.next("pong"))["ref"] == "p"
    await m.send({"type": "send", "body": "hello?"})
    assert (await m.next("error"))["code"] == "forbidden"
    f, welcome = await WS.enter(s0.ws_base, slug, fac)
    assert welcome["session"] is None and welcome["members"] == []
    await f.send({"type": "mod", "action": "open", "ref": "o1"})
    session = (await f.next("session"))["session"]
    echo = await f.next("moderation")
    assert echo["action"] == "open" and echo["ref"] == "o1"
    assert session["opened_by"] == "facilitator"
    assert (await m.next("session"))["session"] == session
    welcome_m = await m.next("welcome")
    assert welcome_m["session"] == session
    await f.next("presence", status="joined")
    # Opening again changes nothing; the echo is sent all the same.
    await f.send({"type": "mod", "action": "open"})
    await f.next("moderation", action="open")
    assert [x for x in await m.quiet(0.5) if x["type"] == "session"] == []
    await f.send({"type": "mod", "action": "end"})
    ended = (await m.next("session"))["session"]
    assert ended["id"] == session["id"] and ended["ended_by"] == "facilitator"
    assert (await expect_close(m))[0] == 4410
    assert (await expect_close(f))[0] == 4410
    entries = await audit(s0.base, admin, slug)
    assert [e["action"] for e in entries[:2]] == ["end", "open"]
    assert entries[0]["details"] == {"session_id": session["id"]}
    assert entries[1]["actor"] == {"id": fac.id, "username": fac.username}
    r = await get(s1.base, fac, f"/api/rooms/{slug}/sessions")
    listed = r.json()["sessions"]
    assert len(listed) == 1 and listed[0]["ended_by"] == "facilitator"
    assert listed[0]["participants"] == 2


async def test_a_scheduled_start_opens_one_session_on_time(setup: Any) -> None:
    cluster, clock, admin = setup
    s0, s1 = cluster.servers
    # A slot two days ahead in Los Angeles time; the clock is then moved to just after it.
    ahead = time.localtime(time.time() + 2 * 86400)
    slot = {"weekday": ahead.tm_wday, "start": "18:00", "minutes": 60}
    room = await make_room(
        s0.base, admin, entry="in_session", schedule=[slot], timezone="America/Los_Angeles"
    )
    slug, start = room["slug"], room["next_session_at"]
    assert start == next_start([slot], "America/Los_Angeles", int(time.time() * 1000))
    member = await new_user(s0.base)
    m = await WS.open(s1.ws_base, slug, member)
    waiting = await m.next("waiting")
    assert waiting["reason"] == "closed" and waiting["next_session_at"] == start
    try:
        clock.set(start - int(time.time() * 1000) + 1500)
        session = (await m.next("session", timeout=10))["session"]
        assert session["opened_by"] == "schedule" and session["opened_at"] >= start
        assert session["opened_at"] - start < MINUTE
        assert (await m.next("welcome"))["session"] == session
        opens = [e for e in await audit(s0.base, admin, slug) if e["action"] == "open"]
        assert len(opens) == 1 and opens[0]["actor"] is None
        fac = await new_facilitator(s0.base, admin, slug)
        listed = (await get(s0.base, fac, f"/api/rooms/{slug}/sessions")).json()["sessions"]
        assert [s["id"] for s in listed] == [session["id"]]
        f, _ = await WS.enter(s0.ws_base, slug, fac)
        await f.send({"type": "mod", "action": "end"})
        assert (await expect_close(m))[0] == 4410
        # Still within the start's minute: the schedule does not open it again.
        await asyncio.sleep(1.0)
        listed = (await get(s0.base, fac, f"/api/rooms/{slug}/sessions")).json()["sessions"]
        assert len(listed) == 1 and listed[0]["ended_by"] == "facilitator"
    finally:
        clock.set(0)


async def test_an_empty_session_ends_after_15_minutes_and_closes_the_waiting(
    setup: Any,
) -> None:
    cluster, clock, admin = setup
    s0, s1 = cluster.servers
    room = await make_room(s0.base, admin, access="approval")
    slug = room["slug"]
    fac = await new_facilitator(s0.base, admin, slug)
    f, welcome = await WS.enter(s0.ws_base, slug, fac)
    session = welcome["session"]
    await f.close()
    member = await new_user(s0.base)
    m = await WS.open(s1.ws_base, slug, member)
    assert (await m.next("waiting"))["reason"] == "approval"
    await asyncio.sleep(1.0 * SCALE)  # the upkeep notes the room is empty
    try:
        clock.set(14 * MINUTE)
        assert [x for x in await m.quiet(1.0) if x["type"] == "session"] == []
        clock.set(16 * MINUTE)
        ended = (await m.next("session", timeout=10))["session"]
        assert ended["id"] == session["id"] and ended["ended_by"] == "idle"
        assert (await expect_close(m))[0] == 4410
    finally:
        clock.set(0)
    ends = [e for e in await audit(s0.base, admin, slug) if e["action"] == "end"]
    assert len(ends) == 1 and ends[0]["actor"] is None
    assert ends[0]["details"] == {"session_id": session["id"]}


# -- capacity ----------------------------------------------------------------------------


async def test_two_members_at_the_last_place_one_gets_in(setup: Any) -> None:
    cluster, _, admin = setup
    s0, s1 = cluster.servers
    for _ in range(3):
        room = await make_room(s0.base, admin, max_participants=2)
        slug = room["slug"]
        first, ben, cat = [await new_user(s0.base) for _ in range(3)]
        a, _ = await WS.enter(s0.ws_base, slug, first)
        b, c = await asyncio.gather(WS.open(s0.ws_base, slug, ben), WS.open(s1.ws_base, slug, cat))
        results = await asyncio.gather(outcome(b), outcome(c))
        assert sorted(results, key=str) == [4409, "welcome"], results
        # Facilitators are not counted; a member present may open another socket.
        fac = await new_facilitator(s0.base, admin, slug)
        f, _ = await WS.enter(s1.ws_base, slug, fac)
        a2, _ = await WS.enter(s1.ws_base, slug, first)
        # The place frees when the one who got in leaves.
        winner, loser, loser_user = (b, c, cat) if results[0] == "welcome" else (c, b, ben)
        await winner.close()  # the server frees the place as it handles the close

        async def seated(slug: str = slug, user: Member = loser_user) -> WS | None:
            ws = await WS.open(s0.ws_base, slug, user)
            return ws if await outcome(ws) == "welcome" else None

        again = await eventually(seated)
        for ws in (a, a2, f, again, loser):
            await ws.close()


# -- attendance --------------------------------------------------------------------------


async def test_attendance_sums_every_stay_across_processes(setup: Any) -> None:
    cluster, clock, admin = setup
    s0, s1 = cluster.servers
    room = await make_room(s0.base, admin)
    slug = room["slug"]
    fac = await new_facilitator(s0.base, admin, slug)
    member = await new_user(s0.base, display_name="=SUM(A1)")
    try:
        a, welcome = await WS.enter(s0.ws_base, slug, member)
        session_id = welcome["session"]["id"]
        b, _ = await WS.enter(s1.ws_base, slug, member)  # two sockets: one stay
        clock.set(10 * MINUTE)
        await a.close()
        clock.set(20 * MINUTE)
        await b.close()
        await asyncio.sleep(0.3)
        clock.set(30 * MINUTE)  # away for ten minutes: not counted
        c, _ = await WS.enter(s1.ws_base, slug, member)
        await asyncio.sleep(0.3)
        clock.set(40 * MINUTE)
        await c.close()

        async def left() -> Any:
            body = await attendance(s0.base, fac, slug, session_id)
            row = body["attendance"][0]
            return body if row["last_left"] is not None else None

        body = await eventually(left)
    finally:
        clock.set(0)
    [row] = body["attendance"]
    assert row["user"] == {"id": member.id, "username": member.username, "display_name": "=SUM(A1)"}
    assert row["role"] == "member"
    assert 30 * 60 <= row["seconds_present"] < 30 * 60 + 20
    assert row["first_joined"] < row["last_left"]
    r = await get(s1.base, fac, f"/api/rooms/{slug}/sessions/{session_id}/attendance.csv")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith("attachment")
    lines = list(csv.reader(io.StringIO(r.text)))
    assert lines[0] == [
        "username",
        "display_name",
        "role",
        "first_joined",
        "last_left",
        "seconds_present",
    ]
    assert lines[1][0] == member.username and lines[1][1] == "'=SUM(A1)"
    assert lines[1][2] == "member" and lines[1][5] == str(row["seconds_present"])
    assert lines[1][3].endswith("Z") and "T" in lines[1][3] and lines[1][4].endswith("Z")
    reads = [e for e in await audit(s0.base, admin, slug) if e["action"] == "attendance.read"]
    assert len(reads) >= 2 and all(e["details"] == {"session_id": session_id} for e in reads)
    assert all(e["actor"] == {"id": fac.id, "username": fac.username} for e in reads)


async def test_a_killed_process_ends_its_stays_within_the_presence_bound(setup: Any) -> None:
    cluster, _, admin = setup
    s0 = cluster.servers[0]
    room = await make_room(s0.base, admin)
    slug = room["slug"]
    fac = await new_facilitator(s0.base, admin, slug)
    watcher = await new_user(s0.base)
    w, _ = await WS.enter(s0.ws_base, slug, watcher)
    doomed = ServerProcess(cluster.env, cluster.workdir / "doomed.log", command=cluster.command)
    doomed.start()
    try:
        member = await new_user(s0.base)
        m, welcome = await WS.enter(doomed.ws_base, slug, member)
        session_id = welcome["session"]["id"]
        await w.next("presence", status="joined")
        await asyncio.sleep(1.0)
        killed_at = time.monotonic()
        doomed.stop(signal.SIGKILL)
        left = await w.next("presence", status="left", timeout=10)
        assert left["user"]["id"] == member.id

        async def ended() -> Any:
            body = await attendance(s0.base, fac, slug, session_id)
            rows = [r for r in body["attendance"] if r["user"]["id"] == member.id]
            return rows[0] if rows and rows[0]["last_left"] is not None else None

        row = await eventually(ended, 10)
        bound = time.monotonic() - killed_at
        assert bound < 3 + 2 * SCALE  # presence TTL 3 s, plus upkeep ticks
        assert 1 <= row["seconds_present"] <= 1 + 3 + 2 * SCALE
    finally:
        doomed.stop(signal.SIGKILL)
    await w.close()


async def test_attendance_is_for_facilitators_and_admins(setup: Any) -> None:
    cluster, _, admin = setup
    s0, s1 = cluster.servers
    room = await make_room(s0.base, admin)
    slug = room["slug"]
    member = await new_user(s0.base)
    m, welcome = await WS.enter(s0.ws_base, slug, member)
    session_id = welcome["session"]["id"]
    for path in (
        f"/api/rooms/{slug}/sessions",
        f"/api/rooms/{slug}/sessions/{session_id}",
        f"/api/rooms/{slug}/sessions/{session_id}/attendance.csv",
    ):
        r = await get(s1.base, member, path)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        r = await get(s1.base, admin, path)
        assert r.status_code == 200, r.text
    private = await make_room(s0.base, admin, access="members")
    r = await get(s0.base, member, f"/api/rooms/{private['slug']}/sessions")
    assert r.status_code == 404
    r = await get(s0.base, admin, f"/api/rooms/{slug}/sessions/999999")
    assert r.status_code == 404
    r = await get(s0.base, admin, f"/api/rooms/{slug}/sessions", limit=0)
    assert r.status_code == 422
    body = await attendance(s0.base, admin, slug, session_id)
    assert [a["user"]["id"] for a in body["attendance"]] == [member.id]
    assert body["attendance"][0]["last_left"] is None  # still here
    assert set(body["attendance"][0]) == {
        "user",
        "role",
        "first_joined",
        "last_left",
        "seconds_present",
    }
    await m.close()
