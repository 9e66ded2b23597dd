"""Consent-based transcripts end to end on the shared cluster (two processes, Redis, SQLite):
consent and `recorded`, reading, erasing, retention, export, group commit, and words kept
off disk (PROTOCOL §2 transcript endpoints, §3 `consent` and `message.recorded`)."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from server.store.engine import make_engine, make_sessions
from server.store.models import RecordedMessage, Room
from tests.support.client import PASSWORD, WS, Member, new_user
from tests.support.moderation import patch_room
from tests.support.servers import Cluster, hearth_cli
from tests.support.transcripts import (
    consent,
    file_bytes,
    get_transcript,
    opt_in_room,
    phrase,
    recorded_and_not,
    room_frame,
    say,
    set_role,
    sqlite_files,
    transcript,
    without_ref,
)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def s0(cluster: Cluster) -> Any:
    return cluster.servers[0]


@pytest.fixture
def s1(cluster: Cluster) -> Any:
    return cluster.servers[1]


# -- consent and `recorded` -------------------------------------------------------------------


async def test_consenting_author_is_recorded_on_every_copy(s0: Any, s1: Any, admin: Member) -> None:
    room = await opt_in_room(s0.base, admin)
    slug = room["slug"]
    alice, bob = await new_user(s0.base), await new_user(s0.base)
    a, welcome = await WS.enter(s0.ws_base, slug, alice)
    assert welcome["you"]["consent"] is False
    b, _ = await WS.enter(s1.ws_base, slug, bob)
    await consent(a, True)

    mine = await say(a, phrase("alice says"))
    theirs = await b.next("message", id=mine["id"])
    assert mine["recorded"] is True and theirs["recorded"] is True
    assert without_ref(mine) == theirs

    unrecorded = await say(b, phrase("bob says"))
    seen_by_alice = await a.next("message", id=unrecorded["id"])
    assert unrecorded["recorded"] is False and seen_by_alice["recorded"] is False

    kept = await transcript(s1.base, admin, slug, want=1)
    await asyncio.sleep(0.2)
    assert await transcript(s1.base, admin, slug) == kept == [theirs]
    await a.close()
    await b.close()

    again, welcome = await WS.enter(s1.ws_base, slug, alice)
    assert welcome["you"]["consent"] is True
    await again.close()


async def test_withdrawing_consent_stops_recording(s0: Any, admin: Member) -> None:
    room = await opt_in_room(s0.base, admin)
    slug = room["slug"]
    alice = await new_user(s0.base)
    a, _ = await WS.enter(s0.ws_base, slug, alice)
    before = await say(a, phrase("before consent"))
    await consent(a, True)
    during = await say(a, phrase("while consenting"))
    await consent(a, False)
    after = await say(a, phrase("after withdrawing"))
    assert [before["recorded"], during["recorded"], after["recorded"]] == [False, True, False]
    await consent(a, True)
    later = await say(a, phrase("consenting again"))
    assert later["recorded"] is True
    kept = await transcript(s0.base, admin, slug, want=2)
    assert [m["id"] for m in kept] == [during["id"], later["id"]]
    assert [m["seq"] for m in kept] == [during["seq"], later["seq"]]
    await a.close()


async def test_consent_given_on_one_process_applies_on_the_other(
    s0: Any, s1: Any, admin: Member
) -> None:
    room = await opt_in_room(s0.base, admin)
    slug = room["slug"]
    alice = await new_user(s0.base)
    on_a, _ = await WS.enter(s0.ws_base, slug, alice)
    on_b, welcome = await WS.enter(s1.ws_base, slug, alice)
    assert welcome["you"]["consent"] is False
    # Process B has cached "no consent" (from the welcome and from this message).
    assert (await say(on_b, phrase("not yet")))["recorded"] is False

    await consent(on_a, True)
    assert (await say(on_b, phrase("now on B")))["recorded"] is True
    assert (await say(on_a, phrase("now on A")))["recorded"] is True

    await consent(on_b, False)
    assert (await say(on_a, phrase("withdrawn on B, sent on A")))["recorded"] is False
    assert (await say(on_b, phrase("withdrawn on B, sent on B")))["recorded"] is False

    await consent(on_a, True)
    assert (await say(on_b, phrase("again on B")))["recorded"] is True
    assert len(await transcript(s0.base, admin, slug, want=3)) == 3
    await on_a.close()
    await on_b.close()


async def test_off_room_refuses_consent_and_stores_nothing(
    s0: Any, admin: Member, room: dict[str, Any]
) -> None:
    assert room["transcripts"] == "off"
    alice = await new_user(s0.base)
    a, _ = await WS.enter(s0.ws_base, room["slug"], alice)
    await a.send({"type": "consent", "recorded": True, "ref": "c"})
    error = await a.next("error", ref="c")
    assert error["code"] == "forbidden"
    assert (await say(a, phrase("in an off room")))["recorded"] is False
    await asyncio.sleep(0.2)
    assert await transcript(s0.base, admin, room["slug"]) == []
    await a.close()


async def test_switching_a_room_off_stops_recording_at_once_and_withdraws_consent(
    s0: Any, s1: Any, admin: Member
) -> None:
    room = await opt_in_room(s0.base, admin)
    slug = room["slug"]
    alice = await new_user(s0.base)
    a, _ = await WS.enter(s1.ws_base, slug, alice)
    await consent(a, True)
    first = await say(a, phrase("recorded before off"))
    assert first["recorded"] is True

    await patch_room(s0.base, admin, slug, transcripts="off")
    # Sent at once, perhaps before process B has applied the change: still not recorded.
    assert (await say(a, phrase("right after off")))["recorded"] is False
    await room_frame(a, "off")
    assert (await say(a, phrase("after off")))["recorded"] is False
    # What was recorded earlier stays readable in an `off` room.
    assert [m["id"] for m in await transcript(s0.base, admin, slug, want=1)] == [first["id"]]

    await patch_room(s0.base, admin, slug, transcripts="opt_in")
    await room_frame(a, "opt_in")
    assert (await say(a, phrase("opt_in again, consent gone")))["recorded"] is False
    await a.close()
    again, welcome = await WS.enter(s0.ws_base, slug, alice)
    assert welcome["you"]["consent"] is False
    await again.close()

    async with httpx.AsyncClient(base_url=s0.base, headers=admin.headers) as http:
        entries = (await http.get("/api/admin/audit", params={"room": slug})).json()["entries"]
    changes = [e["details"]["changes"] for e in entries if e["action"] == "room.update"]
    assert {"transcripts": ["opt_in", "off"]} in changes
    assert {"transcripts": ["off", "opt_in"]} in changes
    assert [m["id"] for m in await transcript(s0.base, admin, slug)] == [first["id"]]


# -- reading ----------------------------------------------------------------------------------


async def test_who_may_read_the_transcript(s0: Any, admin: Member) -> None:
    room = await opt_in_room(s0.base, admin, access="members")
    slug = room["slug"]
    facilitator, member, outsider = [await new_user(s0.base) for _ in range(3)]
    await set_role(s0.base, admin, slug, facilitator, "facilitator")
    await set_role(s0.base, admin, slug, member, "member")
    other = await opt_in_room(s0.base, admin)  # an open room
    other_facilitator = await new_user(s0.base)
    await set_role(s0.base, admin, other["slug"], other_facilitator, "facilitator")

    ws, _ = await WS.enter(s0.ws_base, slug, member)
    await consent(ws, True)
    said = await say(ws, phrase("member speaks"))
    await ws.close()
    kept = await transcript(s0.base, admin, slug, want=1)
    assert [m["id"] for m in kept] == [said["id"]]

    assert (await get_transcript(s0.base, facilitator, slug)).json()["messages"] == kept
    assert (await get_transcript(s0.base, member, slug)).status_code == 403
    assert (await get_transcript(s0.base, outsider, slug)).status_code == 404
    assert (await get_transcript(s0.base, other_facilitator, slug)).status_code == 404
    assert (await get_transcript(s0.base, None, slug)).status_code == 401
    assert (await get_transcript(s0.base, admin, "no-such-room")).status_code == 404
    # In an open room everyone may enter, so a stranger is refused with 403.
    assert (await get_transcript(s0.base, facilitator, other["slug"])).status_code == 403
    assert (await get_transcript(s0.base, other_facilitator, other["slug"])).status_code == 200

    await patch_room(s0.base, admin, slug, transcript_readers="members")
    assert (await get_transcript(s0.base, member, slug)).json()["messages"] == kept
    assert (await get_transcript(s0.base, outsider, slug)).status_code == 404
    await set_role(s0.base, admin, slug, member, None)
    assert (await get_transcript(s0.base, member, slug)).status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "501"},
        {"limit": "ten"},
        {"limit": "1.5"},
        {"after_seq": "-1"},
        {"after_seq": "x"},
        {"after_seq": "²"},
    ],
)
async def test_bad_transcript_parameters_are_invalid(
    s0: Any, admin: Member, params: dict[str, str]
) -> None:
    room = await opt_in_room(s0.base, admin)
    r = await get_transcript(s0.base, admin, room["slug"], **params)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid"


async def test_transcript_pages_oldest_first(s0: Any, s1: Any, admin: Member) -> None:
    room = await opt_in_room(s0.base, admin)
    slug = room["slug"]
    alice = await new_user(s0.base)
    a, _ = await WS.enter(s1.ws_base, slug, alice)
    await consent(a, True)
    sent = [await say(a, f"line {i}") for i in range(5)]
    everything = await transcript(s0.base, admin, slug, want=5)
    assert [m["id"] for m in everything] == [m["id"] for m in sent]
    assert everything == [without_ref(m) for m in sent]
    page = (await get_transcript(s0.base, admin, slug, after_seq=sent[1]["seq"], limit=2)).json()
    assert [m["id"] for m in page["messages"]] == [sent[2]["id"], sent[3]["id"]]
    default = (await get_transcript(s0.base, admin, slug)).json()["messages"]
    assert len(default) == 5
    past = await get_transcript(s0.base, admin, slug, after_seq=sent[-1]["seq"])
    assert past.json() == {"messages": []}
    await a.close()


# -- erasing ----------------------------------------------------------------------------------


async def test_message_deleted_by_a_facilitator_leaves_the_transcript(
    s0: Any, s1: Any, admin: Member
) -> None:
    room = await opt_in_room(s0.base, admin)
    slug = room["slug"]
    alice, facilitator = await new_user(s0.base), await new_user(s0.base)
    await set_role(s0.base, admin, slug, facilitator, "facilitator")
    a, _ = await WS.enter(s0.ws_base, slug, alice)
    f, _ = await WS.enter(s1.ws_base, slug, facilitator)
    await consent(a, True)
    gone = await say(a, phrase("to be deleted"))
    stays = await say(a, phrase("to stay"))
    assert len(await transcript(s0.base, admin, slug, want=2)) == 2
    await f.send({"type": "mod", "action": "delete", "message_id": gone["id"]})
    await a.next("deleted", message_id=gone["id"])
    assert [m["id"] for m in await transcript(s0.base, admin, slug)] == [stays["id"]]
    await a.close()
    await f.close()


async def test_erase_mine_even_after_losing_access(s0: Any, s1: Any, admin: Member) -> None:
    room = await opt_in_room(s0.base, admin, access="members")
    slug = room["slug"]
    alice, bob = await new_user(s0.base), await new_user(s0.base)
    for member in (alice, bob):
        await set_role(s0.base, admin, slug, member, "member")
    a, _ = await WS.enter(s0.ws_base, slug, alice)
    b, _ = await WS.enter(s1.ws_base, slug, bob)
    await consent(a, True)
    await consent(b, True)
    await say(a, phrase("alice one"))
    await say(a, phrase("alice two"))
    kept_bob = await say(b, phrase("bob one"))
    assert len(await transcript(s0.base, admin, slug, want=3)) == 3
    await a.close()
    await b.close()
    await set_role(s0.base, admin, slug, alice, None)

    async with httpx.AsyncClient(base_url=s1.base, headers=alice.headers) as http:
        r = await http.delete(f"/api/rooms/{slug}/transcript/mine")
        assert r.status_code == 200 and r.json() == {"deleted": 2}
        r = await http.delete(f"/api/rooms/{slug}/transcript/mine")
        assert r.status_code == 200 and r.json() == {"deleted": 0}
        # A missing room answers as an empty one: the endpoint reveals no slugs.
        r = await http.delete("/api/rooms/no-such-room/transcript/mine")
        assert r.status_code == 200 and r.json() == {"deleted": 0}
    assert [m["id"] for m in await transcript(s0.base, admin, slug)] == [kept_bob["id"]]
    async with httpx.AsyncClient(base_url=s0.base) as http:
        assert (await http.delete(f"/api/rooms/{slug}/transcript/mine")).status_code == 401


async def test_erase_mine_by_cookie_needs_an_allowed_origin(s0: Any, admin: Member) -> None:
    room = await opt_in_room(s0.base, admin)
    alice = await new_user(s0.base)
    async with httpx.AsyncClient(base_url=s0.base) as http:
        r = await http.post(
            "/api/auth/login", json={"username": alice.username, "password": PASSWORD}
        )
        assert r.status_code == 200
        path = f"/api/rooms/{room['slug']}/transcript/mine"
        r = await http.delete(path, headers={"Origin": "https://evil.example"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        r = await http.delete(path, headers={"Origin": s0.base})
        assert r.status_code == 200 and r.json() == {"deleted": 0}


# -- retention --------------------------------------------------------------------------------


async def age_rows(database_url: str, slug: str, days: float) -> int:
    """Make a room's recorded messages `days` old, as if sent then; how many there are."""
    engine = make_engine(database_url)
    try:
        async with make_sessions(engine)() as db:
            room_id = (await db.execute(select(Room.id).where(Room.slug == slug))).scalar_one()
            old = int((time.time() - days * 86400) * 1000)
            result = await db.execute(
                update(RecordedMessage).where(RecordedMessage.room_id == room_id).values(ts=old)
            )
            await db.commit()
            return int(getattr(result, "rowcount", 0))
    finally:
        await engine.dispose()


async def test_retention_purges_by_cli_and_applies_to_what_is_stored(
    cluster: Cluster, s0: Any, admin: Member
) -> None:
    room = await opt_in_room(s0.base, admin, retention_days=None)
    slug = room["slug"]
    alice = await new_user(s0.base)
    a, _ = await WS.enter(s0.ws_base, slug, alice)
    await consent(a, True)
    await say(a, phrase("old words"))
    await say(a, phrase("old words too"))
    assert len(await transcript(s0.base, admin, slug, want=2)) == 2
    assert await age_rows(cluster.database_url, slug, days=3) == 2
    fresh = await say(a, phrase("fresh words"))
    assert len(await transcript(s0.base, admin, slug, want=3)) == 3

    # Kept forever: nothing of this room goes.
    hearth_cli(cluster.env, "purge")
    assert len(await transcript(s0.base, admin, slug)) == 3
    # A retention set now applies to what is already stored.
    await patch_room(s0.base, admin, slug, retention_days=2)
    result = hearth_cli(cluster.env, "purge")
    assert re.fullmatch(r"purged (\d+) recorded messages\n", result.stdout)
    assert int(result.stdout.split()[1]) >= 2
    assert [m["id"] for m in await transcript(s0.base, admin, slug)] == [fresh["id"]]
    await a.close()


# -- export -----------------------------------------------------------------------------------

HOSTILE = (
    "# Not a heading\n<script>alert(1)</script> **bold** _it_ `code` ~~gone~~\n"
    "[click](javascript:alert(1)) ![img](https://evil.example/x.png) https://evil.example\n"
    "    indented code\n1. a list\n- another\n> quoted\n| a | b |\n|---|---|\n---\n"
    "&amp; &#60;b&#62; $x^2$ \\*escaped\\* trailing backslash \\"
)


async def export(base: str, who: Member, slug: str, **params: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, headers=who.headers) as http:
        return await http.get(f"/api/rooms/{slug}/transcript/export", params=params)


async def test_export_as_markdown_and_json(s0: Any, s1: Any, admin: Member) -> None:
    room = await opt_in_room(s0.base, admin, title="Tuesday *evening* <group>")
    slug = room["slug"]
    alice = await new_user(s0.base, display_name="Al [ice](http://x)")
    bob, facilitator = await new_user(s0.base), await new_user(s0.base)
    await set_role(s0.base, admin, slug, facilitator, "facilitator")
    a, _ = await WS.enter(s0.ws_base, slug, alice)
    b, _ = await WS.enter(s1.ws_base, slug, bob)
    await consent(a, True)
    started = int(time.time() * 1000) - 1
    hostile = await say(a, HOSTILE)
    secret = phrase("bob never consented")
    await say(b, secret)
    plain = await say(a, "plain words, nothing more")
    await transcript(s0.base, admin, slug, want=2)

    r = await export(s1.base, facilitator, slug, format="md", since=started)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/markdown; charset=utf-8"
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;") and f"hearth-{slug}-{started}-" in disposition
    assert disposition.endswith('.md"')
    text = r.text
    assert secret not in text
    assert "Only the messages of members who consented to be recorded are included" in text
    assert f"(`{slug}`)" in text and "Tuesday \\*evening\\* \\<group\\>" in text
    assert "Period: " in text and " UTC to " in text
    assert "**Al \\[ice\\]\\(http\\://x\\)** (member)" in text
    assert "plain words, nothing more" in text
    # Nothing a member wrote can act as markup: every construct arrives escaped.
    quoted = [line for line in text.splitlines() if line.startswith(">")]
    assert "> \\# Not a heading\\" in quoted
    assert (
        "> \\<script\\>alert\\(1\\)\\</script\\> \\*\\*bold\\*\\* \\_it\\_ \\`code\\` "
        "\\~\\~gone\\~\\~\\" in quoted
    )
    assert (
        "> \\[click\\]\\(javascript\\:alert\\(1\\)\\) \\!\\[img\\]\\(https\\://evil\\.example"
        "/x\\.png\\) https\\://evil\\.example\\" in quoted
    )
    assert "> &#32;&#32;&#32;&#32;indented code\\" in quoted
    assert "> 1\\. a list\\" in quoted and "> \\- another\\" in quoted
    assert "> \\> quoted\\" in quoted and "> \\---\\" not in quoted
    assert "> \\-\\-\\-\\" in quoted
    assert (
        "> \\&amp; \\&\\#60;b\\&\\#62; \\$x\\^2\\$ \\\\\\*escaped\\\\\\* trailing "
        "backslash \\\\" in quoted
    )
    for raw in ("<script>", "**bold**", "](javascript", "<group>", "[ice](", "\n# Not"):
        assert raw not in text
    assert text.index("Not a heading") < text.index("plain words")

    r = await export(s0.base, facilitator, slug, format="json", since=started)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["content-disposition"].endswith('.json"')
    data = r.json()
    assert data["room"] == {"slug": slug, "title": "Tuesday *evening* <group>"}
    assert data["period"]["since"] == started and data["period"]["until"] >= plain["ts"]
    assert "consented" in data["notice"] and data["exported_by"] == facilitator.username
    assert data["messages"] == [without_ref(hostile), without_ref(plain)]

    r = await export(s0.base, admin, slug, format="json", since=started, until=hostile["ts"])
    assert [m["id"] for m in r.json()["messages"]] == [hostile["id"]]
    r = await export(s0.base, admin, slug, format="json", until=started)
    assert r.json()["messages"] == []
    r = await export(s0.base, admin, slug)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown")
    await a.close()
    await b.close()


async def test_export_permissions_and_parameters(s0: Any, admin: Member) -> None:
    room = await opt_in_room(s0.base, admin, access="members", transcript_readers="members")
    slug = room["slug"]
    member, outsider = await new_user(s0.base), await new_user(s0.base)
    await set_role(s0.base, admin, slug, member, "member")
    # Members who have entered may read here, but exporting a session is for facilitators.
    assert (await get_transcript(s0.base, member, slug)).status_code == 403  # never entered
    ws, _ = await WS.enter(s0.ws_base, slug, member)
    await ws.close()
    assert (await get_transcript(s0.base, member, slug)).status_code == 200
    assert (await export(s0.base, member, slug)).status_code == 403
    assert (await export(s0.base, outsider, slug)).status_code == 404
    for params in ({"format": "pdf"}, {"since": "x"}, {"since": "10", "until": "5"}):
        r = await export(s0.base, admin, slug, **params)
        assert r.status_code == 422, params


# -- group commit -----------------------------------------------------------------------------


async def test_concurrent_sends_are_all_recorded_with_their_seqs(
    s0: Any, s1: Any, admin: Member
) -> None:
    room = await opt_in_room(s0.base, admin)
    slug = room["slug"]
    users = [await new_user(s0.base) for _ in range(8)]
    sockets = [
        (await WS.enter((s0 if i % 2 else s1).ws_base, slug, u))[0] for i, u in enumerate(users)
    ]
    for ws in sockets:
        await consent(ws, True)
    per_socket = 5
    bodies = {f"{i}-{n} {uuid.uuid4().hex}" for i in range(len(sockets)) for n in range(per_socket)}
    ordered = sorted(bodies)

    async def burst(i: int, ws: WS) -> None:
        mine = [b for b in ordered if b.startswith(f"{i}-")]
        await asyncio.gather(*(ws.send({"type": "send", "body": b}) for b in mine))

    await asyncio.gather(*(burst(i, ws) for i, ws in enumerate(sockets)))
    total = len(bodies)
    delivered: dict[str, dict[str, Any]] = {}
    for ws in sockets:
        got: list[dict[str, Any]] = []
        while len(got) < total:
            got.append(await ws.next("message", timeout=15))
        assert [m["seq"] for m in got] == sorted(m["seq"] for m in got)
        assert all(m["recorded"] is True for m in got)
        delivered.update({m["id"]: without_ref(m) for m in got})
    assert {m["body"] for m in delivered.values()} == bodies
    kept = await transcript(s0.base, admin, slug, want=total)
    assert kept == sorted(delivered.values(), key=lambda m: m["seq"])
    for ws in sockets:
        await ws.close()


# -- words kept off disk ----------------------------------------------------------------------


async def test_unrecorded_words_never_reach_disk_and_recorded_ones_are_sealed(
    cluster: Cluster, s0: Any, s1: Any, admin: Member
) -> None:
    marker = phrase("room-title-canary")
    slug, _, _, a, b = await recorded_and_not(s0, s1, admin, title=marker[:60])
    recorded, unrecorded = phrase("alice consented"), phrase("bob did not consent")
    assert (await say(a, recorded))["recorded"] is True
    assert (await b.next("message", body=recorded))["recorded"] is True
    assert (await say(b, unrecorded))["recorded"] is False
    await a.next("message", body=unrecorded)
    kept = await transcript(s0.base, admin, slug, want=1)
    assert [m["body"] for m in kept] == [recorded]
    await a.close()
    await b.close()
    await asyncio.sleep(0.3)

    on_disk = file_bytes(*sqlite_files(cluster.database_url))
    assert marker[:60].encode() in on_disk  # the check can see what is stored in the clear
    assert unrecorded.encode() not in on_disk
    assert recorded.encode() not in on_disk
    logs = cluster.logs()
    assert unrecorded not in logs and recorded not in logs
