"""Repository for users and their sessions."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from .engine import DbSession
from .ids import new_id, now_ms
from .models import Session, User

__all__ = [
    "create_session",
    "create_user",
    "delete_session",
    "session_user",
    "set_password",
    "set_profile",
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


async def create_session(db: DbSession, user_id: str, token_hash: str, days: int) -> Session:
    """A server-side session keyed by the token's hash."""
    now = now_ms()
    session = Session(
        id=new_id(),
        token_hash=token_hash,
        user_id=user_id,
        created_at=now,
        expires_at=now + days * 86_400_000,
    )
    db.add(session)
    await db.commit()
    return session


async def session_user(db: DbSession, token_hash: str) -> tuple[Session, User] | None:
    """The live session with this token hash and its user, or None."""
    row = (
        await db.execute(
            select(Session, User)
            .join(User, User.id == Session.user_id)
            .where(Session.token_hash == token_hash, Session.expires_at > now_ms())
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def delete_session(db: DbSession, session_id: str) -> None:
    """End a session: its token stops working."""
    await db.execute(delete(Session).where(Session.id == session_id))
    await db.commit()
