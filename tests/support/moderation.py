"""Set-up and frames the moderation tests share: facilitators, the people present in a
room across the processes of a cluster, `mod`/`send` frames and waiting for frames."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import httpx

from .client import WS, Member, new_user
from .servers import ServerProcess

__all__ = [
    "FacilitatorAndMember",
    "FacilitatorMemberBystander",
    "facilitator_and_member",
    "facilitator_member_bystander",
    "found",
    "mod",
    "new_facilitator",
    "none_of",
    "patch_room",
    "say",
    "set_role",
]


async def set_role(base: str, admin: Member, slug: str, username: str, role: str) -> None:
    async with httpx.AsyncClient(base_url=base, headers=admin.headers) as http:
        r = await http.put(f"/api/admin/rooms/{slug}/roles/{username}", json={"role": role})
        assert r.status_code == 200, r.text


async def new_facilitator(base: str, admin: Member, slug: str) -> Member:
    """A fresh user made a facilitator of the room."""
    user = await new_user(base, "fac")
    await set_role(base, admin, slug, user.username, "facilitator")
    return user


async def patch_room(base: str, admin: Member, slug: str, **settings: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, headers=admin.headers) as http:
        r = await http.patch(f"/api/admin/rooms/{slug}", json=settings)
        assert r.status_code == 200, r.text
        room: dict[str, Any] = r.json()["room"]
        return room


async def mod(ws: WS, action: str, ref: str | None = None, **fields: Any) -> None:
    frame: dict[str, Any] = {"type": "mod", "action": action, **fields}
    if ref is not None:
        frame["ref"] = ref
    await ws.send(frame)


async def say(ws: WS, body: str, ref: str | None = None) -> None:
    frame: dict[str, Any] = {"type": "send", "body": body}
    if ref is not None:
        frame["ref"] = ref
    await ws.send(frame)


async def none_of(ws: WS, type_: str, seconds: float = 0.5, since: int = 0) -> None:
    """Wait `seconds`, then check `ws` got no frame of `type_` since index `since` of seen."""
    await ws.quiet(seconds)
    got = [f for f in ws.seen[since:] if f.get("type") == type_]
    assert got == [], f"unexpected {type_}: {got}"


async def found(ws: WS, since: int, type_: str, **match: Any) -> dict[str, Any]:
    """A frame of `type_` received since index `since` of `ws.seen`, or the next one:
    for frames whose order against another is not fixed."""
    for frame in ws.seen[since:]:
        if frame.get("type") == type_ and all(frame.get(k) == v for k, v in match.items()):
            return frame
    return await ws.next(type_, **match)


# -- the people present ------------------------------------------------------------------


class FacilitatorAndMember(NamedTuple):
    fac: Member
    member: Member
    f: WS
    m: WS
    welcome: dict[str, Any]  # the member's


class FacilitatorMemberBystander(NamedTuple):
    fac: Member
    member: Member
    bystander: Member
    f: WS
    m: WS
    b: WS
    welcome: dict[str, Any]  # the member's


async def facilitator_and_member(
    servers: Sequence[ServerProcess], admin: Member, slug: str, on: tuple[int, int]
) -> FacilitatorAndMember:
    """A new facilitator of the room and a new member (users made on the first process),
    entered in that order, on the processes `on` names by index into `servers`."""
    s0 = servers[0]
    fac = await new_facilitator(s0.base, admin, slug)
    member = await new_user(s0.base)
    f, _ = await WS.enter(servers[on[0]].ws_base, slug, fac)
    m, welcome = await WS.enter(servers[on[1]].ws_base, slug, member)
    return FacilitatorAndMember(fac, member, f, m, welcome)


async def facilitator_member_bystander(
    servers: Sequence[ServerProcess], admin: Member, slug: str, on: tuple[int, int, int]
) -> FacilitatorMemberBystander:
    """A new facilitator of the room, a new member and a new bystander (users made on the
    first process), entered in that order, on the processes `on` names by index into
    `servers`."""
    s0 = servers[0]
    fac = await new_facilitator(s0.base, admin, slug)
    member, bystander = await new_user(s0.base), await new_user(s0.base)
    f, _ = await WS.enter(servers[on[0]].ws_base, slug, fac)
    m, welcome = await WS.enter(servers[on[1]].ws_base, slug, member)
    b, _ = await WS.enter(servers[on[2]].ws_base, slug, bystander)
    return FacilitatorMemberBystander(fac, member, bystander, f, m, b, welcome)
