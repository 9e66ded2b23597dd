"""Repository for users and their sessions."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Table, bindparam, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from .engine import DbSession
from .ids import new_id, now_ms
from .models import RoomRole, Session, User

__all__ = [
    "create_session",
    "create_user",
    "delete_session",
    "delete_ended_sessions",
    "delete_sessions",
    "facilitates_any",
    "session_times",
    "session_user",
    "sessions_of",
    "set_disabled",
    "set_password",
    "set_profile",
    "touch_sessions",
    "user_by_id",
    "user_by_username",
    "users_by_ids",
]


async def create_user(
    db: DbSession,
    username: str,
    display_name: str,
    password_hash: str,
    is_admin: bool = False,
    language: str = "en",
) -> User | None:
    """A new user, or None if the username is taken."""
    user = User(
        id=new_id(),
        username=username,
        display_name=display_name,
        password_hash=password_hash,
        is_admin=is_admin,
        created_at=now_ms(),
        language=language,
    )
    db.add(user)
    try:
        await db.commit()
    except IntegrityError:
        await db.rollback()
        return None
    return user


async def user_by_username(db: DbSession, username: str) -> User | None:
    """The user with this (already lower-cased) username."""
    return (await db.execute(select(User).where(User.username == username))).scalar_one_or_none()


async def user_by_id(db: DbSession, user_id: str) -> User | None:
    """The user with this id."""
    return await db.get(User, user_id)


async def users_by_ids(db: DbSession, ids: list[str]) -> dict[str, User]:
    """Users by id, for those that exist."""
    if not ids:
        return {}
    rows = (await db.execute(select(User).where(User.id.in_(ids)))).scalars()
    return {u.id: u for u in rows}


async def set_password(
    db: DbSession, user: User, password_hash: str, is_admin: bool | None = None
) -> None:
    """Store a new hash (and optionally admin status) for `user`."""
    user.password_hash = password_hash
    if is_admin is not None:
        user.is_admin = is_admin
    db.add(user)
    await db.commit()


async def set_profile(
    db: DbSession, user_id: str, display_name: str | None, language: str | None
) -> User | None:
    """Change what a user says about themselves (the given fields only); the user, or None
    if there is no such user."""
    user = await db.get(User, user_id)
    if user is None:
        return None
    if display_name is not None:
        user.display_name = display_name
    if language is not None:
        user.language = language
    await db.commit()
    return user


async def set_disabled(db: DbSession, user: User, disabled: bool) -> None:
    """Disable or re-enable `user`."""
    user.disabled = disabled
    db.add(user)
    await db.commit()


async def create_session(db: DbSession, user_id: str, token_hash: str, max_ms: int) -> Session:
    """A server-side session keyed by the token's hash, ending `max_ms` from now at the
    latest."""
    now = now_ms()
    session = Session(
        id=new_id(),
        token_hash=token_hash,
        user_id=user_id,
        created_at=now,
        expires_at=now + max_ms,
        last_seen_at=now,
    )
    db.add(session)
    await db.commit()
    return session


async def session_user(db: DbSession, token_hash: str) -> tuple[Session, User] | None:
    """The session with this token hash, before its absolute end, and its user (if not
    disabled), or None. Idle time is the caller's to judge (it knows recent activity)."""
    row = (
        await db.execute(
            select(Session, User)
            .join(User, User.id == Session.user_id)
            .where(
                Session.token_hash == token_hash,
                Session.expires_at > now_ms(),
                User.disabled.is_(False),
            )
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def delete_session(db: DbSession, session_id: str) -> None:
    """End a session: its token stops working."""
    await db.execute(delete(Session).where(Session.id == session_id))
    await db.commit()


async def delete_sessions(db: DbSession, ids: Iterable[str]) -> None:
    """End these sessions."""
    ids = list(ids)
    if ids:
        await db.execute(delete(Session).where(Session.id.in_(ids)))
        await db.commit()


async def sessions_of(db: DbSession, user_id: str) -> list[str]:
    """The ids of a user's sessions, newest first."""
    rows = await db.execute(
        select(Session.id)
        .where(Session.user_id == user_id)
        .order_by(Session.created_at.desc(), Session.id.desc())
    )
    return list(rows.scalars())


async def touch_sessions(db: DbSession, seen: dict[str, int]) -> None:
    """Move sessions' `last_seen_at` forward to these times (never back)."""
    if not seen:
        return
    table = Session.__table__
    assert isinstance(table, Table)
    statement = (
        update(table)
        .where(table.c.id == bindparam("sid"), table.c.last_seen_at < bindparam("ts"))
        .values(last_seen_at=bindparam("ts"))
    )
    connection = await db.connection()
    await connection.execute(statement, [{"sid": k, "ts": v} for k, v in seen.items()])
    await db.commit()


async def session_times(db: DbSession, ids: list[str]) -> dict[str, tuple[int, int]]:
    """(absolute end, last seen) of those of these sessions that exist and whose user is
    not disabled."""
    if not ids:
        return {}
    rows = await db.execute(_SESSION_TIMES, {"ids": ids})
    return {row[0]: (row[1], row[2]) for row in rows}


# Built once, the ids bound at execution: an `in_` over values built per call leaves
# SQLAlchemy's cloned bind parameters in reference cycles (garbage for the cyclic collector
# at every check of the open sockets' sessions).
_SESSION_TIMES = (
    select(Session.id, Session.expires_at, Session.last_seen_at)
    .join(User, User.id == Session.user_id)
    .where(Session.id.in_(bindparam("ids", expanding=True)), User.disabled.is_(False))
)


async def facilitates_any(db: DbSession, user_id: str) -> bool:
    """Whether the user is a facilitator in some room."""
    row = await db.execute(
        select(RoomRole.room_id)
        .where(RoomRole.user_id == user_id, RoomRole.role == "facilitator")
        .limit(1)
    )
    return row.first() is not None


async def delete_ended_sessions(db: DbSession, now: int, idle_ms: int) -> int:
    """Delete sessions past their absolute end or idle since `now - idle_ms`; how many."""
    result = await db.execute(
        delete(Session).where(
            or_(Session.expires_at <= now, Session.last_seen_at <= now - idle_ms)
        )
    )
    await db.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
