"""What the transcript tests share: opt-in rooms, consent, sending and reading back, the
people of a recorded conversation, and the files a database keeps words in."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import make_room

from .client import WS, Member, new_user
from .servers import SCALE, ServerProcess

__all__ = [
    "consent",
    "file_bytes",
    "get_transcript",
    "opt_in_room",
    "phrase",
    "recorded_and_not",
    "room_frame",
    "say",
    "set_role",
    "sqlite_files",
    "transcript",
    "without_ref",
]


def phrase(label: str) -> str:
    """Words no other test or process could produce."""
    return f"{label} {uuid.uuid4().hex} zephyr"


async def opt_in_room(base: str, admin: Member, **settings: Any) -> dict[str, Any]:
    """A room that records consenting members."""
    return await make_room(base, admin, transcripts="opt_in", **settings)


async def consent(ws: WS, recorded: bool) -> None:
    """Give or withdraw consent and wait for the answer."""
    ref = uuid.uuid4().hex[:8]
    await ws.send({"type": "consent", "recorded": recorded, "ref": ref})
    reply = await ws.next("consent", ref=ref)
    assert reply == {"type": "consent", "recorded": recorded, "ref": ref}


async def say(ws: WS, body: str) -> dict[str, Any]:
    """Send and return the sender's own copy."""
    ref = uuid.uuid4().hex[:8]
    await ws.send({"type": "send", "body": body, "ref": ref})
    mine = await ws.next("message", ref=ref)
    assert mine["body"] == body
    return mine


async def set_role(base: str, admin: Member, slug: str, user: Member, role: str | None) -> None:
    async with httpx.AsyncClient(base_url=base, headers=admin.headers) as http:
        path = f"/api/admin/rooms/{slug}/roles/{user.username}"
        if role is None:
            r = await http.delete(path)
            assert r.status_code == 204, r.text
        else:
            r = await http.put(path, json={"role": role})
            assert r.status_code == 200, r.text


async def get_transcript(base: str, who: Member | None, slug: str, **params: Any) -> httpx.Response:
    headers = who.headers if who is not None else {}
    async with httpx.AsyncClient(base_url=base, headers=headers) as http:
        return await http.get(f"/api/rooms/{slug}/transcript", params=params)


async def whole_transcript(base: str, who: Member, slug: str) -> list[Any]:
    """Every recorded message of the room, page after page of 500."""
    kept: list[Any] = []
    while True:
        after = kept[-1]["seq"] if kept else 0
        r = await get_transcript(base, who, slug, limit=500, after_seq=after)
        assert r.status_code == 200, r.text
        page: list[Any] = r.json()["messages"]
        kept += page
        if len(page) < 500:
            return kept


async def transcript(base: str, who: Member, slug: str, want: int | None = None) -> list[Any]:
    """The recorded messages; with `want`, waits until that many are numbered (a row gets
    its seq just after the message is published)."""
    deadline = time.monotonic() + 5 * SCALE
    while True:
        r = await get_transcript(base, who, slug, limit=500)
        assert r.status_code == 200, r.text
        messages: list[Any] = r.json()["messages"]
        if want is None or len(messages) >= want or time.monotonic() > deadline:
            return messages
        await asyncio.sleep(0.05)


async def room_frame(ws: WS, transcripts: str) -> dict[str, Any]:
    """The `room` frame announcing this transcripts setting (perhaps already skipped over)."""
    for frame in ws.seen:
        if frame.get("type") == "room" and frame["room"]["transcripts"] == transcripts:
            return frame
    while True:
        frame = await ws.next("room")
        if frame["room"]["transcripts"] == transcripts:
            return frame


def without_ref(frame: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in frame.items() if k != "ref"}


def file_bytes(*paths: Path) -> bytes:
    return b"".join(p.read_bytes() for p in paths if p.exists())


def sqlite_files(database_url: str) -> list[Path]:
    path = Path(database_url.split("///", 1)[1])
    return [path, Path(f"{path}-wal"), Path(f"{path}-shm")]


async def recorded_and_not(
    s0: ServerProcess, s1: ServerProcess, admin: Member, **settings: Any
) -> tuple[str, Member, Member, WS, WS]:
    """An opt-in room's slug (a room with `settings`), Alice and Bob, and their sockets:
    Alice entered on `s0` and consents, then Bob entered on `s1` and does not."""
    room = await opt_in_room(s0.base, admin, **settings)
    slug = room["slug"]
    alice, bob = await new_user(s0.base), await new_user(s0.base)
    a, _ = await WS.enter(s0.ws_base, slug, alice)
    b, _ = await WS.enter(s1.ws_base, slug, bob)
    await consent(a, True)
    return slug, alice, bob, a, b
