"""Who holds a role in a room and who is banned from it, over HTTP (README, protocol
additions): `GET /api/rooms/{slug}/bans` and `GET /api/admin/rooms/{slug}/roles`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import make_room
from tests.support.client import WS, Member, new_user
from tests.support.servers import Cluster

pytestmark = pytest.mark.timeout(120)


async def get(cluster: Cluster, who: Member, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=cluster.servers[0].base, headers=who.headers) as http:
        return await http.get(path)


async def put_role(cluster: Cluster, admin: Member, slug: str, user: Member, role: str) -> None:
    async with httpx.AsyncClient(base_url=cluster.servers[0].base, headers=admin.headers) as http:
        r = await http.put(f"/api/admin/rooms/{slug}/roles/{user.username}", json={"role": role})
        assert r.status_code == 200, r.text


async def mod(ws: WS, action: str, ref: str, **fields: Any) -> dict[str, Any]:
    await ws.send({"type": "mod", "action": action, "ref": ref, **fields})
    return await ws.next("moderation", ref=ref)


async def test_bans_are_listed_to_facilitators_newest_first_and_unban_removes(
    cluster: Cluster, admin: Member
) -> None:
    base = cluster.servers[0].base
    room = await make_room(base, admin)
    slug = room["slug"]
    fac, member = await new_user(base, "fac"), await new_user(base, "mem")
    first, second = await new_user(base, "b1", "First <b>"), await new_user(base, "b2")
    await put_role(cluster, admin, slug, fac, "facilitator")
    ws, _ = await WS.enter(cluster.servers[1].ws_base, slug, fac)
    await mod(ws, "ban", "one", user_id=first.id, reason="hurtful words")
    await mod(ws, "ban", "two", user_id=second.id)

    r = await get(cluster, fac, f"/api/rooms/{slug}/bans")
    assert r.status_code == 200, r.text
    bans = r.json()["bans"]
    assert [b["user"]["id"] for b in bans] == [second.id, first.id]
    assert bans[1]["user"] == {
        "id": first.id,
        "username": first.username,
        "display_name": "First <b>",
        "is_admin": False,
        "language": "en",
    }
    assert bans[1]["reason"] == "hurtful words" and bans[0]["reason"] is None
    assert all(isinstance(b["ts"], int) for b in bans)
    assert (await get(cluster, admin, f"/api/rooms/{slug}/bans")).json()["bans"] == bans

    await mod(ws, "unban", "three", user_id=first.id)
    r = await get(cluster, fac, f"/api/rooms/{slug}/bans")
    assert [b["user"]["id"] for b in r.json()["bans"]] == [second.id]
    await ws.close()

    # Members may not see the list; strangers to a members-only room do not learn it exists.
    r = await get(cluster, member, f"/api/rooms/{slug}/bans")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    private = await make_room(base, admin, access="members")
    r = await get(cluster, member, f"/api/rooms/{private['slug']}/bans")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await get(cluster, fac, "/api/rooms/no-such-room-here/bans")
    assert r.status_code == 404
    async with httpx.AsyncClient(base_url=base) as http:
        assert (await http.get(f"/api/rooms/{slug}/bans")).status_code == 401


async def test_roles_are_listed_to_admins_by_username(cluster: Cluster, admin: Member) -> None:
    base = cluster.servers[0].base
    room = await make_room(base, admin)
    slug = room["slug"]
    fac, member = await new_user(base, "zfac"), await new_user(base, "amem")
    assert (await get(cluster, admin, f"/api/admin/rooms/{slug}/roles")).json() == {"roles": []}
    await put_role(cluster, admin, slug, fac, "facilitator")
    await put_role(cluster, admin, slug, member, "member")

    r = await get(cluster, admin, f"/api/admin/rooms/{slug}/roles")
    assert r.status_code == 200, r.text
    roles = r.json()["roles"]
    assert [(x["user"]["username"], x["role"]) for x in roles] == [
        (member.username, "member"),
        (fac.username, "facilitator"),
    ]
    async with httpx.AsyncClient(base_url=base, headers=admin.headers) as http:
        r = await http.delete(f"/api/admin/rooms/{slug}/roles/{member.username}")
        assert r.status_code == 204
    r = await get(cluster, admin, f"/api/admin/rooms/{slug}/roles")
    assert [x["user"]["username"] for x in r.json()["roles"]] == [fac.username]

    r = await get(cluster, fac, f"/api/admin/rooms/{slug}/roles")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = await get(cluster, admin, "/api/admin/rooms/no-such-room-here/roles")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
