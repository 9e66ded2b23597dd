"""Promises of the contract and the README, on the shared cluster (two processes, Redis,
SQLite): a recorded message is in the transcript by the time anyone has it, resuming across
an `end` is a gap, and who reads a `members` transcript in an approval room."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from tests.conftest import make_room
from tests.support.client import WS, Member, expect_close, new_user
from tests.support.servers import Cluster
from tests.support.transcripts import consent, get_transcript, set_role


async def _read_now(base: str, who: Member, slug: str) -> list[dict[str, Any]]:
    r = await get_transcript(base, who, slug, limit=500)
    assert r.status_code == 200, r.text
    messages: list[dict[str, Any]] = r.json()["messages"]
    return messages


async def recorded_on_delivery(cluster: Cluster, admin: Member) -> None:
    """Two consenting members on two processes talk, a message at a time; each starts
    reading the transcript (through its own process, on a kept-alive connection) the moment
    any copy arrives: the message is there, in `seq` order."""
    s0, s1 = cluster.servers[:2]
    room = await make_room(s0.base, admin, transcripts="opt_in", transcript_readers="members")
    slug = room["slug"]
    alice, bob = await new_user(s0.base), await new_user(s0.base)
    a, _ = await WS.enter(s0.ws_base, slug, alice)
    b, _ = await WS.enter(s1.ws_base, slug, bob)
    await consent(a, True)
    await consent(b, True)
    rounds = 4  # within the shared cluster's 5 sends per 5 s
    problems: list[str] = []

    async def check(http: httpx.AsyncClient, message: dict[str, Any], label: str) -> None:
        r = await http.get(f"/api/rooms/{slug}/transcript", params={"limit": 500})
        assert r.status_code == 200, r.text
        kept = r.json()["messages"]
        seqs = [m["seq"] for m in kept]
        if message["id"] not in [m["id"] for m in kept]:
            problems.append(f"{label}: seq {message['seq']} not yet in the transcript")
        if seqs != sorted(seqs):
            problems.append(f"{label}: transcript out of order {seqs}")

    async def watch(ws: WS, me: Member, base: str, label: str) -> None:
        async with httpx.AsyncClient(base_url=base, headers=me.headers) as http:
            await http.get("/api/me")  # the connection is open before the first copy
            checks = []
            for _ in range(2 * rounds):
                message = await ws.next("message")
                assert message["recorded"] is True
                checks.append(asyncio.create_task(check(http, message, label)))
            await asyncio.gather(*checks)

    async def talk() -> None:
        for i in range(rounds):
            for ws, label in ((a, "a"), (b, "b")):
                await ws.send({"type": "send", "body": f"{label} {i}"})
                await asyncio.sleep(0.15)  # alone in its batch: nothing to ride along with

    await asyncio.gather(watch(a, alice, s0.base, "a"), watch(b, bob, s1.base, "b"), talk())
    assert problems == []
    for ws in (a, b):
        await ws.close()


async def test_recorded_message_is_in_the_transcript_when_any_copy_arrives(
    cluster: Cluster, admin: Member
) -> None:
    await recorded_on_delivery(cluster, admin)


async def test_resuming_from_before_an_end_is_a_gap(cluster: Cluster, admin: Member) -> None:
    s0, s1 = cluster.servers[:2]
    room = await make_room(s0.base, admin)
    slug = room["slug"]
    member = await new_user(s0.base)
    m, welcome = await WS.enter(s0.ws_base, slug, member)
    f, _ = await WS.enter(s1.ws_base, slug, admin)
    for body in ("one", "two", "three"):
        await f.send({"type": "send", "body": body})
        seen = await m.next("message", body=body)
    await f.send({"type": "mod", "action": "end"})
    for ws in (m, f):
        assert (await expect_close(ws))[0] == 4410
    epoch = welcome["epoch"]
    # Seen up to "one" before the end: "two" and "three" were cleared by it.
    back, again = await WS.enter(s1.ws_base, slug, member, f"after_seq=1&epoch={epoch}")
    assert again["gap"] is True and again["history"] == [] and again["epoch"] == epoch
    await back.close()
    # Seen everything before the end: nothing was missed.
    last = seen["seq"]
    back, again = await WS.enter(s0.ws_base, slug, member, f"after_seq={last}&epoch={epoch}")
    assert again["gap"] is False and again["history"] == []
    await back.close()


async def test_members_transcript_in_an_approval_room_is_for_those_let_in(
    cluster: Cluster, admin: Member
) -> None:
    s0, s1 = cluster.servers[:2]
    room = await make_room(
        s0.base, admin, access="approval", transcripts="opt_in", transcript_readers="members"
    )
    slug = room["slug"]
    fac, early, late, waiting, denied = [await new_user(s0.base) for _ in range(5)]
    await set_role(s0.base, admin, slug, fac, "facilitator")
    f, _ = await WS.enter(s0.ws_base, slug, fac)
    await consent(f, True)

    async def let_in(who: Member, base: str) -> WS:
        ws = await WS.open(base, slug, who)
        await ws.next("waiting")
        knock = await f.next("knock")
        await f.send({"type": "mod", "action": "admit", "user_id": knock["user"]["id"]})
        await ws.next("welcome")
        return ws

    e = await let_in(early, s1.ws_base)
    before = await _say(f, "said while early was there")
    await e.close()
    await asyncio.sleep(0.01)  # `ts` is in ms: the next entry is strictly later
    lt = await let_in(late, s0.ws_base)
    after = await _say(f, "said once late was in too")
    # A user still waiting and one who was denied have never entered: 403.
    w = await WS.open(s1.ws_base, slug, waiting)
    await w.next("waiting")
    await f.next("knock")
    d = await WS.open(s1.ws_base, slug, denied)
    await d.next("waiting")
    knock = await f.next("knock", user={**knock_user(denied)})
    await f.send({"type": "mod", "action": "deny", "user_id": knock["user"]["id"]})
    assert (await expect_close(d))[0] == 4403
    for who in (waiting, denied):
        r = await get_transcript(s1.base, who, slug)
        assert r.status_code == 403, r.text
    # Those let in read what was said from their first entry on; facilitators all of it.

    def ids(kept: list[dict[str, Any]]) -> list[str]:
        return [m["id"] for m in kept]

    assert ids(await _read_now(s1.base, early, slug)) == [before["id"], after["id"]]
    assert ids(await _read_now(s0.base, late, slug)) == [after["id"]]
    assert ids(await _read_now(s0.base, fac, slug)) == [before["id"], after["id"]]
    for ws in (f, lt, w):
        await ws.close()


def knock_user(member: Member) -> dict[str, Any]:
    return {
        "id": member.id,
        "username": member.username,
        "display_name": member.username,
        "is_admin": False,
        "language": "en",
    }


async def _say(ws: WS, body: str) -> dict[str, Any]:
    ref = uuid.uuid4().hex[:8]
    await ws.send({"type": "send", "body": body, "ref": ref})
    mine = await ws.next("message", ref=ref)
    assert mine["recorded"] is True
    return mine


async def test_transcript_reader_never_admitted_gets_403_even_with_a_role(
    cluster: Cluster, admin: Member
) -> None:
    s0 = cluster.servers[0]
    room = await make_room(
        s0.base, admin, access="approval", transcripts="opt_in", transcript_readers="members"
    )
    member = await new_user(s0.base)
    await set_role(s0.base, admin, room["slug"], member, "member")
    async with httpx.AsyncClient(base_url=s0.base, headers=member.headers) as http:
        r = await http.get(f"/api/rooms/{room['slug']}/transcript")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
