"""Repository query behind the admin's list of users: search by username, role holdings
and disabled, newest first, in pages."""

from __future__ import annotations

from sqlalchemy import Select, and_, exists, or_, select

from .engine import DbSession
from .models import Room, RoomRole, User

__all__ = ["ROLE_FILTERS", "list_users", "roles_of"]

# `role`: admins; users who are facilitators / members somewhere; users with no role at all.
ROLE_FILTERS = ("admin", "facilitator", "member", "none")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _with_role(query: Select[User], role: str) -> Select[User]:
    if role == "admin":
        return query.where(User.is_admin.is_(True))
    holds = exists().where(RoomRole.user_id == User.id)
    if role == "none":
        return query.where(User.is_admin.is_(False), ~holds)
    return query.where(exists().where(RoomRole.user_id == User.id, RoomRole.role == role))


async def list_users(
    db: DbSession,
    q: str | None,
    role: str | None,
    disabled: bool | None,
    limit: int,
    before: User | None,
) -> list[User]:
    """Users whose username contains `q`, holding `role`, (not) disabled; newest first,
    older than `before`."""
    query = select(User).order_by(User.created_at.desc(), User.id.desc()).limit(limit)
    if q:
        query = query.where(User.username.like(f"%{_escape_like(q)}%", escape="\\"))
    if role is not None:
        query = _with_role(query, role)
    if disabled is not None:
        query = query.where(User.disabled.is_(disabled))
    if before is not None:
        query = query.where(
            or_(
                User.created_at < before.created_at,
                and_(User.created_at == before.created_at, User.id < before.id),
            )
        )
    return list((await db.execute(query)).scalars())


async def roles_of(db: DbSession, user_ids: list[str]) -> dict[str, list[dict[str, str]]]:
    """Each user's room roles, as `{room, role}` (room slugs; check-in rooms included)."""
    found: dict[str, list[dict[str, str]]] = {i: [] for i in user_ids}
    if not user_ids:
        return found
    rows = await db.execute(
        select(RoomRole.user_id, Room.slug, RoomRole.role)
        .join(Room, Room.id == RoomRole.room_id)
        .where(RoomRole.user_id.in_(user_ids))
        .order_by(Room.slug)
    )
    for user_id, slug, role in rows:
        found[user_id].append({"room": slug, "role": role})
    return found
