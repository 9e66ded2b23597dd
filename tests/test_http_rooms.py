"""Rooms over HTTP (PROTOCOL §2): creating and changing rooms, live effect of settings on
every process, who sees which room, per-room roles and the audit log."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.conftest import make_room
from tests.support.client import WS, Member, expect_close, new_user, unique
from tests.support.servers import SCALE, Cluster

pytestmark = pytest.mark.timeout(120)

DEFAULTS: dict[str, Any] = {
    "description": "",
    "agreement": None,
    "access": "open",
    "transcripts": "off",
    "transcript_readers": "facilitators",
    "retention_days": 30,
    "slow_mode_seconds": 0,
    "max_message_chars": 2000,
    "resume_window_seconds": 300,
    "locked": False,
}
ROOM_FIELDS = {"slug", "title", *DEFAULTS, "crisis_resources"}


def assert_error(r: httpx.Response, status: int, code: str) -> None:
    """The response is the contract's error shape with this status and code."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body


def client(cluster: Cluster, who: Member | None = None, server: int = 0) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=cluster.servers[server].base,
                             headers=who.headers if who else None)


async def set_role(cluster: Cluster, admin: Member, slug: str, username: str,
                   role: str) -> httpx.Response:
    async with client(cluster, admin) as http:
        return await http.put(f"/api/admin/rooms/{slug}/roles/{username}", json={"role": role})


async def patch(cluster: Cluster, admin: Member, slug: str, **changes: Any) -> dict[str, Any]:
    async with client(cluster, admin) as http:
        r = await http.patch(f"/api/admin/rooms/{slug}", json=changes)
        assert r.status_code == 200, r.text
        room: dict[str, Any] = r.json()["room"]
        return room


# -- creating rooms ---------------------------------------------------------------------------


async def test_create_room_with_defaults(cluster: Cluster, admin: Member) -> None:
    slug = unique("new-")
    async with client(cluster, admin) as http:
        r = await http.post("/api/admin/rooms", json={"slug": slug, "title": "Tuesday circle"})
        assert r.status_code == 201, r.text
        assert set(r.json()) == {"room"}
        room = r.json()["room"]
        assert set(room) >= ROOM_FIELDS, room
        assert room["slug"] == slug
        assert room["title"] == "Tuesday circle"
        assert {k: room[k] for k in DEFAULTS} == DEFAULTS
        assert isinstance(room["crisis_resources"], str) and "988" in room["crisis_resources"]
        # The same room, from the other process.
    async with client(cluster, admin, server=1) as http:
        r = await http.get(f"/api/rooms/{slug}")
        assert r.status_code == 200, r.text
        assert r.json() == {"room": room}


async def test_create_room_with_settings(cluster: Cluster, admin: Member) -> None:
    settings = {
        "description": "A quiet room", "agreement": "Be kind.", "access": "approval",
        "transcripts": "opt_in", "transcript_readers": "members", "retention_days": None,
        "slow_mode_seconds": 3600, "max_message_chars": 10000, "resume_window_seconds": 0,
        "locked": True, "crisis_resources": "Call your local line.",
    }
    room = await make_room(cluster.servers[0].base, admin, **settings)
    assert {k: room[k] for k in settings} == settings
    async with client(cluster, admin, server=1) as http:
        stored = (await http.get(f"/api/rooms/{room['slug']}")).json()["room"]
    assert {k: stored[k] for k in settings} == settings


async def test_duplicate_slug_is_conflict(cluster: Cluster, admin: Member) -> None:
    room = await make_room(cluster.servers[0].base, admin)
    async with client(cluster, admin, server=1) as http:
        r = await http.post("/api/admin/rooms", json={"slug": room["slug"], "title": "Again"})
        assert_error(r, 409, "conflict")
        r = await http.get(f"/api/rooms/{room['slug']}")
        assert r.json()["room"]["title"] == "Test room"


@pytest.mark.parametrize("slug", [
    "a", "-abc", "has space", "Upper", "under_score", "dot.ted", "x" * 65, "", None, 12,
])
async def test_bad_slug_is_invalid(cluster: Cluster, admin: Member, slug: Any) -> None:
    async with client(cluster, admin) as http:
        r = await http.post("/api/admin/rooms", json={"slug": slug, "title": "Bad"})
        assert_error(r, 422, "invalid")


async def test_slug_edges_are_accepted(cluster: Cluster, admin: Member) -> None:
    base = unique("")
    async with client(cluster, admin) as http:
        long = f"{base}-" + "z" * (63 - len(base))
        assert len(long) == 64
        r = await http.post("/api/admin/rooms", json={"slug": long, "title": "Edge"})
        assert r.status_code == 201, r.text
        assert r.json()["room"]["slug"] == long
        # Two characters is the shortest; another test run may hold this one already.
        r = await http.post("/api/admin/rooms", json={"slug": f"9{base}"[:2], "title": "Edge"})
        assert r.status_code in (201, 409), r.text


@pytest.mark.parametrize("settings", [
    {"colour": "blue"},
    {"slow_mode_seconds": 3601},
    {"slow_mode_seconds": -1},
    {"slow_mode_seconds": 1.5},
    {"slow_mode_seconds": "10"},
    {"max_message_chars": 0},
    {"max_message_chars": 10001},
    {"retention_days": 0},
    {"resume_window_seconds": 3601},
    {"access": "x"},
    {"access": None},
    {"transcripts": "on"},
    {"transcript_readers": "everyone"},
    {"locked": 1},
    {"locked": "true"},
    {"title": ""},
    {"title": None},
])
async def test_bad_settings_are_invalid(
    cluster: Cluster, admin: Member, settings: dict[str, Any]
) -> None:
    slug = unique("bad-")
    async with client(cluster, admin) as http:
        body = {"slug": slug, "title": "Bad", **settings}
        assert_error(await http.post("/api/admin/rooms", json=body), 422, "invalid")
        # Nothing was created.
        assert_error(await http.get(f"/api/rooms/{slug}"), 404, "not_found")


async def test_create_room_bad_bodies(cluster: Cluster, admin: Member) -> None:
    async with client(cluster, admin) as http:
        assert_error(await http.post("/api/admin/rooms", json={"slug": unique("t-")}),
                     422, "invalid")
        assert_error(await http.post("/api/admin/rooms", json=["slug"]), 422, "invalid")
        assert_error(await http.post("/api/admin/rooms", content=b"{nope"), 400, "invalid")


async def test_create_room_needs_an_admin(cluster: Cluster) -> None:
    user = await new_user(cluster.servers[0].base)
    slug = unique("nope-")
    async with client(cluster, user) as http:
        r = await http.post("/api/admin/rooms", json={"slug": slug, "title": "Mine"})
        assert_error(r, 403, "forbidden")
    async with client(cluster) as http:
        r = await http.post("/api/admin/rooms", json={"slug": slug, "title": "Mine"})
        assert_error(r, 401, "unauthorized")
    async with client(cluster, user) as http:
        assert_error(await http.get(f"/api/rooms/{slug}"), 404, "not_found")


# -- changing rooms ---------------------------------------------------------------------------


async def test_patch_changes_settings(cluster: Cluster, admin: Member) -> None:
    room = await make_room(cluster.servers[0].base, admin)
    slug = room["slug"]
    changed = await patch(cluster, admin, slug, slow_mode_seconds=30, title="Renamed",
                          retention_days=None, transcripts="opt_in")
    assert changed["slow_mode_seconds"] == 30
    assert changed["title"] == "Renamed"
    assert changed["retention_days"] is None
    assert changed["transcripts"] == "opt_in"
    # Untouched settings keep their values.
    assert {k: changed[k] for k in DEFAULTS if k not in
            ("slow_mode_seconds", "retention_days", "transcripts")} == {
        k: room[k] for k in DEFAULTS if k not in
        ("slow_mode_seconds", "retention_days", "transcripts")}
    async with client(cluster, admin, server=1) as http:
        assert (await http.get(f"/api/rooms/{slug}")).json()["room"] == changed


async def test_patch_refuses_slug_bad_values_and_unknown_rooms(
    cluster: Cluster, admin: Member
) -> None:
    room = await make_room(cluster.servers[0].base, admin)
    slug = room["slug"]
    async with client(cluster, admin) as http:
        url = f"/api/admin/rooms/{slug}"
        assert_error(await http.patch(url, json={"slug": unique("moved-")}), 422, "invalid")
        assert_error(await http.patch(url, json={"slug": slug}), 422, "invalid")
        assert_error(await http.patch(url, json={"max_message_chars": 0}), 422, "invalid")
        assert_error(await http.patch(url, json={"colour": "blue"}), 422, "invalid")
        # A bad value among good ones changes nothing.
        r = await http.patch(url, json={"title": "Changed", "access": "x"})
        assert_error(r, 422, "invalid")
        assert (await http.get(f"/api/rooms/{slug}")).json()["room"] == room
        r = await http.patch(f"/api/admin/rooms/{unique('none-')}", json={"locked": True})
        assert_error(r, 404, "not_found")
    user = await new_user(cluster.servers[0].base)
    async with client(cluster, user) as http:
        assert_error(await http.patch(f"/api/admin/rooms/{slug}", json={"locked": True}),
                     403, "forbidden")


async def test_patch_reaches_live_sessions_on_every_process(
    cluster: Cluster, admin: Member
) -> None:
    room = await make_room(cluster.servers[0].base, admin)
    member = await new_user(cluster.servers[0].base)
    near, _ = await WS.enter(cluster.servers[0].ws_base, room["slug"], member)
    far, _ = await WS.enter(cluster.servers[1].ws_base, room["slug"], member)
    try:
        await patch(cluster, admin, room["slug"], slow_mode_seconds=45, description="Changed")
        for ws in (far, near):
            frame = await ws.next("room", 1.0)
            assert set(frame) == {"type", "room"}
            assert frame["room"]["slug"] == room["slug"]
            assert frame["room"]["slow_mode_seconds"] == 45
            assert frame["room"]["description"] == "Changed"
    finally:
        await near.close()
        await far.close()


async def test_patch_with_no_change_answers_the_room(cluster: Cluster, admin: Member) -> None:
    room = await make_room(cluster.servers[0].base, admin)
    assert await patch(cluster, admin, room["slug"], locked=False) == room
    assert await patch(cluster, admin, room["slug"]) == room


async def test_locked_room_refuses_members_not_facilitators(
    cluster: Cluster, admin: Member
) -> None:
    room = await make_room(cluster.servers[0].base, admin)
    slug = room["slug"]
    member = await new_user(cluster.servers[0].base)
    helper = await new_user(cluster.servers[0].base, "fac")
    r = await set_role(cluster, admin, slug, helper.username, "facilitator")
    assert r.status_code == 200, r.text
    ws_member, _ = await WS.enter(cluster.servers[1].ws_base, slug, member)
    ws_helper, welcome = await WS.enter(cluster.servers[0].ws_base, slug, helper)
    ws_admin, _ = await WS.enter(cluster.servers[1].ws_base, slug, admin)
    assert welcome["you"]["role"] == "facilitator"
    try:
        await patch(cluster, admin, slug, locked=True)
        for ws in (ws_member, ws_helper, ws_admin):
            assert (await ws.next("room", 1.0))["room"]["locked"] is True
        await ws_member.send({"type": "send", "body": "let me talk", "ref": "m1"})
        error = await ws_member.next("error", 2.0)
        assert error["code"] == "locked" and error["ref"] == "m1", error
        await ws_helper.send({"type": "send", "body": "facilitator here", "ref": "f1"})
        mine = await ws_helper.next("message", 2.0, body="facilitator here")
        assert mine["ref"] == "f1"
        await ws_admin.send({"type": "send", "body": "admin here"})
        await ws_admin.next("message", 2.0, body="admin here")
        # The member still reads what facilitators say.
        await ws_member.next("message", 2.0, body="facilitator here")
        await ws_member.next("message", 2.0, body="admin here")
        # Unlocking lets the member speak again.
        await patch(cluster, admin, slug, locked=False)
        assert (await ws_member.next("room", 1.0))["room"]["locked"] is False
        await ws_member.send({"type": "send", "body": "thank you", "ref": "m2"})
        assert (await ws_member.next("message", 2.0, body="thank you"))["ref"] == "m2"
    finally:
        for ws in (ws_member, ws_helper, ws_admin):
            await ws.close()


# -- who sees which room ----------------------------------------------------------------------


async def test_members_room_is_hidden_until_a_role_is_given(
    cluster: Cluster, admin: Member
) -> None:
    open_room = await make_room(cluster.servers[0].base, admin)
    approval = await make_room(cluster.servers[0].base, admin, access="approval")
    private = await make_room(cluster.servers[0].base, admin, access="members")
    user = await new_user(cluster.servers[0].base)
    async with client(cluster, user, server=1) as http:
        r = await http.get("/api/rooms")
        assert r.status_code == 200, r.text
        assert set(r.json()) == {"rooms"}
        slugs = {room["slug"] for room in r.json()["rooms"]}
        assert {open_room["slug"], approval["slug"]} <= slugs
        assert private["slug"] not in slugs
        listed = next(x for x in r.json()["rooms"] if x["slug"] == open_room["slug"])
        assert listed == open_room
        assert_error(await http.get(f"/api/rooms/{private['slug']}"), 404, "not_found")
        # Same answer as for a room that does not exist: no hint that it does.
        assert_error(await http.get(f"/api/rooms/{unique('none-')}"), 404, "not_found")

    r = await set_role(cluster, admin, private["slug"], user.username, "member")
    assert r.status_code == 200, r.text
    async with client(cluster, user, server=1) as http:
        slugs = {room["slug"] for room in (await http.get("/api/rooms")).json()["rooms"]}
        assert private["slug"] in slugs
        r = await http.get(f"/api/rooms/{private['slug']}")
        assert r.status_code == 200, r.text
        assert r.json()["room"]["access"] == "members"
    # Admins see every room.
    async with client(cluster, admin) as http:
        slugs = {room["slug"] for room in (await http.get("/api/rooms")).json()["rooms"]}
        assert {open_room["slug"], approval["slug"], private["slug"]} <= slugs


async def test_rooms_list_needs_credentials(cluster: Cluster) -> None:
    async with client(cluster) as http:
        assert_error(await http.get("/api/rooms"), 401, "unauthorized")
        assert_error(await http.get(f"/api/rooms/{unique('x-')}"), 401, "unauthorized")


# -- roles -------------------------------------------------------------------------------------


async def test_put_role(cluster: Cluster, admin: Member) -> None:
    room = await make_room(cluster.servers[0].base, admin)
    user = await new_user(cluster.servers[0].base, display_name="Sam")
    r = await set_role(cluster, admin, room["slug"], user.username.upper(), "facilitator")
    assert r.status_code == 200, r.text
    assert r.json() == {"user": {**user.user, "disabled": False}, "role": "facilitator"}
    r = await set_role(cluster, admin, room["slug"], user.username, "member")
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "member"


@pytest.mark.parametrize("body", [
    {"role": "admin"}, {"role": "owner"}, {"role": None}, {}, {"role": "member", "x": 1},
])
async def test_put_bad_role_is_invalid(
    cluster: Cluster, admin: Member, body: dict[str, Any]
) -> None:
    room = await make_room(cluster.servers[0].base, admin)
    user = await new_user(cluster.servers[0].base)
    async with client(cluster, admin) as http:
        r = await http.put(f"/api/admin/rooms/{room['slug']}/roles/{user.username}", json=body)
        assert_error(r, 422, "invalid")


async def test_roles_of_unknown_users_and_rooms_are_not_found(
    cluster: Cluster, admin: Member
) -> None:
    room = await make_room(cluster.servers[0].base, admin)
    user = await new_user(cluster.servers[0].base)
    async with client(cluster, admin) as http:
        url = f"/api/admin/rooms/{room['slug']}/roles/{unique('ghost')}"
        assert_error(await http.put(url, json={"role": "member"}), 404, "not_found")
        assert_error(await http.delete(url), 404, "not_found")
        url = f"/api/admin/rooms/{unique('none-')}/roles/{user.username}"
        assert_error(await http.put(url, json={"role": "member"}), 404, "not_found")
        assert_error(await http.delete(url), 404, "not_found")


async def test_roles_need_an_admin(cluster: Cluster, admin: Member) -> None:
    room = await make_room(cluster.servers[0].base, admin)
    user = await new_user(cluster.servers[0].base)
    r = await set_role(cluster, admin, room["slug"], user.username, "facilitator")
    assert r.status_code == 200
    # A facilitator is no admin.
    url = f"/api/admin/rooms/{room['slug']}/roles/{user.username}"
    async with client(cluster, user) as http:
        assert_error(await http.put(url, json={"role": "member"}), 403, "forbidden")
        assert_error(await http.delete(url), 403, "forbidden")
    async with client(cluster) as http:
        assert_error(await http.put(url, json={"role": "member"}), 401, "unauthorized")
        assert_error(await http.delete(url), 401, "unauthorized")


async def test_facilitator_role_shows_in_welcome(cluster: Cluster, admin: Member) -> None:
    room = await make_room(cluster.servers[0].base, admin)
    user = await new_user(cluster.servers[0].base)
    ws, welcome = await WS.enter(cluster.servers[1].ws_base, room["slug"], user)
    assert welcome["you"]["role"] == "member"
    await ws.close()
    r = await set_role(cluster, admin, room["slug"], user.username, "facilitator")
    assert r.status_code == 200
    ws, welcome = await WS.enter(cluster.servers[1].ws_base, room["slug"], user)
    try:
        assert welcome["you"]["role"] == "facilitator"
        assert welcome["you"]["user"] == user.user
    finally:
        await ws.close()
    ws_admin, admin_welcome = await WS.enter(cluster.servers[0].ws_base, room["slug"], admin)
    await ws_admin.close()
    assert admin_welcome["you"]["role"] == "admin"


async def test_removing_a_role_closes_sockets_in_a_members_room(
    cluster: Cluster, admin: Member
) -> None:
    room = await make_room(cluster.servers[0].base, admin, access="members")
    slug = room["slug"]
    user = await new_user(cluster.servers[0].base)
    stays = await new_user(cluster.servers[0].base)
    for who in (user, stays):
        assert (await set_role(cluster, admin, slug, who.username, "member")).status_code == 200
    ws_near, _ = await WS.enter(cluster.servers[0].ws_base, slug, user)
    ws_far, _ = await WS.enter(cluster.servers[1].ws_base, slug, user)
    ws_other, _ = await WS.enter(cluster.servers[1].ws_base, slug, stays)
    try:
        started = time.monotonic()
        async with client(cluster, admin) as http:
            r = await http.delete(f"/api/admin/rooms/{slug}/roles/{user.username}")
            assert r.status_code == 204, r.text
            assert r.content == b""
        closes = await asyncio.gather(expect_close(ws_near, 2.0), expect_close(ws_far, 2.0))
        assert [code for code, _ in closes] == [4403, 4403], closes
        assert time.monotonic() - started < 1.5 * SCALE
        # Someone else keeps their seat.
        await ws_other.send({"type": "ping", "ref": "p"})
        assert (await ws_other.next("pong", 2.0))["ref"] == "p"
        # Entering again is refused, and the room is hidden again.
        again = await WS.open(cluster.servers[0].ws_base, slug, user)
        assert (await expect_close(again, 2.0))[0] == 4403
        async with client(cluster, user) as http:
            assert_error(await http.get(f"/api/rooms/{slug}"), 404, "not_found")
    finally:
        for ws in (ws_near, ws_far, ws_other):
            await ws.close()


async def test_access_change_closes_sockets_of_those_without_a_role(
    cluster: Cluster, admin: Member
) -> None:
    room = await make_room(cluster.servers[0].base, admin)
    slug = room["slug"]
    outsider = await new_user(cluster.servers[0].base)
    insider = await new_user(cluster.servers[0].base)
    assert (await set_role(cluster, admin, slug, insider.username, "member")).status_code == 200
    ws_out0, _ = await WS.enter(cluster.servers[0].ws_base, slug, outsider)
    ws_out1, _ = await WS.enter(cluster.servers[1].ws_base, slug, outsider)
    ws_in, _ = await WS.enter(cluster.servers[1].ws_base, slug, insider)
    try:
        started = time.monotonic()
        await patch(cluster, admin, slug, access="members")
        closes = await asyncio.gather(expect_close(ws_out0, 2.0), expect_close(ws_out1, 2.0))
        assert [code for code, _ in closes] == [4403, 4403], closes
        assert time.monotonic() - started < 1.5 * SCALE
        assert (await ws_in.next("room", 1.0))["room"]["access"] == "members"
        await ws_in.send({"type": "ping", "ref": "p"})
        assert (await ws_in.next("pong", 2.0))["ref"] == "p"
    finally:
        for ws in (ws_out0, ws_out1, ws_in):
            await ws.close()


async def test_removing_a_role_in_an_open_room_keeps_the_socket(
    cluster: Cluster, admin: Member
) -> None:
    room = await make_room(cluster.servers[0].base, admin)
    user = await new_user(cluster.servers[0].base)
    assert (await set_role(cluster, admin, room["slug"], user.username,
                           "facilitator")).status_code == 200
    ws, welcome = await WS.enter(cluster.servers[1].ws_base, room["slug"], user)
    try:
        assert welcome["you"]["role"] == "facilitator"
        async with client(cluster, admin) as http:
            r = await http.delete(f"/api/admin/rooms/{room['slug']}/roles/{user.username}")
            assert r.status_code == 204
        await asyncio.sleep(1.0 * SCALE)
        await ws.send({"type": "ping", "ref": "p"})
        assert (await ws.next("pong", 2.0))["ref"] == "p"
    finally:
        await ws.close()


# -- audit log ---------------------------------------------------------------------------------


async def test_audit_records_room_and_role_changes(cluster: Cluster, admin: Member) -> None:
    room = await make_room(cluster.servers[0].base, admin)
    slug = room["slug"]
    user = await new_user(cluster.servers[0].base)
    await patch(cluster, admin, slug, slow_mode_seconds=10, locked=True)
    assert (await set_role(cluster, admin, slug, user.username, "facilitator")).status_code == 200
    async with client(cluster, admin, server=1) as http:
        r = await http.delete(f"/api/admin/rooms/{slug}/roles/{user.username}")
        assert r.status_code == 204
        r = await http.get("/api/admin/audit", params={"room": slug})
        assert r.status_code == 200, r.text
    assert set(r.json()) == {"entries"}
    entries = r.json()["entries"]
    assert [e["action"] for e in entries] == ["role.remove", "role.set", "room.update",
                                              "room.create"]
    for entry in entries:
        assert set(entry) >= {"id", "ts", "actor", "action", "room", "details"}
        assert isinstance(entry["id"], str)
        assert entry["actor"] == {"id": admin.id, "username": admin.username}
        assert entry["room"] == slug
        assert isinstance(entry["details"], dict)
        assert abs(entry["ts"] - time.time() * 1000) < 120_000
    assert [e["ts"] for e in entries] == sorted((e["ts"] for e in entries), reverse=True)
    assert len({e["id"] for e in entries}) == 4
    remove, put, update, create = entries
    assert update["details"]["changes"] == {"slow_mode_seconds": [0, 10], "locked": [False, True]}
    assert "target" not in create or create["target"] is None
    for entry in (remove, put):
        assert entry["target"] == {"id": user.id, "username": user.username}
    assert put["details"].get("role") == "facilitator"


async def test_audit_paging_and_filter(cluster: Cluster, admin: Member) -> None:
    room = await make_room(cluster.servers[0].base, admin)
    other = await make_room(cluster.servers[0].base, admin)
    slug = room["slug"]
    for seconds in (1, 2, 3, 4):
        await patch(cluster, admin, slug, slow_mode_seconds=seconds)
    await patch(cluster, admin, other["slug"], locked=True)
    async with client(cluster, admin) as http:
        everything = (await http.get("/api/admin/audit", params={"room": slug})).json()["entries"]
        assert len(everything) == 5
        assert all(e["room"] == slug for e in everything)
        assert [e["details"]["changes"]["slow_mode_seconds"][1] for e in everything[:4]] == [
            4, 3, 2, 1]
        pages: list[dict[str, Any]] = []
        before: str | None = None
        while True:
            params = {"room": slug, "limit": "2", **({"before_id": before} if before else {})}
            r = await http.get("/api/admin/audit", params=params)
            assert r.status_code == 200, r.text
            page = r.json()["entries"]
            assert len(page) <= 2
            if not page:
                break
            pages.extend(page)
            before = page[-1]["id"]
        assert pages == everything
        # Without a filter: every room, newest first, the other room's update on top.
        r = await http.get("/api/admin/audit", params={"limit": "1"})
        (latest,) = r.json()["entries"]
        assert latest["room"] == other["slug"] and latest["action"] == "room.update"
        r = await http.get("/api/admin/audit", params={"limit": "3"})
        assert len(r.json()["entries"]) == 3
        r = await http.get("/api/admin/audit", params={"room": unique("none-")})
        assert r.json() == {"entries": []}


@pytest.mark.parametrize("params", [
    {"limit": "0"}, {"limit": "501"}, {"limit": "-1"}, {"limit": "ten"}, {"limit": "2.5"},
    {"before_id": "abc"},
])
async def test_audit_bad_parameters_are_invalid(
    cluster: Cluster, admin: Member, params: dict[str, str]
) -> None:
    async with client(cluster, admin) as http:
        assert_error(await http.get("/api/admin/audit", params=params), 422, "invalid")


async def test_audit_limit_edges(cluster: Cluster, admin: Member) -> None:
    async with client(cluster, admin) as http:
        r = await http.get("/api/admin/audit", params={"limit": "500"})
        assert r.status_code == 200, r.text
        assert len(r.json()["entries"]) <= 500
        r = await http.get("/api/admin/audit", params={"limit": "1"})
        assert r.status_code == 200 and len(r.json()["entries"]) == 1


async def test_audit_needs_an_admin(cluster: Cluster) -> None:
    user = await new_user(cluster.servers[0].base)
    async with client(cluster, user) as http:
        assert_error(await http.get("/api/admin/audit"), 403, "forbidden")
    async with client(cluster) as http:
        assert_error(await http.get("/api/admin/audit"), 401, "unauthorized")
