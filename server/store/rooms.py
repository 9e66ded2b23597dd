"""Repository for rooms, per-room roles, bans and accepted agreements (and withdrawing a
room's consents when it stops recording; consents are kept by `transcripts/store.py`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import NamedTuple

from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import IntegrityError

from ..rooms.settings import RoomView
from .engine import DbSession
from .ids import new_id, now_ms
from .models import AgreementAcceptance, Ban, ConsentRecord, Room, RoomRole

__all__ = [
    "EntryFacts",
    "accept_agreement",
    "accepted_version",
    "ban",
    "banned_rooms",
    "create_room",
    "entry_facts",
    "is_banned",
    "list_rooms",
    "role_of",
    "roles_of_user",
    "room_by_slug",
    "save_room",
    "set_role",
    "unban",
    "view_of",
]


def view_of(room: Room) -> RoomView:
    """The in-memory view of a stored room."""
    return RoomView(
        id=room.id,
        slug=room.slug,
        title=room.title,
        description=room.description,
        agreement=room.agreement,
        agreement_version=room.agreement_version,
        access=room.access,
        transcripts=room.transcripts,
        transcript_readers=room.transcript_readers,
        retention_days=room.retention_days,
        slow_mode_seconds=room.slow_mode_seconds,
        max_message_chars=room.max_message_chars,
        resume_window_seconds=room.resume_window_seconds,
        locked=room.locked,
        crisis_resources=room.crisis_resources,
        crisis_resources_es=room.crisis_resources_es,
        extra=dict(room.extra or {}),
    )


async def create_room(db: DbSession, view: RoomView) -> RoomView | None:
    """Store a new room; None if the slug is taken."""
    data = asdict(view)
    data["id"] = new_id()
    db.add(Room(**data, created_at=now_ms()))
    try:
        await db.commit()
    except IntegrityError:
        await db.rollback()
        return None
    return RoomView(**data)


async def save_room(db: DbSession, view: RoomView) -> None:
    """Store a room's changed settings."""
    room = await db.get(Room, view.id)
    if room is None:
        return
    for key, value in asdict(view).items():
        if key != "id":
            setattr(room, key, value)
    await db.commit()


async def update_setting(db: DbSession, room_id: str, name: str, value: object) -> None:
    """Store one setting of a room, leaving the others as they are in the database."""
    await db.execute(update(Room).where(Room.id == room_id).values({name: value}))
    await db.commit()


async def room_by_slug(db: DbSession, slug: str) -> RoomView | None:
    """The room with this slug."""
    room = (await db.execute(select(Room).where(Room.slug == slug))).scalar_one_or_none()
    return None if room is None else view_of(room)


async def list_rooms(db: DbSession) -> list[RoomView]:
    """Every room, by slug."""
    return [view_of(r) for r in (await db.execute(select(Room).order_by(Room.slug))).scalars()]


async def role_of(db: DbSession, room_id: str, user_id: str) -> str | None:
    """The user's role in the room (`member`, `facilitator`) or None."""
    return (
        await db.execute(
            select(RoomRole.role).where(RoomRole.room_id == room_id, RoomRole.user_id == user_id)
        )
    ).scalar_one_or_none()


async def roles_of_user(db: DbSession, user_id: str) -> dict[str, str]:
    """{room id: role} for every room where the user has a role."""
    rows = await db.execute(
        select(RoomRole.room_id, RoomRole.role).where(RoomRole.user_id == user_id)
    )
    return {str(room_id): str(role) for room_id, role in rows}


async def set_role(db: DbSession, room_id: str, user_id: str, role: str | None) -> str | None:
    """Give, change or (None) take away a role; returns the previous one."""
    previous = await role_of(db, room_id, user_id)
    await db.execute(
        delete(RoomRole).where(RoomRole.room_id == room_id, RoomRole.user_id == user_id)
    )
    if role is not None:
        db.add(RoomRole(room_id=room_id, user_id=user_id, role=role))
    await db.commit()
    return previous


async def is_banned(db: DbSession, room_id: str, user_id: str) -> bool:
    """Whether the user is banned from the room."""
    return await db.get(Ban, (room_id, user_id)) is not None


async def ban(db: DbSession, room_id: str, user_id: str, by_id: str, reason: str | None) -> None:
    """Ban the user from the room (idempotent)."""
    await db.execute(delete(Ban).where(Ban.room_id == room_id, Ban.user_id == user_id))
    db.add(Ban(room_id=room_id, user_id=user_id, by_id=by_id, reason=reason, created_at=now_ms()))
    await db.commit()


async def unban(db: DbSession, room_id: str, user_id: str) -> None:
    """Lift a ban (idempotent)."""
    await db.execute(delete(Ban).where(Ban.room_id == room_id, Ban.user_id == user_id))
    await db.commit()


async def bans_of_room(db: DbSession, room_id: str) -> list[Ban]:
    """The room's bans, newest first."""
    rows = await db.execute(
        select(Ban).where(Ban.room_id == room_id).order_by(Ban.created_at.desc())
    )
    return list(rows.scalars())


async def roles_of_room(db: DbSession, room_id: str) -> dict[str, str]:
    """{user id: role} for everyone who holds a role in the room."""
    rows = await db.execute(
        select(RoomRole.user_id, RoomRole.role).where(RoomRole.room_id == room_id)
    )
    return {str(user_id): str(role) for user_id, role in rows}


async def accepted_version(db: DbSession, room_id: str, user_id: str) -> int | None:
    """The agreement version this user last accepted in the room."""
    row = await db.get(AgreementAcceptance, (room_id, user_id))
    return None if row is None else row.version


class EntryFacts(NamedTuple):
    """What the store knows of a user in a room that decides whether they may enter
    (`rooms.access.may_enter`) and whether the agreement is due."""

    role: str | None  # `member`, `facilitator` or None
    banned: bool
    accepted: int | None  # the agreement version last accepted


async def entry_facts(db: DbSession, room_id: str, user_id: str) -> EntryFacts:
    """The user's `EntryFacts` in the room in one round trip (as `role_of`, `is_banned`
    and `accepted_version` would one by one)."""
    mine = (RoomRole.room_id == room_id, RoomRole.user_id == user_id)
    row = (
        await db.execute(
            select(
                select(RoomRole.role).where(*mine).scalar_subquery(),
                exists().where(Ban.room_id == room_id, Ban.user_id == user_id),
                select(AgreementAcceptance.version)
                .where(
                    AgreementAcceptance.room_id == room_id,
                    AgreementAcceptance.user_id == user_id,
                )
                .scalar_subquery(),
            )
        )
    ).one()
    role, banned, version = row
    return EntryFacts(
        None if role is None else str(role), bool(banned), None if version is None else int(version)
    )


async def banned_rooms(db: DbSession, user_id: str) -> set[str]:
    """The ids of the rooms the user is banned from."""
    rows = await db.execute(select(Ban.room_id).where(Ban.user_id == user_id))
    return {str(room_id) for room_id in rows.scalars()}


async def accept_agreement(db: DbSession, room_id: str, user_id: str, version: int) -> None:
    """Record that the user accepted this version of the room's agreement."""
    row = await db.get(AgreementAcceptance, (room_id, user_id))
    if row is None:
        db.add(
            AgreementAcceptance(
                room_id=room_id, user_id=user_id, version=version, accepted_at=now_ms()
            )
        )
    else:
        row.version, row.accepted_at = version, now_ms()
    await db.commit()


async def withdraw_all_consents(db: DbSession, room_id: str) -> None:
    """Switching a room's transcripts off withdraws every consent in it."""
    await db.execute(delete(ConsentRecord).where(ConsentRecord.room_id == room_id))
    await db.commit()
