"""Moderation end to end on two processes: facilitator actions, the waiting room, hooks,
reports, held messages and the audit log (PROTOCOL §3 `mod`, `flag`, `notice`; README)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import make_room
from tests.support.client import WS, Member, admin_token, expect_close, new_user, unique
from tests.support.moderation import (
    facilitator_and_member,
    facilitator_member_bystander,
    found,
    mod,
    new_facilitator,
    none_of,
    patch_room,
    say,
)
from tests.support.servers import ROOT, SCALE, Cluster, ServerProcess

# -- helpers -----------------------------------------------------------------------------


async def get_room(base: str, member: Member, slug: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, headers=member.headers) as http:
        return await http.get(f"/api/rooms/{slug}")


async def audit_log(base: str, admin: Member, slug: str) -> tuple[list[dict[str, Any]], str]:
    """The room's audit entries, newest first, and the raw JSON text."""
    async with httpx.AsyncClient(base_url=base, headers=admin.headers) as http:
        r = await http.get("/api/admin/audit", params={"room": slug, "limit": 500})
        assert r.status_code == 200, r.text
        return r.json()["entries"], r.text


def participant(member: Member, role: str) -> dict[str, Any]:
    return {"id": member.id, "display_name": member.user["display_name"], "role": role}


def user_object(member: Member) -> dict[str, Any]:
    return {
        "id": member.id,
        "username": member.username,
        "display_name": member.user["display_name"],
        "is_admin": False,
        "language": "en",
    }


@pytest.fixture(autouse=True)
async def close_sockets(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """Close every socket a test opened, even when it fails half-way."""
    opened: list[WS] = []
    original = WS.open.__func__  # type: ignore[attr-defined]

    async def tracking(cls: type[WS], *args: Any, **kwargs: Any) -> WS:
        ws: WS = await original(cls, *args, **kwargs)
        opened.append(ws)
        return ws

    monkeypatch.setattr(WS, "open", classmethod(tracking))
    yield
    for ws in opened:
        with contextlib.suppress(Exception):
            await ws.close()


@pytest.fixture
def servers(cluster: Cluster) -> tuple[ServerProcess, ServerProcess]:
    s0, s1 = cluster.servers
    return s0, s1


Servers = tuple[ServerProcess, ServerProcess]


# -- mute --------------------------------------------------------------------------------


async def test_mute_until_unmuted_across_processes_and_reconnects(
    servers: Servers, admin: Member, room: dict[str, Any]
) -> None:
    s0, s1 = servers
    slug = room["slug"]
    fac, member, bystander, f, m, b, _ = await facilitator_member_bystander(
        servers, admin, slug, on=(0, 1, 1)
    )

    await mod(f, "mute", "mute-1", user_id=member.id)
    mine = await f.next("moderation", action="mute")
    assert mine == {
        "type": "moderation",
        "action": "mute",
        "by": participant(fac, "facilitator"),
        "user_id": member.id,
        "ref": "mute-1",
    }
    theirs = await m.next("moderation", action="mute")
    assert "ref" not in theirs and theirs["user_id"] == member.id
    await say(m, "can I speak?", "s-1")
    refused = await m.next("error")
    assert refused["code"] == "muted" and refused["ref"] == "s-1"
    await none_of(b, "moderation")
    await none_of(b, "message", 0.1)

    # Across a reconnect, through the other process.
    await m.close()
    m, welcome = await WS.enter(s0.ws_base, slug, member)
    assert welcome["you"]["muted"] is True and welcome["you"]["muted_until"] is None
    await say(m, "still?")
    assert (await m.next("error"))["code"] == "muted"

    await mod(f, "unmute", user_id=member.id)
    assert (await m.next("moderation", action="unmute"))["user_id"] == member.id
    await f.next("moderation", action="unmute")
    await say(m, "thank you", "s-2")
    assert (await b.next("message"))["body"] == "thank you"
    assert (await m.next("message"))["ref"] == "s-2"
    await none_of(b, "moderation", 0.2)
    m2, welcome = await WS.enter(s1.ws_base, slug, member)
    assert welcome["you"]["muted"] is False and welcome["you"]["muted_until"] is None
    for ws in (f, m, m2, b):
        await ws.close()


async def test_timed_mute_ends_by_itself(
    servers: Servers, admin: Member, room: dict[str, Any]
) -> None:
    s0, s1 = servers
    slug = room["slug"]
    fac, member, f, m, _ = await facilitator_and_member(servers, admin, slug, on=(1, 0))
    before = int(time.time() * 1000)
    await mod(f, "mute", user_id=member.id, seconds=2)
    acted = await f.next("moderation", action="mute")
    assert acted["seconds"] == 2 and acted["user_id"] == member.id
    await m.next("moderation", action="mute")
    await say(m, "hello")
    assert (await m.next("error"))["code"] == "muted"
    m2, welcome = await WS.enter(s1.ws_base, slug, member)
    until = welcome["you"]["muted_until"]
    assert welcome["you"]["muted"] is True
    assert isinstance(until, int) and before + 1500 <= until <= int(time.time() * 1000) + 2500
    await asyncio.sleep(max(0.0, until / 1000 - time.time()) + 0.3)
    await say(m, "back")
    assert (await m2.next("message"))["body"] == "back"
    await say(m2, "back on the other socket")
    await m.next("message", body="back on the other socket")
    m3, welcome = await WS.enter(s0.ws_base, slug, member)
    assert welcome["you"]["muted"] is False and welcome["you"]["muted_until"] is None
    for bad in (0, -5):
        await mod(f, "mute", "bad", user_id=member.id, seconds=bad)
        assert (await f.next("error", ref="bad"))["code"] == "invalid"
    for ws in (f, m, m2, m3):
        await ws.close()


# -- remove and ban ----------------------------------------------------------------------


async def test_remove_closes_with_the_reason_and_allows_rejoining(
    servers: Servers, admin: Member, room: dict[str, Any]
) -> None:
    s0, s1 = servers
    slug = room["slug"]
    fac = await new_facilitator(s0.base, admin, slug)
    member, bystander = await new_user(s0.base), await new_user(s0.base)
    f, _ = await WS.enter(s0.ws_base, slug, fac)
    m, _ = await WS.enter(s1.ws_base, slug, member)
    m_other, _ = await WS.enter(s0.ws_base, slug, member)
    b, _ = await WS.enter(s1.ws_base, slug, bystander)
    await mod(f, "remove", "rm", user_id=member.id, reason="take a breather")
    acted = await f.next("moderation", action="remove")
    assert acted["ref"] == "rm" and acted["reason"] == "take a breather"
    assert acted["user_id"] == member.id and acted["by"] == participant(fac, "facilitator")
    for ws in (m, m_other):  # every socket of theirs, on both processes
        code, reason = await expect_close(ws)
        assert code == 4408 and "take a breather" in reason
    left = await b.next("presence", status="left")
    assert left["user"]["id"] == member.id
    await none_of(b, "moderation")
    # They may come back straight away.
    m, _ = await WS.enter(s1.ws_base, slug, member)
    await b.next("presence", status="joined")
    await m.close()
    await b.next("presence", status="left")
    await mod(f, "remove", "gone", user_id=member.id)
    assert (await f.next("error", ref="gone"))["code"] == "not_found"
    for ws in (f, b):
        await ws.close()


async def test_remove_with_a_cool_down(
    servers: Servers, admin: Member, room: dict[str, Any]
) -> None:
    s0, s1 = servers
    slug = room["slug"]
    fac, member, f, m, _ = await facilitator_and_member(servers, admin, slug, on=(1, 0))
    await mod(f, "remove", user_id=member.id, seconds=2)
    acted = await f.next("moderation", action="remove")
    assert acted["seconds"] == 2 and "reason" not in acted
    code, _ = await expect_close(m)
    assert code == 4408
    started = time.monotonic()
    for server in (s0, s1):
        again = await WS.open(server.ws_base, slug, member)
        assert (await expect_close(again))[0] == 4403
    await asyncio.sleep(max(0.0, 2.3 - (time.monotonic() - started)))
    m, welcome = await WS.enter(s1.ws_base, slug, member)
    assert welcome["you"]["user"]["id"] == member.id
    for ws in (f, m):
        await ws.close()


async def test_ban_and_unban(servers: Servers, admin: Member, room: dict[str, Any]) -> None:
    s0, s1 = servers
    slug = room["slug"]
    fac, member, bystander, f, m, b, _ = await facilitator_member_bystander(
        servers, admin, slug, on=(0, 1, 1)
    )
    absent = await new_user(s0.base)
    await mod(f, "ban", user_id=member.id, reason="repeated personal attacks")
    assert (await f.next("moderation", action="ban"))["reason"] == "repeated personal attacks"
    code, reason = await expect_close(m)
    assert code == 4408 and "repeated personal attacks" in reason
    for server in (s0, s1):
        again = await WS.open(server.ws_base, slug, member)
        assert (await expect_close(again))[0] == 4403
    assert (await get_room(s1.base, member, slug)).status_code == 404
    await none_of(b, "moderation")
    # Someone not in the room can be banned too.
    await mod(f, "ban", user_id=absent.id)
    await f.next("moderation", action="ban")
    assert (await expect_close(await WS.open(s1.ws_base, slug, absent)))[0] == 4403

    await mod(f, "unban", "ub", user_id=member.id)
    acted = await f.next("moderation", action="unban")
    assert acted["ref"] == "ub" and acted["user_id"] == member.id
    m, _ = await WS.enter(s0.ws_base, slug, member)
    assert (await get_room(s1.base, member, slug)).status_code == 200
    await none_of(b, "moderation", 0.2)
    for ws in (f, m, b):
        await ws.close()


# -- messages ----------------------------------------------------------------------------


async def test_delete_reaches_everyone_and_leaves_the_resume_window(
    servers: Servers, admin: Member, room: dict[str, Any]
) -> None:
    s0, s1 = servers
    slug = room["slug"]
    fac, member, bystander, f, m, b, welcome = await facilitator_member_bystander(
        servers, admin, slug, on=(0, 1, 0)
    )
    epoch = welcome["epoch"]
    for body in ("keep one", "delete me", "keep two"):
        await say(m, body)
    got = [await b.next("message") for _ in range(3)]
    doomed = got[1]
    await mod(f, "delete", "del", message_id=doomed["id"])
    for ws in (f, m, b):
        assert (await ws.next("deleted")) == {"type": "deleted", "message_id": doomed["id"]}
        acted = await ws.next("moderation", action="delete")
        assert acted["message_id"] == doomed["id"] and "user_id" not in acted
        assert acted["by"] == participant(fac, "facilitator")
        assert (acted.get("ref") == "del") == (ws is f)
    # A later resume leaves it out, through either process.
    for server in (s0, s1):
        again, welcome = await WS.enter(
            server.ws_base, slug, member, f"after_seq={got[0]['seq'] - 1}&epoch={epoch}"
        )
        assert [h["body"] for h in welcome["history"]] == ["keep one", "keep two"]
        await again.close()
    await mod(f, "delete", "nope", message_id="no-such-message")
    assert (await f.next("error", ref="nope"))["code"] == "not_found"
    await mod(f, "delete", "missing")
    assert (await f.next("error", ref="missing"))["code"] == "invalid"
    for ws in (f, m, b):
        await ws.close()


async def test_delete_all_removes_everything_one_member_said(
    servers: Servers, admin: Member, room: dict[str, Any]
) -> None:
    s0, s1 = servers
    slug = room["slug"]
    fac, member, bystander, f, m, b, welcome = await facilitator_member_bystander(
        servers, admin, slug, on=(1, 0, 1)
    )
    epoch = welcome["epoch"]
    for body in ("spam 1", "spam 2", "spam 3"):
        await say(m, body)
    await say(b, "mine stays")
    got = [await f.next("message") for _ in range(4)]
    spam_ids = [g["id"] for g in got if g["author"]["id"] == member.id]
    await mod(f, "delete_all", "all", user_id=member.id)
    for ws in (f, m, b):
        deleted = [(await ws.next("deleted"))["message_id"] for _ in range(3)]
        assert sorted(deleted) == sorted(spam_ids)
        assert await ws.next("deleted_all") == {"type": "deleted_all", "user_id": member.id}
        acted = await ws.next("moderation", action="delete_all")
        assert acted["user_id"] == member.id
        assert (acted.get("ref") == "all") == (ws is f)
    again, welcome = await WS.enter(
        s0.ws_base, slug, bystander, f"after_seq={got[0]['seq'] - 1}&epoch={epoch}"
    )
    assert [h["body"] for h in welcome["history"]] == ["mine stays"]
    entries, _ = await audit_log(s0.base, admin, slug)
    assert entries[0]["action"] == "delete_all" and entries[0]["details"]["deleted"] == 3
    assert entries[0]["target"] == {"id": member.id, "username": member.username}
    for ws in (f, m, b, again):
        await ws.close()


async def transcript_bodies(base: str, reader: Member, slug: str) -> list[str]:
    async with httpx.AsyncClient(base_url=base, headers=reader.headers) as http:
        r = await http.get(f"/api/rooms/{slug}/transcript")
        assert r.status_code == 200, r.text
        return [m["body"] for m in r.json()["messages"]]


async def eventually(check: Any, want: Any, seconds: float = 5.0) -> None:
    """Poll `check()` until it returns `want` (recording is written in small batches)."""
    deadline = time.monotonic() + seconds * SCALE
    while True:
        got = await check()
        if got == want or time.monotonic() > deadline:
            assert got == want
            return
        await asyncio.sleep(0.1)


async def test_delete_and_delete_all_reach_the_transcript(servers: Servers, admin: Member) -> None:
    s0, s1 = servers
    room = await make_room(s0.base, admin, transcripts="opt_in")
    slug = room["slug"]
    fac, member, other, f, m, o, _ = await facilitator_member_bystander(
        servers, admin, slug, on=(0, 1, 0)
    )
    for ws in (m, o):
        await ws.send({"type": "consent", "recorded": True})
        await ws.next("consent")
    for body in ("t1", "t2", "t3"):
        await say(m, body)
    got = [await f.next("message") for _ in range(3)]
    assert all(g["recorded"] for g in got)
    await say(o, "theirs")
    await f.next("message", body="theirs")
    await eventually(lambda: transcript_bodies(s1.base, fac, slug), ["t1", "t2", "t3", "theirs"])
    await mod(f, "delete", message_id=got[0]["id"])
    await f.next("moderation", action="delete")
    await eventually(lambda: transcript_bodies(s1.base, fac, slug), ["t2", "t3", "theirs"])
    await mod(f, "delete_all", user_id=member.id)
    await o.next("deleted_all")
    await eventually(lambda: transcript_bodies(s0.base, fac, slug), ["theirs"])


# -- room-wide settings ------------------------------------------------------------------


async def test_slow_mode(servers: Servers, admin: Member, room: dict[str, Any]) -> None:
    s0, s1 = servers
    slug = room["slug"]
    fac, member, f, m, _ = await facilitator_and_member(servers, admin, slug, on=(0, 1))
    await say(m, "before slow mode")  # counts: the gap applies even across its start
    await f.next("message")
    await mod(f, "slow_mode", "slow", seconds=3)
    for ws in (f, m):
        assert (await ws.next("room"))["room"]["slow_mode_seconds"] == 3
        acted = await ws.next("moderation", action="slow_mode")
        assert acted["seconds"] == 3 and (acted.get("ref") == "slow") == (ws is f)
    assert (await get_room(s1.base, member, slug)).json()["room"]["slow_mode_seconds"] == 3
    await say(m, "too soon", "soon")
    refused = await m.next("error", ref="soon")
    assert refused["code"] == "slow_mode" and 0 < refused["retry_after"] <= 3
    for body in ("facilitators", "are exempt"):
        await say(f, body)
        assert (await m.next("message"))["body"] == body
    await asyncio.sleep(refused["retry_after"] + 0.2)
    await say(m, "after the gap")
    await f.next("message", body="after the gap")
    await mod(f, "slow_mode", "bad", seconds=3601)
    assert (await f.next("error", ref="bad"))["code"] == "invalid"
    await mod(f, "slow_mode", seconds=0)
    assert (await m.next("room"))["room"]["slow_mode_seconds"] == 0
    await say(m, "free again")
    assert (await f.next("message"))["body"] == "free again"
    for ws in (f, m):
        await ws.close()


async def test_lock_and_unlock(servers: Servers, admin: Member, room: dict[str, Any]) -> None:
    s0, s1 = servers
    slug = room["slug"]
    fac, member, f, m, _ = await facilitator_and_member(servers, admin, slug, on=(1, 0))
    await mod(f, "lock", "lk")
    for ws in (f, m):
        assert (await ws.next("room"))["room"]["locked"] is True
        acted = await ws.next("moderation", action="lock")
        assert (acted.get("ref") == "lk") == (ws is f) and "user_id" not in acted
    await say(m, "hello?", "h")
    assert (await m.next("error", ref="h"))["code"] == "locked"
    await say(f, "facilitators may post")
    assert (await m.next("message"))["body"] == "facilitators may post"
    m2, welcome = await WS.enter(s1.ws_base, slug, member)
    assert welcome["room"]["locked"] is True
    await mod(f, "unlock")
    for ws in (f, m, m2):
        assert (await ws.next("room"))["room"]["locked"] is False
        await ws.next("moderation", action="unlock")
    await say(m, "open again")
    assert (await f.next("message"))["body"] == "open again"
    for ws in (f, m, m2):
        await ws.close()


async def test_pin_and_unpin(servers: Servers, admin: Member, room: dict[str, Any]) -> None:
    s0, s1 = servers
    slug = room["slug"]
    fac, member, f, m, _ = await facilitator_and_member(servers, admin, slug, on=(0, 1))
    note = unique("Remember to breathe ")
    await mod(f, "pin", "p1", body=note)
    for ws in (f, m):
        pinned = (await ws.next("pinned"))["pinned"]
        assert len(pinned) == 1
        first = pinned[0]
        assert first["body"] == note and first["message_id"] is None
        assert first["by"] == participant(fac, "facilitator")
        assert isinstance(first["pin_id"], str) and isinstance(first["ts"], int)
        acted = await ws.next("moderation", action="pin")
        assert acted["pin_id"] == first["pin_id"] and (acted.get("ref") == "p1") == (ws is f)
    said = unique("a wise thing ")
    await say(m, said)
    message = await f.next("message")
    await mod(f, "pin", message_id=message["id"])
    for ws in (f, m):
        pinned = (await ws.next("pinned"))["pinned"]
        assert [p["body"] for p in pinned] == [note, said]
        assert pinned[1]["message_id"] == message["id"]
    later, welcome = await WS.enter(s1.ws_base, slug, await new_user(s0.base))
    assert [p["body"] for p in welcome["pinned"]] == [note, said]
    await mod(f, "unpin", "up", pin_id=welcome["pinned"][0]["pin_id"])
    for ws in (f, m, later):
        assert [p["body"] for p in (await ws.next("pinned"))["pinned"]] == [said]
        await ws.next("moderation", action="unpin")
    for frame, code in (
        ({"pin_id": "no-such-pin"}, "not_found"),
        ({}, "invalid"),
    ):
        await mod(f, "unpin", "bad", **frame)
        assert (await f.next("error", ref="bad"))["code"] == code
    for frame, code in (
        ({"message_id": "no-such-message"}, "not_found"),
        ({}, "invalid"),
        ({"body": ""}, "invalid"),
    ):
        await mod(f, "pin", "bad", **frame)
        assert (await f.next("error", ref="bad"))["code"] == code
    _, text = await audit_log(s0.base, admin, slug)
    assert note not in text and said not in text
    for ws in (f, m, later):
        await ws.close()


async def test_lower_hand(servers: Servers, admin: Member, room: dict[str, Any]) -> None:
    s0, s1 = servers
    slug = room["slug"]
    fac, member, bystander, f, m, b, _ = await facilitator_member_bystander(
        servers, admin, slug, on=(0, 1, 0)
    )
    await m.send({"type": "hand", "raised": True})
    await b.next("hand", user_id=member.id, raised=True)
    newcomer, welcome = await WS.enter(s1.ws_base, slug, await new_user(s0.base))
    assert welcome["hands"] == [member.id]
    await mod(f, "lower_hand", "lh", user_id=member.id)
    for ws in (f, m, b, newcomer):
        lowered = await ws.next("hand", raised=False)
        assert lowered == {"type": "hand", "user_id": member.id, "raised": False}
    assert (await f.next("moderation", action="lower_hand"))["ref"] == "lh"
    assert (await m.next("moderation", action="lower_hand"))["user_id"] == member.id
    await none_of(b, "moderation")
    await none_of(newcomer, "moderation", 0.1)
    again, welcome = await WS.enter(s0.ws_base, slug, await new_user(s0.base))
    assert welcome["hands"] == []
    absent = await new_user(s0.base)
    await mod(f, "lower_hand", "x", user_id=absent.id)
    assert (await f.next("error", ref="x"))["code"] == "not_found"
    for ws in (f, m, b, newcomer, again):
        await ws.close()


async def test_end_closes_every_socket_and_clears_the_session(
    servers: Servers, admin: Member, room: dict[str, Any]
) -> None:
    s0, s1 = servers
    slug = room["slug"]
    fac = await new_facilitator(s0.base, admin, slug)
    member, other = await new_user(s0.base), await new_user(s0.base)
    f, _ = await WS.enter(s0.ws_base, slug, fac)
    f_other, _ = await WS.enter(s1.ws_base, slug, fac)
    m, welcome = await WS.enter(s1.ws_base, slug, member)
    o, _ = await WS.enter(s0.ws_base, slug, other)
    epoch = welcome["epoch"]
    await say(m, "said before the end")
    await o.next("message")
    await o.send({"type": "hand", "raised": True})
    await f.next("hand")
    await mod(f, "end", "bye")
    for ws in (f, f_other, m, o):
        code, _ = await expect_close(ws)
        assert code == 4410
    m, welcome = await WS.enter(s0.ws_base, slug, member, f"after_seq=0&epoch={epoch}")
    assert welcome["history"] == [] and welcome["hands"] == []
    await m.close()
    entries, _ = await audit_log(s0.base, admin, slug)
    # Entering again opened a new session (PROTOCOL §5): the server's `open` comes after.
    assert [e["action"] for e in entries[:2]] == ["open", "end"] and entries[0]["actor"] is None
    assert entries[1]["actor"] == {"id": fac.id, "username": fac.username}


# -- the waiting room --------------------------------------------------------------------


async def test_waiting_room_admit_and_deny(servers: Servers, admin: Member) -> None:
    s0, s1 = servers
    room = await make_room(s0.base, admin, access="approval")
    slug = room["slug"]
    fac1 = await new_facilitator(s0.base, admin, slug)
    fac2 = await new_facilitator(s0.base, admin, slug)
    f1, _ = await WS.enter(s0.ws_base, slug, fac1)
    f2, _ = await WS.enter(s1.ws_base, slug, fac2)
    arrival = await new_user(s0.base)
    a = await WS.open(s1.ws_base, slug, arrival)
    assert await a.next("waiting") == {"type": "waiting", "reason": "approval"}
    for ws in (f1, f2):
        assert await ws.next("knock") == {"type": "knock", "user": user_object(arrival)}
    # Waiting: only ping is answered; the rest is refused and reaches nobody.
    await a.send({"type": "ping", "ref": "p"})
    assert await a.next("pong") == {"type": "pong", "ref": "p"}
    mark = len(f1.seen)
    for frame in (
        {"type": "send", "body": "let me in", "ref": "w1"},
        {"type": "hand", "raised": True, "ref": "w2"},
        {"type": "typing", "ref": "w3"},
    ):
        await a.send(frame)
        assert (await a.next("error", ref=frame["ref"]))["code"] == "forbidden"
    for type_ in ("message", "hand", "typing", "presence"):
        await none_of(f1, type_, 0.2 if type_ == "message" else 0.0, since=mark)
    # A facilitator entering later gets a knock per waiting user.
    fac3 = await new_facilitator(s0.base, admin, slug)
    f3, _ = await WS.enter(s0.ws_base, slug, fac3)
    assert (await f3.next("knock"))["user"] == user_object(arrival)

    await mod(f1, "admit", "in", user_id=arrival.id)
    welcome = await a.next("welcome")
    assert welcome["you"]["user"]["id"] == arrival.id
    assert (await f1.next("moderation", action="admit"))["ref"] == "in"
    for ws in (f2, f3):
        await ws.next("presence", status="joined", user=participant(arrival, "member"))
    await say(a, "hello all")
    assert (await f2.next("message"))["body"] == "hello all"
    # Admitted stays admitted on reconnect, through either process.
    await a.close()
    mark = len(f2.seen)
    a, _ = await WS.enter(s0.ws_base, slug, arrival)
    await none_of(f2, "knock", 0.3, since=mark)
    await a.close()

    # Deny.
    stranger = await new_user(s0.base)
    d = await WS.open(s0.ws_base, slug, stranger)
    await d.next("waiting")
    await f2.next("knock")
    await mod(f2, "deny", "no", user_id=stranger.id)
    assert (await expect_close(d))[0] == 4403
    assert (await f1.next("moderation", action="deny"))["user_id"] == stranger.id
    await mod(f1, "admit", "late", user_id=stranger.id)
    assert (await f1.next("error", ref="late"))["code"] == "not_found"
    await mod(f1, "deny", "late2", user_id=stranger.id)
    assert (await f1.next("error", ref="late2"))["code"] == "not_found"

    # Someone who leaves while waiting is withdrawn.
    shy = await new_user(s0.base)
    w = await WS.open(s1.ws_base, slug, shy)
    await w.next("waiting")
    await f1.next("knock")
    await w.close()
    for ws in (f1, f2):
        assert await ws.next("knock_withdrawn", user_id=shy.id) == {
            "type": "knock_withdrawn",
            "user_id": shy.id,
        }
    f4, _ = await WS.enter(s1.ws_base, slug, await new_facilitator(s0.base, admin, slug))
    await none_of(f4, "knock", 0.3)
    for ws in (f1, f2, f3, f4):
        await ws.close()


async def test_admission_ends_with_remove_ban_and_end(servers: Servers, admin: Member) -> None:
    s0, s1 = servers
    room = await make_room(s0.base, admin, access="approval")
    slug = room["slug"]
    fac = await new_facilitator(s0.base, admin, slug)
    f, _ = await WS.enter(s0.ws_base, slug, fac)
    member = await new_user(s0.base)

    async def admitted() -> WS:
        ws = await WS.open(s1.ws_base, slug, member)
        await ws.next("waiting")
        await f.next("knock")
        await mod(f, "admit", user_id=member.id)
        await ws.next("welcome")
        return ws

    m = await admitted()
    await mod(f, "remove", user_id=member.id)
    assert (await expect_close(m))[0] == 4408
    m = await admitted()  # knocking again after a remove
    await mod(f, "ban", user_id=member.id)
    assert (await expect_close(m))[0] == 4408
    await mod(f, "unban", user_id=member.id)
    await f.next("moderation", action="unban")
    m = await admitted()  # and after a ban is lifted
    await mod(f, "end")
    assert (await expect_close(m))[0] == 4410
    assert (await expect_close(f))[0] == 4410
    f, _ = await WS.enter(s0.ws_base, slug, fac)
    m = await admitted()  # and after the end
    # Waiting sockets close on end too.
    await m.close()
    waiting = await WS.open(s1.ws_base, slug, await new_user(s0.base))
    await waiting.next("waiting")
    await f.next("knock")
    await mod(f, "end")
    assert (await expect_close(waiting))[0] == 4410
    assert (await expect_close(f))[0] == 4410


# -- who may act on whom -----------------------------------------------------------------


MEMBER_ATTEMPTS: list[dict[str, Any]] = [
    {"action": "mute", "seconds": 60},
    {"action": "unmute"},
    {"action": "remove", "reason": "x"},
    {"action": "ban"},
    {"action": "unban"},
    {"action": "delete"},
    {"action": "delete_all"},
    {"action": "slow_mode", "seconds": 30},
    {"action": "lock"},
    {"action": "unlock"},
    {"action": "pin", "body": "member pin"},
    {"action": "unpin", "pin_id": "x"},
    {"action": "admit"},
    {"action": "deny"},
    {"action": "lower_hand"},
    {"action": "end"},
    {"action": "resolve_flag", "flag_id": "x"},
    {"action": "approve", "held_id": "x"},
    {"action": "discard", "held_id": "x"},
    {"action": "no_such_action"},
]


async def test_a_member_may_not_moderate(
    servers: Servers, admin: Member, room: dict[str, Any]
) -> None:
    s0, s1 = servers
    slug = room["slug"]
    fac, member, other, f, m, o, _ = await facilitator_member_bystander(
        servers, admin, slug, on=(0, 1, 0)
    )
    await o.send({"type": "hand", "raised": True})
    await say(o, "a message")
    message = await m.next("message")
    for i, attempt in enumerate(MEMBER_ATTEMPTS):
        fields = dict(attempt)
        if attempt["action"] in ("delete",):
            fields["message_id"] = message["id"]
        elif attempt["action"] not in ("slow_mode", "lock", "unlock", "pin", "unpin", "end"):
            fields.setdefault("user_id", other.id)
        await m.send({"type": "mod", "ref": f"m{i}", **fields})
        refused = await m.next("error", ref=f"m{i}")
        assert refused["code"] == "forbidden", attempt
    for ws in (f, o):
        await none_of(ws, "moderation", 0.3)
        await none_of(ws, "deleted", 0.0)
        await none_of(ws, "room", 0.0)
        await none_of(ws, "pinned", 0.0)
    # Nothing changed.
    await say(o, "still here, unmuted")
    assert (await f.next("message"))["body"] == "still here, unmuted"
    again, welcome = await WS.enter(s1.ws_base, slug, other, "after_seq=0")
    assert welcome["room"]["locked"] is False and welcome["room"]["slow_mode_seconds"] == 0
    assert welcome["pinned"] == [] and welcome["hands"] == [other.id]
    assert [h["body"] for h in welcome["history"]] == ["a message", "still here, unmuted"]
    entries, _ = await audit_log(s0.base, admin, slug)
    # The first arrival opened a session (PROTOCOL §5, the server's own entry); nothing else.
    assert [e["action"] for e in entries] == ["open", "role.set", "room.create"]
    assert entries[0]["actor"] is None
    for ws in (f, m, o, again):
        await ws.close()


async def test_facilitators_and_admins_are_out_of_a_facilitators_reach(
    servers: Servers, admin: Member, room: dict[str, Any]
) -> None:
    s0, s1 = servers
    slug = room["slug"]
    fac1 = await new_facilitator(s0.base, admin, slug)
    fac2 = await new_facilitator(s0.base, admin, slug)
    f1, _ = await WS.enter(s0.ws_base, slug, fac1)
    f2, _ = await WS.enter(s1.ws_base, slug, fac2)
    ad, welcome = await WS.enter(s1.ws_base, slug, admin)
    assert welcome["you"]["role"] == "admin"
    for target in (fac2, admin):
        for action in ("mute", "remove", "ban", "lower_hand", "delete_all"):
            await mod(f1, action, "no", user_id=target.id)
            assert (await f1.next("error", ref="no"))["code"] == "forbidden", (action, target)
    await none_of(f2, "moderation", 0.3)
    # Not even an admin acts on an admin.
    await mod(ad, "mute", "self", user_id=admin.id)
    assert (await ad.next("error", ref="self"))["code"] == "forbidden"
    # An admin may act on a facilitator: a muted facilitator cannot post.
    await mod(ad, "mute", "ok", user_id=fac2.id)
    acted = await ad.next("moderation", action="mute")
    assert acted["ref"] == "ok" and acted["by"] == {
        "id": admin.id,
        "display_name": admin.user["display_name"],
        "role": "admin",
    }
    await f2.next("moderation", action="mute")
    await say(f2, "muted facilitator", "mf")
    assert (await f2.next("error", ref="mf"))["code"] == "muted"
    await mod(ad, "unmute", user_id=fac2.id)
    await f2.next("moderation", action="unmute")
    await say(f2, "back")
    assert (await f1.next("message"))["body"] == "back"
    await mod(ad, "remove", user_id=fac2.id, reason="admin says")
    assert (await expect_close(f2))[0] == 4408
    for ws in (f1, ad):
        await ws.close()


async def test_unknown_targets_are_not_found(
    servers: Servers, admin: Member, room: dict[str, Any]
) -> None:
    s0, _ = servers
    slug = room["slug"]
    fac = await new_facilitator(s0.base, admin, slug)
    f, _ = await WS.enter(s0.ws_base, slug, fac)
    stranger = await new_user(s0.base)  # exists, never entered
    cases: list[dict[str, Any]] = [
        {"action": "mute", "user_id": "no-such-user"},
        {"action": "unmute", "user_id": "no-such-user"},
        {"action": "ban", "user_id": "no-such-user"},
        {"action": "delete_all", "user_id": "no-such-user"},
        {"action": "remove", "user_id": stranger.id},
        {"action": "admit", "user_id": stranger.id},
        {"action": "deny", "user_id": stranger.id},
        {"action": "lower_hand", "user_id": stranger.id},
        {"action": "delete", "message_id": "no-such-message"},
        {"action": "pin", "message_id": "no-such-message"},
        {"action": "unpin", "pin_id": "no-such-pin"},
        {"action": "resolve_flag", "flag_id": "no-such-flag"},
        {"action": "approve", "held_id": "no-such-held"},
        {"action": "discard", "held_id": "no-such-held"},
    ]
    for i, case in enumerate(cases):
        await f.send({"type": "mod", "ref": f"c{i}", **case})
        assert (await f.next("error", ref=f"c{i}"))["code"] == "not_found", case
    await mod(f, "mute", "nouser")
    assert (await f.next("error", ref="nouser"))["code"] == "invalid"
    await mod(f, "dance", "what")
    assert (await f.next("error", ref="what"))["code"] == "invalid"
    await none_of(f, "moderation", 0.2)
    await f.close()


# -- the audit log -----------------------------------------------------------------------


async def test_every_action_is_audited_without_message_bodies(
    servers: Servers, admin: Member, room: dict[str, Any]
) -> None:
    s0, s1 = servers
    slug = room["slug"]
    fac, member, f, m, _ = await facilitator_and_member(servers, admin, slug, on=(0, 1))
    pinned_text, deleted_text = unique("pinned words "), unique("deleted words ")
    await say(m, deleted_text)
    message = await f.next("message")
    steps: list[dict[str, Any]] = [
        {"action": "mute", "user_id": member.id, "seconds": 60},
        {"action": "unmute", "user_id": member.id},
        {"action": "pin", "body": pinned_text},
        {"action": "pin", "message_id": message["id"]},
        {"action": "delete", "message_id": message["id"]},
        {"action": "slow_mode", "seconds": 5},
        {"action": "lock"},
        {"action": "unlock"},
        {"action": "lower_hand", "user_id": member.id},
        {"action": "remove", "user_id": member.id, "reason": "a short break"},
        {"action": "ban", "user_id": member.id, "reason": "rule 3"},
        {"action": "unban", "user_id": member.id},
    ]
    for step in steps:
        await f.send({"type": "mod", **step})
        acted = await f.next("moderation", action=step["action"])
        # The audit entry is written before anything is published.
        entries, _ = await audit_log(s1.base, admin, slug)
        assert entries[0]["action"] == step["action"], (step, acted)
    entries, text = await audit_log(s0.base, admin, slug)
    assert pinned_text not in text and deleted_text not in text
    mine = [e for e in entries if (e["actor"] or {}).get("id") == fac.id]
    assert [e["action"] for e in reversed(mine)] == [s["action"] for s in steps]
    target = {"id": member.id, "username": member.username}
    for entry in mine:
        assert entry["room"] == slug and isinstance(entry["ts"], int)
        assert entry["actor"] == {"id": fac.id, "username": fac.username}
    by_action = {e["action"]: e for e in mine}
    assert by_action["mute"]["target"] == target
    assert by_action["mute"]["details"] == {"seconds": 60}
    assert by_action["remove"]["details"] == {"reason": "a short break"}
    assert by_action["ban"]["details"] == {"reason": "rule 3"}
    assert by_action["delete"]["details"] == {"message_id": message["id"]}
    assert by_action["slow_mode"]["details"] == {"seconds": 5}
    assert "target" not in by_action["lock"]
    assert by_action["unban"]["target"] == target
    pins = [e for e in mine if e["action"] == "pin"]
    assert all(set(e["details"]) <= {"pin_id", "message_id"} for e in pins)
    await f.close()


# -- hooks -------------------------------------------------------------------------------

CRISIS_VARIANTS = ["I want to die", "I  want   to die…", "‘I want to DIE’", "I can’t go on"]


async def test_crisis_language_is_delivered_flagged_and_answered_privately(
    servers: Servers, admin: Member, room: dict[str, Any]
) -> None:
    s0, s1 = servers
    slug = room["slug"]
    fac = await new_facilitator(s0.base, admin, slug)
    fac_other = await new_facilitator(s0.base, admin, slug)
    member, bystander = await new_user(s0.base), await new_user(s0.base)
    f, _ = await WS.enter(s0.ws_base, slug, fac)
    f2, _ = await WS.enter(s1.ws_base, slug, fac_other)
    m, _ = await WS.enter(s1.ws_base, slug, member)
    b, _ = await WS.enter(s0.ws_base, slug, bystander)
    for i, body in enumerate(CRISIS_VARIANTS):
        await say(m, body, f"c{i}")
        mine = await m.next("message")
        assert mine["body"] == body and mine["ref"] == f"c{i}"
        for ws in (f, f2, b):
            assert (await ws.next("message"))["id"] == mine["id"]
        for ws in (f, f2):
            flag = await ws.next("flag")
            assert flag["source"] == "hook" and flag["hook"] == "crisis"
            assert flag["user_id"] == member.id and flag["message_id"] == mine["id"]
            assert flag["excerpt"] == body and flag["reason"]
            assert isinstance(flag["flag_id"], str) and isinstance(flag["ts"], int)
            assert "reported_by" not in flag
        notice = await m.next("notice")
        assert notice == {
            "type": "notice",
            "kind": "crisis_resources",
            "text": room["crisis_resources"],
        }
        assert "988" in notice["text"]
    await none_of(b, "notice")
    await none_of(b, "flag", 0.0)
    await none_of(m, "flag", 0.0)
    await none_of(f, "notice", 0.0)
    # The room's own resources are what the member gets.
    own = "Our group's crisis line: call 988, or the warmline 0800 000 000."
    await patch_room(s0.base, admin, slug, crisis_resources=own)
    await m.next("room")
    await asyncio.sleep(1.1)  # both processes hold the new settings
    await say(m, "I'm suicidal")
    assert (await m.next("notice"))["text"] == own
    for ws in (f, m, b, f2):
        await ws.close()


async def test_blocked_terms_are_rejected_with_a_reason(
    servers: Servers, admin: Member, room: dict[str, Any]
) -> None:
    s0, s1 = servers
    slug = room["slug"]
    member, bystander = await new_user(s0.base), await new_user(s0.base)
    m, _ = await WS.enter(s1.ws_base, slug, member)
    b, _ = await WS.enter(s0.ws_base, slug, bystander)
    updated = await patch_room(s0.base, admin, slug, blocked_terms=["noodle", "wet blanket"])
    assert updated["blocked_terms"] == ["noodle", "wet blanket"]
    for ws in (m, b):
        assert (await ws.next("room"))["room"]["blocked_terms"] == ["noodle", "wet blanket"]
    for i, body in enumerate(["you NOODLE", "such a wet   blanket"]):
        await say(m, body, f"bt{i}")
        refused = await m.next("error", ref=f"bt{i}")
        assert refused["code"] == "rejected" and refused["reason"]
    await none_of(b, "message")
    await say(m, "noodles are fine")
    assert (await b.next("message"))["body"] == "noodles are fine"
    for ws in (m, b):
        await ws.close()


async def test_a_room_chooses_its_hooks_but_not_to_drop_crisis(
    servers: Servers, admin: Member, room: dict[str, Any]
) -> None:
    s0, s1 = servers
    slug = room["slug"]
    fac, member, f, m, _ = await facilitator_and_member(servers, admin, slug, on=(1, 0))
    await patch_room(
        s0.base, admin, slug, blocked_terms=["noodle"], contact_details="hold", hooks=["nope"]
    )
    assert (await m.next("room"))["room"]["hooks"] == ["nope"]
    await f.next("room")
    # Neither blocked_terms nor contact_details runs here; crisis always does.
    await say(m, "noodle, call 555-123-4567")
    assert (await f.next("message"))["body"] == "noodle, call 555-123-4567"
    await say(m, "noodle, I want to die")
    await f.next("message", body="noodle, I want to die")
    assert (await f.next("flag"))["hook"] == "crisis"
    await patch_room(s0.base, admin, slug, hooks=None)
    assert (await m.next("room"))["room"]["hooks"] is None
    await f.next("room")
    await say(m, "noodle", "n")
    assert (await m.next("error", ref="n"))["code"] == "rejected"


async def test_contact_details_warn(servers: Servers, admin: Member, room: dict[str, Any]) -> None:
    s0, s1 = servers
    slug = room["slug"]
    fac, member, bystander, f, m, b, _ = await facilitator_member_bystander(
        servers, admin, slug, on=(0, 1, 0)
    )
    await patch_room(s0.base, admin, slug, contact_details="warn")
    for ws in (f, m, b):
        assert (await ws.next("room"))["room"]["contact_details"] == "warn"
    body = "text me on 555-123-4567 any time"
    await say(m, body)
    delivered = await b.next("message")
    assert delivered["body"] == body
    flag = await f.next("flag")
    assert flag["source"] == "hook" and flag["hook"] == "contact_details"
    assert flag["message_id"] == delivered["id"] and flag["user_id"] == member.id
    notice = await m.next("notice")
    assert notice["kind"] == "contact_details" and notice["text"]
    await none_of(b, "notice")
    await none_of(b, "flag", 0.0)
    for ws in (f, m, b):
        await ws.close()


async def test_contact_details_hold_approve_and_discard(
    servers: Servers, admin: Member, room: dict[str, Any]
) -> None:
    s0, s1 = servers
    slug = room["slug"]
    await patch_room(s0.base, admin, slug, contact_details="hold")
    fac, fac_other = [await new_facilitator(s0.base, admin, slug) for _ in range(2)]
    member, bystander = await new_user(s0.base), await new_user(s0.base)
    f, _ = await WS.enter(s0.ws_base, slug, fac)
    f2, _ = await WS.enter(s1.ws_base, slug, fac_other)
    m, _ = await WS.enter(s1.ws_base, slug, member)
    b, _ = await WS.enter(s0.ws_base, slug, bystander)
    body = "my email is sam@example.org"
    await say(m, body, "h1")
    for ws in (f, f2):
        held = await ws.next("held")
        assert held["body"] == body and held["hook"] == "contact_details"
        assert held["author"] == participant(member, "member")
        assert held["username"] == member.username
        assert held["reason"] and isinstance(held["ts"], int)
    notice = await m.next("notice")
    assert notice["kind"] == "held" and notice["text"]
    # The notice names the held message and the ref it was sent with; a resend of that ref
    # (a client reconnecting) is named again, not held twice.
    assert notice["held_id"] == held["held_id"] and notice["ref"] == "h1"
    assert "ref" not in held
    mark_f = len(f.seen)
    await say(m, body, "h1")
    again = await m.next("notice", kind="held", held_id=held["held_id"])
    assert again["ref"] == "h1"
    await none_of(b, "message")
    await none_of(f, "held", 0.0, since=mark_f)
    await none_of(m, "message", 0.0)
    await none_of(m, "error", 0.0)
    await none_of(b, "held", 0.0)
    # A facilitator entering later sees it.
    f3, _ = await WS.enter(s1.ws_base, slug, await new_facilitator(s0.base, admin, slug))
    assert (await f3.next("held"))["held_id"] == held["held_id"]

    await mod(f, "approve", "ok", held_id=held["held_id"])
    for ws in (f, f2, m, b):
        message = await ws.next("message")
        assert message["body"] == body and message["id"] == held["held_id"]
        assert message["author"] == participant(member, "member") and "ref" not in message
    acted = await f.next("moderation", action="approve")
    assert acted["ref"] == "ok" and acted["held_id"] == held["held_id"]
    await f2.next("moderation", action="approve")
    await none_of(b, "moderation")
    await none_of(m, "moderation", 0.0)
    await mod(f, "approve", "again", held_id=held["held_id"])
    assert (await f.next("error", ref="again"))["code"] == "not_found"

    mark = len(b.seen)
    await say(m, "call 0800 123 4567", "h2")
    second = await f2.next("held")
    await m.next("notice", kind="held")
    await mod(f2, "discard", held_id=second["held_id"])
    discarded = await m.next("notice", kind="held_discarded")
    assert discarded["text"] and discarded["held_id"] == second["held_id"]
    await f.next("moderation", action="discard")
    for type_ in ("message", "moderation", "notice"):
        await none_of(b, type_, 0.5 if type_ == "message" else 0.0, since=mark)
    f4, _ = await WS.enter(s0.ws_base, slug, await new_facilitator(s0.base, admin, slug))
    await none_of(f4, "held")
    entries, text = await audit_log(s0.base, admin, slug)
    assert [e["action"] for e in entries if e["action"] != "role.set"][:2] == [
        "discard",
        "approve",
    ]
    assert "sam@example.org" not in text and "0800 123 4567" not in text
    for ws in (f, f2, f3, f4, m, b):
        await ws.close()


async def test_crisis_language_is_heard_even_when_refused(
    servers: Servers, admin: Member, room: dict[str, Any]
) -> None:
    s0, s1 = servers
    slug = room["slug"]
    fac, member, bystander, f, m, b, _ = await facilitator_member_bystander(
        servers, admin, slug, on=(0, 1, 0)
    )

    async def refused_but_heard(code: str, body: str, ref: str) -> None:
        since = len(m.seen)
        await say(m, body, ref)
        # The error is the socket's own answer; the notice comes through the room.
        assert (await found(m, since, "error", ref=ref))["code"] == code
        assert (await found(m, since, "notice"))["kind"] == "crisis_resources"
        flag = await f.next("flag")
        assert flag["hook"] == "crisis" and flag["source"] == "hook"
        assert flag["user_id"] == member.id and flag["excerpt"] == body
        assert "message_id" not in flag

    await mod(f, "mute", user_id=member.id)
    await m.next("moderation", action="mute")
    await refused_but_heard("muted", "I want to die", "x1")
    await say(m, "just muted, nothing else", "x2")
    assert (await m.next("error", ref="x2"))["code"] == "muted"
    await mod(f, "unmute", user_id=member.id)
    await m.next("moderation", action="unmute")

    await mod(f, "lock")
    await m.next("room")
    await refused_but_heard("locked", "I’m going to kill myself", "x3")
    await mod(f, "unlock")
    await m.next("room")

    await mod(f, "slow_mode", seconds=60)
    await m.next("room")
    await say(m, "first one")
    await b.next("message", body="first one")
    mark = len(b.seen)
    await refused_but_heard("slow_mode", "I want  to die", "x4")
    await none_of(b, "message", since=mark)
    await none_of(b, "notice", 0.0)
    await none_of(b, "flag", 0.0)
    await none_of(f, "notice", 0.0)
    for ws in (f, m, b):
        await ws.close()


# -- reports and flags -------------------------------------------------------------------


async def test_reports_reach_facilitators_and_stay_until_resolved(
    servers: Servers, admin: Member, room: dict[str, Any]
) -> None:
    s0, s1 = servers
    slug = room["slug"]
    fac1, fac2 = [await new_facilitator(s0.base, admin, slug) for _ in range(2)]
    author, reporter = await new_user(s0.base), await new_user(s0.base)
    f1, _ = await WS.enter(s0.ws_base, slug, fac1)
    f2, _ = await WS.enter(s1.ws_base, slug, fac2)
    a, _ = await WS.enter(s1.ws_base, slug, author)
    r, _ = await WS.enter(s0.ws_base, slug, reporter)
    body = "x" * 150 + "y" * 150
    await say(a, body)
    message = await r.next("message")
    await r.send(
        {"type": "report", "message_id": message["id"], "reason": "felt unkind", "ref": "rep"}
    )
    assert await r.next("report_received") == {
        "type": "report_received",
        "message_id": message["id"],
        "ref": "rep",
    }
    flags = [await ws.next("flag") for ws in (f1, f2)]
    assert flags[0] == flags[1]
    flag = flags[0]
    assert flag["source"] == "report" and flag["reported_by"] == reporter.id
    assert flag["user_id"] == author.id and flag["message_id"] == message["id"]
    assert flag["reason"] == "felt unkind" and flag["excerpt"] == body[:200]
    assert "hook" not in flag
    await none_of(a, "flag")
    await none_of(r, "flag", 0.0)
    await r.send({"type": "report", "message_id": "no-such-message", "ref": "bad"})
    assert (await r.next("error", ref="bad"))["code"] == "not_found"

    late, _ = await WS.enter(s1.ws_base, slug, await new_facilitator(s0.base, admin, slug))
    assert (await late.next("flag"))["flag_id"] == flag["flag_id"]
    await mod(f1, "resolve_flag", "done", flag_id=flag["flag_id"])
    acted = await f1.next("moderation", action="resolve_flag")
    assert acted["flag_id"] == flag["flag_id"] and acted["ref"] == "done"
    await f2.next("moderation", action="resolve_flag")
    await none_of(r, "moderation")
    await none_of(a, "moderation", 0.0)
    later, _ = await WS.enter(s0.ws_base, slug, await new_facilitator(s0.base, admin, slug))
    await none_of(later, "flag")
    await mod(f1, "resolve_flag", "again", flag_id=flag["flag_id"])
    assert (await f1.next("error", ref="again"))["code"] == "not_found"
    for ws in (f1, f2, a, r, late, later):
        await ws.close()


async def test_a_flag_loses_its_excerpt_once_the_message_is_deleted(
    servers: Servers, admin: Member, room: dict[str, Any]
) -> None:
    s0, s1 = servers
    slug = room["slug"]
    fac, author, reporter, f, a, r, _ = await facilitator_member_bystander(
        servers, admin, slug, on=(0, 1, 0)
    )
    await say(a, "words to be deleted")
    message = await r.next("message")
    await r.send({"type": "report", "message_id": message["id"]})
    flag = await f.next("flag")
    assert flag["excerpt"] == "words to be deleted" and flag["reason"]
    await mod(f, "delete", message_id=message["id"])
    await f.next("moderation", action="delete")
    late, _ = await WS.enter(s1.ws_base, slug, await new_facilitator(s0.base, admin, slug))
    kept = await late.next("flag")
    assert kept["flag_id"] == flag["flag_id"] and kept["excerpt"] is None
    for ws in (f, a, r, late):
        await ws.close()


# -- custom hooks that fail --------------------------------------------------------------


@pytest.fixture(scope="module")
def hooked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One process, in-memory broker, with the test hooks of tests/support/hooks.py."""
    workdir = tmp_path_factory.mktemp("hooked")
    config = workdir / "hearth.toml"
    base = (ROOT / "tests" / "support" / "hearth-test.toml").read_text()
    config.write_text(
        base
        + "\n[moderation]\n"
        + 'hooks = ["crisis", "tests.support.hooks:explodes", "tests.support.hooks:sleeps"]\n'
        + "hook_timeout_seconds = 0.5\n"
        + 'fail_open = ["tests.support.hooks:sleeps"]\n'
    )
    cluster = Cluster(
        workdir=workdir,
        database_url=f"sqlite+aiosqlite:///{workdir / 'hearth.db'}",
        redis_url=None,
        processes=1,
        config=str(config),
        extra_env={"PYTHONPATH": str(ROOT)},
    ).start()
    yield cluster
    cluster.stop()


async def test_failing_hooks_fail_closed_or_open_and_the_room_goes_on(
    hooked: Cluster,
) -> None:
    (server,) = hooked.servers
    admin = await admin_token(server.base, hooked.admin)
    room = await make_room(server.base, admin)
    slug = room["slug"]
    fac, member, bystander, f, m, b, _ = await facilitator_member_bystander(
        hooked.servers, admin, slug, on=(0, 0, 0)
    )
    secret = unique("boom ")
    # The raising hook fails closed.
    await say(m, secret, "boom")
    refused = await m.next("error", ref="boom")
    assert refused["code"] == "rejected" and refused["reason"]
    await none_of(b, "message")
    # The sleeping one fails open after its time limit.
    loop = asyncio.get_running_loop()
    started = loop.time()
    await say(m, "slowpoke here", "slow")
    mine = await m.next("message")
    took = loop.time() - started
    assert mine["ref"] == "slow" and 0.45 <= took < 3 * SCALE
    assert (await b.next("message"))["body"] == "slowpoke here"
    # Crisis comes first, so a failing hook cannot silence a crisis message.
    await say(m, "boom, I want to die")
    assert (await b.next("message"))["body"] == "boom, I want to die"
    assert (await m.next("notice"))["kind"] == "crisis_resources"
    hooks = {(await f.next("flag"))["hook"] for _ in range(2)}
    assert hooks == {"crisis", "tests.support.hooks:explodes"}
    # And everyday messages pass at once.
    started = loop.time()
    await say(m, "an ordinary message")
    assert (await b.next("message"))["body"] == "an ordinary message"
    assert loop.time() - started < 0.45
    for ws in (f, m, b):
        await ws.close()
    logs = hooked.logs()
    assert "tests.support.hooks:explodes" in logs and "timed out" in logs
    assert secret not in logs and "slowpoke here" not in logs
