"""Room sockets on one process: entering, frames members send, bad input, handshake refusals."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import make_room
from tests.support.client import WS, Member, expect_close, new_user
from tests.support.servers import Cluster


@pytest.fixture
def s0(cluster: Cluster) -> Any:
    return cluster.servers[0]


async def test_welcome_shape(s0: Any, room: dict[str, Any]) -> None:
    alice = await new_user(s0.base, display_name="Alice A.")
    ws, welcome = await WS.enter(s0.ws_base, room["slug"], alice)
    assert welcome["protocol"] == 1
    assert welcome["room"]["slug"] == room["slug"]
    assert welcome["you"] == {
        "user": {
            "id": alice.id,
            "username": alice.username,
            "display_name": "Alice A.",
            "is_admin": False,
            "language": "en",
        },
        "role": "member",
        "consent": False,
        "muted": False,
        "muted_until": None,
    }
    assert welcome["members"] == []
    assert welcome["seq"] == 0 and welcome["history"] == [] and welcome["gap"] is False
    assert isinstance(welcome["epoch"], str) and welcome["epoch"]
    await ws.close()


async def test_send_reaches_everyone_once_with_ref_only_for_sender(
    s0: Any, room: dict[str, Any]
) -> None:
    alice, bob = await new_user(s0.base), await new_user(s0.base)
    a, _ = await WS.enter(s0.ws_base, room["slug"], alice)
    b, _ = await WS.enter(s0.ws_base, room["slug"], bob)
    body = "  hello\tthere\n<b>not bold</b> 😀  "
    await a.send({"type": "send", "body": body, "ref": "r-1"})
    mine = await a.next("message")
    theirs = await b.next("message")
    assert mine["ref"] == "r-1" and "ref" not in theirs
    assert mine["body"] == body == theirs["body"]
    assert mine["id"] == theirs["id"] and mine["seq"] == theirs["seq"] == 1
    assert mine["author"] == {"id": alice.id, "display_name": alice.username, "role": "member"}
    assert mine["room"] == room["slug"] and mine["recorded"] is False
    assert isinstance(mine["ts"], int)
    assert [f for f in await b.quiet(0.3) if f["type"] == "message"] == []
    await a.close()
    await b.close()


async def test_repeated_ref_is_not_delivered_twice(s0: Any, room: dict[str, Any]) -> None:
    alice, bob = await new_user(s0.base), await new_user(s0.base)
    a, _ = await WS.enter(s0.ws_base, room["slug"], alice)
    b, _ = await WS.enter(s0.ws_base, room["slug"], bob)
    await a.send({"type": "send", "body": "once", "ref": "dup"})
    first = await a.next("message")
    await a.send({"type": "send", "body": "once", "ref": "dup"})
    again = await a.next("message")
    assert again == first
    got = [f for f in await b.quiet(0.5) if f["type"] == "message"]
    assert len(got) == 1 and got[0]["id"] == first["id"]
    await a.close()
    await b.close()


async def test_typing_goes_to_others_only(s0: Any, room: dict[str, Any]) -> None:
    alice, bob = await new_user(s0.base), await new_user(s0.base)
    a, _ = await WS.enter(s0.ws_base, room["slug"], alice)
    a2, _ = await WS.enter(s0.ws_base, room["slug"], alice)
    b, _ = await WS.enter(s0.ws_base, room["slug"], bob)
    await a.send({"type": "typing"})
    assert (await b.next("typing")) == {"type": "typing", "user_id": alice.id}
    assert [f for f in await a2.quiet(0.4) if f["type"] == "typing"] == []
    assert [f for f in await a.quiet(0.1) if f["type"] == "typing"] == []
    for ws in (a, a2, b):
        await ws.close()


async def test_react_and_hand(s0: Any, room: dict[str, Any]) -> None:
    alice, bob = await new_user(s0.base), await new_user(s0.base)
    a, _ = await WS.enter(s0.ws_base, room["slug"], alice)
    b, _ = await WS.enter(s0.ws_base, room["slug"], bob)
    await a.send({"type": "send", "body": "hi"})
    msg = await b.next("message")
    await b.send({"type": "react", "message_id": msg["id"], "reaction": "hug", "ref": "x"})
    mine = await b.next("reaction")
    assert mine == {
        "type": "reaction",
        "message_id": msg["id"],
        "user_id": bob.id,
        "reaction": "hug",
        "ref": "x",
    }
    theirs = await a.next("reaction")
    assert "ref" not in theirs and theirs["reaction"] == "hug"
    await b.send({"type": "react", "message_id": msg["id"], "reaction": "thumbs", "ref": "y"})
    err = await b.next("error")
    assert err["code"] == "invalid" and err["ref"] == "y"
    await b.send({"type": "react", "message_id": "nope", "reaction": "nod"})
    assert (await b.next("error"))["code"] == "not_found"
    await b.send({"type": "hand", "raised": True})
    assert await a.next("hand") == {"type": "hand", "user_id": bob.id, "raised": True}
    await a.close()
    await b.close()


async def test_react_to_message_of_another_room_is_not_found(
    s0: Any, cluster: Cluster, admin: Member, room: dict[str, Any]
) -> None:
    other = await make_room(s0.base, admin)
    alice = await new_user(s0.base)
    a, _ = await WS.enter(s0.ws_base, other["slug"], alice)
    await a.send({"type": "send", "body": "elsewhere"})
    msg = await a.next("message")
    b, _ = await WS.enter(s0.ws_base, room["slug"], alice)
    await b.send({"type": "react", "message_id": msg["id"], "reaction": "nod"})
    assert (await b.next("error"))["code"] == "not_found"
    await a.close()
    await b.close()


async def test_ping_pong(s0: Any, room: dict[str, Any]) -> None:
    ws, _ = await WS.enter(s0.ws_base, room["slug"], await new_user(s0.base))
    await ws.send({"type": "ping", "ref": "p1"})
    assert await ws.next("pong") == {"type": "pong", "ref": "p1"}
    await ws.send({"type": "ping"})
    assert await ws.next("pong") == {"type": "pong"}
    await ws.close()


BAD_FRAMES = [
    ("not json", "invalid", None),
    ("[1,2]", "invalid", None),
    ('"text"', "invalid", None),
    ('{"no":"type"}', "invalid", None),
    ('{"type":"fly","ref":"r"}', "invalid", "r"),
    ('{"type":"send","ref":"r"}', "invalid", "r"),
    ('{"type":"send","body":5,"ref":"r"}', "invalid", "r"),
    ('{"type":"send","body":"","ref":"r"}', "invalid", "r"),
    ('{"type":"send","body":" \\u3000\\n\\u00a0","ref":"r"}', "invalid", "r"),
    ('{"type":"send","body":"a\\u0007b","ref":"r"}', "invalid", "r"),
    ('{"type":"send","body":"a\\ud800b","ref":"r"}', "invalid", "r"),
    ('{"type":"hand","raised":"yes","ref":"r"}', "invalid", "r"),
    ('{"type":"ping","ref":' + json.dumps("x" * 129) + "}", "invalid", None),
    ('{"type":"ping","ref":12}', "invalid", None),
]


@pytest.mark.parametrize(("raw", "code", "ref"), BAD_FRAMES)
async def test_bad_frames_get_errors_and_socket_stays(
    s0: Any, room: dict[str, Any], raw: str, code: str, ref: str | None
) -> None:
    ws, _ = await WS.enter(s0.ws_base, room["slug"], await new_user(s0.base))
    await ws.send(raw)
    err = await ws.next("error")
    assert err["code"] == code
    assert err.get("ref") == ref
    assert isinstance(err["message"], str) and err["message"]
    await ws.send({"type": "send", "body": "still here", "ref": "ok"})
    assert (await ws.next("message"))["ref"] == "ok"
    await ws.close()


async def test_binary_frame_is_invalid(s0: Any, room: dict[str, Any]) -> None:
    ws, _ = await WS.enter(s0.ws_base, room["slug"], await new_user(s0.base))
    await ws.conn.send(b'{"type":"ping"}')
    assert (await ws.next("error"))["code"] == "invalid"
    await ws.send({"type": "ping"})
    await ws.next("pong")
    await ws.close()


async def test_too_long_counts_code_points(s0: Any, cluster: Cluster, admin: Member) -> None:
    room = await make_room(s0.base, admin, max_message_chars=5)
    ws, _ = await WS.enter(s0.ws_base, room["slug"], await new_user(s0.base))
    await ws.send({"type": "send", "body": "😀😀😀😀😀"})
    assert (await ws.next("message"))["body"] == "😀😀😀😀😀"
    await ws.send({"type": "send", "body": "abcdef", "ref": "long"})
    err = await ws.next("error")
    assert err["code"] == "too_long" and err["ref"] == "long"
    await ws.close()


async def test_oversized_frame_closes_1009(s0: Any, room: dict[str, Any]) -> None:
    ws, _ = await WS.enter(s0.ws_base, room["slug"], await new_user(s0.base))
    await ws.send({"type": "send", "body": "x" * 70000})
    code, _ = await expect_close(ws)
    assert code == 1009


async def test_send_rate_limit(s0: Any, room: dict[str, Any]) -> None:
    ws, _ = await WS.enter(s0.ws_base, room["slug"], await new_user(s0.base))
    for i in range(6):
        await ws.send({"type": "send", "body": f"m{i}", "ref": f"r{i}"})
    err = await ws.next("error")
    assert err["code"] == "rate_limited" and err["ref"] == "r5"
    assert 0 < err["retry_after"] <= 5
    await ws.close()


async def test_error_budget_closes_4429(s0: Any, room: dict[str, Any]) -> None:
    ws, _ = await WS.enter(s0.ws_base, room["slug"], await new_user(s0.base))
    for _ in range(210):
        await ws.send("junk")
    code, _ = await expect_close(ws, timeout=10)
    assert code == 4429


async def test_handshake_refusals(s0: Any, cluster: Cluster, admin: Member) -> None:
    ws = await WS.open(s0.ws_base, "demo-nope", None)
    assert (await expect_close(ws))[0] == 4401
    ws = await WS.open(s0.ws_base, "demo-nope", None, headers={"Authorization": "Bearer junk"})
    assert (await expect_close(ws))[0] == 4401
    alice = await new_user(s0.base)
    ws = await WS.open(s0.ws_base, "no-such-room", alice)
    assert (await expect_close(ws))[0] == 4404
    members_only = await make_room(s0.base, admin, access="members")
    ws = await WS.open(s0.ws_base, members_only["slug"], alice)
    assert (await expect_close(ws))[0] == 4403


async def _cookie(base: str, member: Member) -> str:
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.post(
            "/api/auth/login",
            json={"username": member.username, "password": "a fine long password"},
        )
        return str(r.cookies["hearth_session"])


async def test_cookie_socket_needs_allowed_origin(s0: Any, room: dict[str, Any]) -> None:
    alice = await new_user(s0.base)
    cookie = await _cookie(s0.base, alice)
    url = f"{s0.ws_base}/ws/rooms/{room['slug']}"
    foreign = {"Cookie": f"hearth_session={cookie}", "Origin": "http://evil.example"}
    try:
        conn = await websockets.connect(url, additional_headers=foreign)
    except websockets.InvalidStatus as exc:  # a refused Origin may get 403 at the upgrade
        assert exc.response.status_code == 403
    else:
        assert (await expect_close(WS(conn)))[0] == 4403
    own = {"Cookie": f"hearth_session={cookie}", "Origin": f"http://127.0.0.1:{s0.port}"}
    conn = await websockets.connect(url, additional_headers=own)
    ws = WS(conn)
    assert (await ws.next("welcome"))["you"]["user"]["id"] == alice.id
    await ws.close()


async def test_agreement_flow(s0: Any, admin: Member) -> None:
    room = await make_room(s0.base, admin, agreement="Be kind. What is said here stays here.")
    alice = await new_user(s0.base)
    ws = await WS.open(s0.ws_base, room["slug"], alice)
    first = await ws.recv()
    assert first == {
        "type": "agreement_required",
        "agreement": "Be kind. What is said here stays here.",
    }
    await ws.send({"type": "send", "body": "early", "ref": "e"})
    err = await ws.next("error")
    assert err["code"] == "forbidden" and err["ref"] == "e"
    await ws.send({"type": "ping"})
    await ws.next("pong")
    await ws.send({"type": "accept_agreement"})
    await ws.next("welcome")
    await ws.close()
    # Accepted once: no question next time, until the text changes.
    ws, _ = await WS.enter(s0.ws_base, room["slug"], alice)
    await ws.close()
    async with httpx.AsyncClient(base_url=s0.base, headers=admin.headers) as http:
        r = await http.patch(f"/api/admin/rooms/{room['slug']}", json={"agreement": "New text."})
        assert r.status_code == 200
    ws = await WS.open(s0.ws_base, room["slug"], alice)
    assert (await ws.recv())["type"] == "agreement_required"
    await ws.close()


async def test_slow_mode_applies_to_members_not_facilitators(s0: Any, admin: Member) -> None:
    room = await make_room(s0.base, admin, slow_mode_seconds=30)
    alice = await new_user(s0.base)
    a, _ = await WS.enter(s0.ws_base, room["slug"], alice)
    await a.send({"type": "send", "body": "one"})
    await a.next("message")
    await a.send({"type": "send", "body": "two", "ref": "s"})
    err = await a.next("error")
    assert err["code"] == "slow_mode" and 25 < err["retry_after"] <= 30 and err["ref"] == "s"
    boss, _ = await WS.enter(s0.ws_base, room["slug"], admin)
    for body in ("x", "y"):
        await boss.send({"type": "send", "body": body})
        assert (await boss.next("message"))["body"] == body
    await a.close()
    await boss.close()


async def test_frames_are_authorized_after_handshake(s0: Any, room: dict[str, Any]) -> None:
    ws, _ = await WS.enter(s0.ws_base, room["slug"], await new_user(s0.base))
    await ws.send({"type": "mod", "action": "lock", "ref": "m"})
    err = await ws.next("error")
    assert err["code"] == "forbidden" and err["ref"] == "m"
    await ws.close()


async def test_consent_forbidden_in_off_room(s0: Any, room: dict[str, Any]) -> None:
    ws, _ = await WS.enter(s0.ws_base, room["slug"], await new_user(s0.base))
    await ws.send({"type": "consent", "recorded": True, "ref": "c"})
    err = await ws.next("error")
    assert err["code"] == "forbidden" and err["ref"] == "c"
    await ws.close()


async def test_many_sockets_concurrently(s0: Any, room: dict[str, Any]) -> None:
    users = [await new_user(s0.base) for _ in range(6)]
    sockets = [(await WS.enter(s0.ws_base, room["slug"], u))[0] for u in users]
    await asyncio.gather(
        *(ws.send({"type": "send", "body": f"from {i}"}) for i, ws in enumerate(sockets))
    )
    for ws in sockets:
        seqs: list[int] = []
        while len(seqs) < 6:
            seqs.append((await ws.next("message"))["seq"])
        assert seqs == sorted(seqs) and len(set(seqs)) == 6
    for ws in sockets:
        await ws.close()
