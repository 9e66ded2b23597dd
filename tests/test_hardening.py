"""Edge cases found in review: repeated refs after resuming, members' malformed `mod`s,
bans during the agreement prompt, parallel password guesses."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import make_room
from tests.support.client import WS, Member, expect_close, new_user, unique
from tests.support.servers import Cluster


async def test_resent_ref_after_resuming_returns_original_despite_slow_mode(
    cluster: Cluster, admin: Member
) -> None:
    s0, s1 = cluster.servers
    room = await make_room(s0.base, admin, slow_mode_seconds=60)
    alice, bob = await new_user(s0.base), await new_user(s0.base)
    b, _ = await WS.enter(s1.ws_base, room["slug"], bob)
    a, welcome = await WS.enter(s0.ws_base, room["slug"], alice)
    await a.send({"type": "send", "body": "did this arrive?", "ref": "p-1"})
    original = await a.next("message")
    await a.close()
    # The client saw no echo (say); it resumes through the other process and resends.
    a, _ = await WS.enter(
        s1.ws_base, room["slug"], alice, f"after_seq={welcome['seq']}&epoch={welcome['epoch']}"
    )
    await a.send({"type": "send", "body": "did this arrive?", "ref": "p-1"})
    again = await a.next("message")
    assert again == original
    assert [f for f in await b.quiet(0.5) if f["type"] == "message"] == [
        {k: v for k, v in original.items() if k != "ref"}
    ]
    # A new ref is still subject to slow mode.
    await a.send({"type": "send", "body": "another", "ref": "p-2"})
    assert (await a.next("error"))["code"] == "slow_mode"
    for ws in (a, b):
        await ws.close()


async def test_malformed_mod_from_a_member_is_forbidden(
    cluster: Cluster, room: dict[str, Any]
) -> None:
    s0 = cluster.servers[0]
    ws, _ = await WS.enter(s0.ws_base, room["slug"], await new_user(s0.base))
    await ws.send({"type": "mod", "action": "mute", "user_id": 5, "ref": "m"})
    err = await ws.next("error")
    assert err["code"] == "forbidden" and err["ref"] == "m"
    await ws.close()


async def test_ban_during_the_agreement_prompt_keeps_them_out(
    cluster: Cluster, admin: Member
) -> None:
    s0, s1 = cluster.servers
    room = await make_room(s0.base, admin, agreement="Be kind.")
    bob = await new_user(s0.base)
    ws = await WS.open(s1.ws_base, room["slug"], bob)
    assert (await ws.recv())["type"] == "agreement_required"
    boss = await WS.open(s0.ws_base, room["slug"], admin)
    assert (await boss.recv())["type"] == "agreement_required"
    await boss.send({"type": "accept_agreement"})
    await boss.next("welcome")
    # Bob is not in the room yet: a ban needs no presence.
    await boss.send({"type": "mod", "action": "ban", "user_id": bob.id, "reason": "spam"})
    await boss.next("moderation", action="ban")
    await ws.send({"type": "accept_agreement"})
    code, _ = await expect_close(ws)
    assert code == 4403
    await boss.close()


async def test_parallel_guesses_cannot_outrun_the_throttle(cluster: Cluster) -> None:
    s0 = cluster.servers[0]
    victim = await new_user(s0.base)
    async with httpx.AsyncClient(base_url=s0.base, timeout=60) as http:
        answers = await asyncio.gather(
            *(
                http.post(
                    "/api/auth/login",
                    json={"username": victim.username, "password": unique("guess-")},
                )
                for _ in range(25)
            )
        )
    codes = sorted(r.status_code for r in answers)
    assert codes.count(401) == 10 and codes.count(429) == 15
