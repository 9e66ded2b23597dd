"""Check-in rooms: created linked to their group, for one member and the group's
facilitators; closed for good (deleted) when a facilitator ends one."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import delete, select

from ..rooms.settings import RoomView
from ..store import rooms as room_store
from ..store.engine import DbSession
from ..store.models import Room, RoomRole

__all__ = ["create_check_in", "delete_room", "is_check_in", "kind_fields"]


def is_check_in(view: RoomView) -> bool:
    """Whether the room is a private check-in."""
    return view.extra.get("kind") == "check_in"


def kind_fields(view: RoomView) -> dict[str, Any]:
    """`kind` and `parent` of a room object."""
    return {"kind": view.extra.get("kind", "group"), "parent": view.extra.get("parent")}


async def facilitators_of(db: DbSession, room_id: str) -> list[str]:
    """User ids holding the facilitator role in a room."""
    query = select(RoomRole.user_id).where(
        RoomRole.room_id == room_id, RoomRole.role == "facilitator"
    )
    return [str(u) for u in (await db.execute(query)).scalars()]


async def create_check_in(
    db: DbSession, parent: RoomView, member_id: str, extra_facilitator: str | None
) -> RoomView:
    """A new check-in room for `member_id` and the parent's facilitators (and the admin who
    opened it, if not one of them)."""
    while True:
        view = RoomView(
            id="",
            slug=f"check-in-{secrets.token_hex(6)}",
            title="Check-in",
            access="members",
            transcripts="off",
            crisis_resources=parent.crisis_resources,
            crisis_resources_es=parent.crisis_resources_es,
            extra={"kind": "check_in", "parent": parent.slug},
        )
        created = await room_store.create_room(db, view)
        if created is not None:
            break
    facilitators = await facilitators_of(db, parent.id)
    if extra_facilitator is not None and extra_facilitator not in facilitators:
        facilitators.append(extra_facilitator)
    for user_id in facilitators:
        db.add(RoomRole(room_id=created.id, user_id=user_id, role="facilitator"))
    db.add(RoomRole(room_id=created.id, user_id=member_id, role="member"))
    await db.commit()
    return created


async def delete_room(db: DbSession, room_id: str) -> None:
    """Close a check-in for good: the room and everything of it goes."""
    await db.execute(delete(Room).where(Room.id == room_id))
    await db.commit()
