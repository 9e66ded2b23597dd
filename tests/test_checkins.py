"""Private check-ins (PROTOCOL §6) across two real processes on Redis and SQLite."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import redis

from tests.conftest import SHARED_REDIS, _worker_db, make_room
from tests.support.client import WS, Member, expect_close, new_user, unique
from tests.support.moderation import (
    facilitator_member_bystander,
    new_facilitator,
)
from tests.support.servers import Cluster


async def room_slugs(base: str, who: Member) -> list[str]:
    async with httpx.AsyncClient(base_url=base, headers=who.headers) as http:
        r = await http.get("/api/rooms")
        assert r.status_code == 200
        return [room["slug"] for room in r.json()["rooms"]]


async def test_a_request_reaches_facilitators_only_and_waits_for_them(
    cluster: Cluster, admin: Member
) -> None:
    s0, s1 = cluster.servers
    room = await make_room(s0.base, admin)
    slug = room["slug"]
    fac = await new_facilitator(s0.base, admin, slug)
    member, other = await new_user(s0.base, display_name="Mo"), await new_user(s0.base)
    f, _ = await WS.enter(s0.ws_base, slug, fac)
    m, _ = await WS.enter(s1.ws_base, slug, member)
    o, _ = await WS.enter(s0.ws_base, slug, other)
    await m.send({"type": "ask_facilitator", "note": "rough week", "ref": "a1"})
    assert await m.next("asked") == {"type": "asked", "ref": "a1"}
    request = await f.next("check_in_request")
    assert request["note"] == "rough week" and isinstance(request["ts"], int)
    assert request["user"] == {"id": member.id, "display_name": "Mo", "role": "member"}
    # Asking again replaces the note and keeps the id.
    await m.send({"type": "ask_facilitator"})
    await m.next("asked")
    again = await f.next("check_in_request")
    assert again["request_id"] == request["request_id"] and again["note"] is None
    assert [x for x in await o.quiet(0.5) if x["type"] == "check_in_request"] == []
    await m.send({"type": "ask_facilitator", "note": "x" * 501})
    assert (await m.next("error"))["code"] == "invalid"
    await f.send({"type": "ask_facilitator"})
    assert (await f.next("error"))["code"] == "forbidden"
    # A facilitator entering later is told after `welcome`.
    fac2 = await new_facilitator(s0.base, admin, slug)
    f2 = await WS.open(s1.ws_base, slug, fac2)
    await f2.next("welcome")
    assert (await f2.next("check_in_request"))["request_id"] == request["request_id"]
    await o.send({"type": "mod", "action": "dismiss_request", "request_id": request["request_id"]})
    assert (await o.next("error"))["code"] == "forbidden"
    await f.send({"type": "mod", "action": "dismiss_request", "request_id": request["request_id"]})
    echo = await f2.next("moderation", action="dismiss_request")
    assert echo["request_id"] == request["request_id"]
    await f.send({"type": "mod", "action": "dismiss_request", "request_id": request["request_id"]})
    assert (await f.next("error"))["code"] == "not_found"
    f3, _ = await WS.enter(s0.ws_base, slug, fac2)
    assert [x for x in await f3.quiet(0.5) if x["type"] == "check_in_request"] == []
    for ws in (f, f2, f3, m, o):
        await ws.close()


async def test_a_check_in_is_private_to_the_member_and_facilitators(
    cluster: Cluster, admin: Member
) -> None:
    s0, s1 = cluster.servers
    room = await make_room(
        s0.base, admin, crisis_resources="Call the line.", crisis_resources_es="Llama a la línea."
    )
    slug = room["slug"]
    fac, member, other, f, m, o, _ = await facilitator_member_bystander(
        cluster.servers, admin, slug, on=(0, 1, 1)
    )
    # Members never open one, not even with a facilitator.
    await o.send({"type": "mod", "action": "check_in", "user_id": member.id})
    assert (await o.next("error"))["code"] == "forbidden"
    await f.send({"type": "mod", "action": "check_in", "user_id": fac.id})
    assert (await f.next("error"))["code"] == "forbidden"
    await m.send({"type": "ask_facilitator", "note": "can we talk"})
    await f.next("check_in_request")
    await f.send({"type": "mod", "action": "check_in", "user_id": member.id, "ref": "c1"})
    opened = await m.next("check_in")
    private = opened["room"]
    assert opened["user_id"] == member.id and opened["by"]["id"] == fac.id
    assert private["kind"] == "check_in" and private["parent"] == slug
    assert private["access"] == "members" and private["transcripts"] == "off"
    assert private["title"] == "Check-in" and private["crisis_resources"] == "Call the line."
    assert private["crisis_resources_es"] == "Llama a la línea."
    assert (await f.next("check_in"))["room"]["slug"] == private["slug"]
    echo = await f.next("moderation", action="check_in")
    assert echo["user_id"] == member.id and echo["ref"] == "c1"
    await m.next("moderation", action="check_in")
    seen = await o.quiet(0.5)
    assert [x["type"] for x in seen if x["type"] in ("check_in", "moderation")] == []
    code = private["slug"]
    assert code in await room_slugs(s1.base, member)
    assert code not in await room_slugs(s1.base, other)
    assert code in await room_slugs(s0.base, fac)
    assert code not in await room_slugs(s0.base, admin)  # not theirs to list, though enterable
    # Only the member and the facilitators may enter.
    pm, welcome = await WS.enter(s1.ws_base, code, member)
    assert welcome["you"]["role"] == "member" and welcome["room"]["kind"] == "check_in"
    pf, welcome_f = await WS.enter(s0.ws_base, code, fac)
    assert welcome_f["you"]["role"] == "facilitator"
    intruder = await WS.open(s0.ws_base, code, other)
    assert (await expect_close(intruder))[0] == 4403
    async with httpx.AsyncClient(base_url=s0.base, headers=other.headers) as http:
        assert (await http.get(f"/api/rooms/{code}")).status_code == 404
    # The request closed with the check-in.
    f2, _ = await WS.enter(s1.ws_base, slug, fac)
    assert [x for x in await f2.quiet(0.5) if x["type"] == "check_in_request"] == []
    await pm.send({"type": "send", "body": "thank you"})
    assert (await pf.next("message"))["body"] == "thank you"
    # `end` closes it for good.
    await pf.send({"type": "mod", "action": "end"})
    assert (await expect_close(pm))[0] == 4410
    assert (await expect_close(pf))[0] == 4410
    again = await WS.open(s1.ws_base, code, member)
    assert (await expect_close(again))[0] == 4404
    assert code not in await room_slugs(s0.base, member)
    assert code not in await room_slugs(s0.base, admin)
    async with httpx.AsyncClient(base_url=s0.base, headers=admin.headers) as http:
        r = await http.get("/api/admin/audit", params={"room": slug})
        actions = [e["action"] for e in r.json()["entries"]]
    assert "check_in" in actions
    for ws in (f, f2, m, o):
        await ws.close()


async def test_a_note_never_reaches_the_database_or_the_logs(
    cluster: Cluster, admin: Member
) -> None:
    s0, s1 = cluster.servers
    room = await make_room(s0.base, admin)
    slug = room["slug"]
    fac = await new_facilitator(s0.base, admin, slug)
    member = await new_user(s0.base)
    note = unique("my-private-note-")
    f, _ = await WS.enter(s0.ws_base, slug, fac)
    m, _ = await WS.enter(s1.ws_base, slug, member)
    await m.send({"type": "ask_facilitator", "note": note})
    assert (await f.next("check_in_request"))["note"] == note
    await f.send({"type": "mod", "action": "check_in", "user_id": member.id})
    await m.next("check_in")
    await asyncio.sleep(0.5)
    for path in Path(cluster.workdir).iterdir():
        if path.is_file():
            assert note.encode() not in path.read_bytes(), path
    client = redis.Redis.from_url(f"{SHARED_REDIS}/{_worker_db()}")
    try:
        for key in client.scan_iter(count=1000):
            dumped = client.dump(key) or b""
            assert note.encode() not in dumped, key
    finally:
        client.close()
    await f.close()
    await m.close()
