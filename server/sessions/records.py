"""Repository for sessions and attendance rows (PROTOCOL §5). Every write that several
processes may race on is one conditional statement, so exactly one of them takes effect."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import BigInteger, Table, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from ..store import upsert
from ..store.batched import Batched
from ..store.engine import DbSession
from ..store.models import Attendance, GroupSession, Room, User

__all__ = [
    "attendance_of",
    "attendance_view",
    "close_stay",
    "close_stays",
    "close_stay_in_room",
    "departure_row",
    "departures_in_batches",
    "end_session",
    "ensure_stay",
    "ensure_stays",
    "list_sessions",
    "open_session",
    "open_sessions",
    "running_stays",
    "session_by_id",
    "session_view",
    "set_empty_since",
    "stay_row",
    "stays_in_batches",
]


def session_view(row: GroupSession, slug: str) -> dict[str, Any]:
    """The contract's `session` object."""
    return {
        "id": str(row.id),
        "room": slug,
        "opened_at": row.opened_at,
        "ended_at": row.ended_at,
        "opened_by": row.opened_by,
        "ended_by": row.ended_by,
    }


def attendance_view(row: Attendance, user: User, now: int) -> dict[str, Any]:
    """The contract's `attendance` object; a stay still going counts up to `now`."""
    running = max(0, now - row.stay_started) if row.stay_started is not None else 0
    return {
        "user": {"id": user.id, "username": user.username, "display_name": user.display_name},
        "role": row.role,
        "first_joined": row.first_joined,
        "last_left": row.last_left if row.stay_started is None else None,
        "seconds_present": (row.present_ms + running) // 1000,
    }


async def open_session(
    db: DbSession, room_id: str, opened_by: str, now: int, slot_at: int | None = None
) -> GroupSession | None:
    """Open a session; None if one is open already (or this slot already opened one)."""
    row = GroupSession(room_id=room_id, opened_at=now, opened_by=opened_by, slot_at=slot_at)
    db.add(row)
    try:
        await db.commit()
    except IntegrityError:
        await db.rollback()
        return None
    return row


# Read as every socket enters a room: built once.
_CURRENT = select(GroupSession).where(
    GroupSession.room_id == bindparam("room_id"), GroupSession.ended_at.is_(None)
)


async def current(db: DbSession, room_id: str) -> GroupSession | None:
    """The room's open session."""
    return (await db.execute(_CURRENT, {"room_id": room_id})).scalar_one_or_none()


async def open_sessions(db: DbSession) -> list[tuple[GroupSession, str]]:
    """Every open session with its room's slug."""
    query = (
        select(GroupSession, Room.slug)
        .join(Room, Room.id == GroupSession.room_id)
        .where(GroupSession.ended_at.is_(None))
    )
    return [(row, str(slug)) for row, slug in await db.execute(query)]


async def end_session(db: DbSession, session_id: int, ended_by: str, now: int) -> bool:
    """End an open session and every stay in it; False if it had ended already."""
    ended = await db.execute(
        update(GroupSession)
        .where(GroupSession.id == session_id, GroupSession.ended_at.is_(None))
        .values(ended_at=now, ended_by=ended_by)
    )
    if ended.rowcount != 1:  # type: ignore[attr-defined]
        await db.rollback()
        return False
    await db.execute(
        update(Attendance)
        .where(Attendance.session_id == session_id, Attendance.stay_started.is_not(None))
        .values(
            present_ms=Attendance.present_ms + (now - Attendance.stay_started),
            last_left=now,
            stay_started=None,
        )
    )
    await db.commit()
    return True


def _stay_upsert(insert: Any) -> Any:
    table = Attendance.__table__
    now = bindparam("now", type_=BigInteger)
    statement = insert(table).values(
        session_id=bindparam("session_id"),
        user_id=bindparam("user_id"),
        role=bindparam("role"),
        first_joined=now,
        present_ms=0,
        stay_started=now,
    )
    return statement.on_conflict_do_update(
        index_elements=[table.c.session_id, table.c.user_id],
        set_={"stay_started": now},
        where=table.c.stay_started.is_(None),
    )


_ENSURE_STAY = upsert.Prepared(_stay_upsert)


def stay_row(session_id: int, user_id: str, role: str, now: int) -> dict[str, Any]:
    """The parameters of `ensure_stay`'s statement, for `stays_in_batches`."""
    return {"session_id": session_id, "user_id": user_id, "role": role, "now": now}


async def ensure_stay(db: DbSession, session_id: int, user_id: str, role: str, now: int) -> None:
    """The user is present in the session from `now`, unless a stay is already running: one
    statement, built once (if the session or the user is gone, nobody is counted)."""
    await upsert.write_unless_refused(db, _ENSURE_STAY, stay_row(session_id, user_id, role, now))


async def ensure_stays(db: DbSession, rows: list[dict[str, Any]]) -> None:
    """`ensure_stay` for many users at once (`stay_row`s): one statement and commit (a
    session opening with its members present); if the database refuses one (a user gone),
    each is written alone and only the refused ones are left out."""
    if not rows:
        return
    try:
        await db.execute(_ENSURE_STAY.on(db), rows)
        await db.commit()
    except IntegrityError:
        await db.rollback()
        for row in rows:
            await upsert.write_unless_refused(db, _ENSURE_STAY, row)


def stays_in_batches(sessions: async_sessionmaker[DbSession]) -> Batched:
    """`ensure_stay` for every arrival of a process at once: `write(stay_row(...))` returns
    once the stay is committed (False if the session or the user is gone). A storm of
    reconnects writes one transaction per batch, not one per member."""
    return Batched(sessions, _ENSURE_STAY.on, "stays")


async def close_stay(db: DbSession, session_id: int, user_id: str, now: int) -> bool:
    """End the user's running stay at `now`, adding it to their time; False if none ran."""
    return await close_stays(db, session_id, [user_id], now) == 1


STAYS_AT_ONCE = 500  # users named in one statement (bound parameters stay well under limits)


async def close_stays(db: DbSession, session_id: int, user_ids: Iterable[str], now: int) -> int:
    """End these users' running stays in the session at `now`: one statement per
    `STAYS_AT_ONCE` users (the upkeep ends every stay a dead process left, or a mass
    departure raced, at once); how many were running."""
    users = sorted(set(user_ids))
    closed = 0
    for start in range(0, len(users), STAYS_AT_ONCE):
        which = Attendance.user_id.in_(users[start : start + STAYS_AT_ONCE])
        closed += await _close_running(db, Attendance.session_id == session_id, which, now)
    return closed


def _departure_close() -> Any:
    """`close_stay_in_room` as one statement with bound parameters (`slug`, `user`, `now`;
    not a column's name), on the table itself: an executemany of it is a batch of updates."""
    table = cast(Table, Attendance.__table__)
    now = bindparam("now", type_=BigInteger)
    open_one = (
        select(GroupSession.id)
        .join(Room, Room.id == GroupSession.room_id)
        .where(Room.slug == bindparam("slug"), GroupSession.ended_at.is_(None))
    )
    return (
        update(table)
        .where(
            table.c.session_id.in_(open_one),
            table.c.user_id == bindparam("user"),
            table.c.stay_started.is_not(None),
        )
        .values(
            present_ms=table.c.present_ms + (now - table.c.stay_started),
            last_left=now,
            stay_started=None,
        )
    )


_DEPARTURE_CLOSE = _departure_close()


def departure_row(slug: str, user_id: str, now: int) -> dict[str, Any]:
    """The parameters of a departure's statement, for `departures_in_batches`."""
    return {"slug": slug, "user": user_id, "now": now}


async def close_stay_in_room(db: DbSession, slug: str, user_id: str, now: int) -> bool:
    """`close_stay` in the open session of the room with this slug, if one is open: one
    statement (the one departures share in batches, `departures_in_batches`)."""
    closed = await db.execute(_DEPARTURE_CLOSE, departure_row(slug, user_id, now))
    await db.commit()
    return bool(closed.rowcount == 1)  # type: ignore[attr-defined]


def departures_in_batches(sessions: async_sessionmaker[DbSession]) -> Batched:
    """`close_stay_in_room` for every departure of a process at once: `write(departure_row
    (...))` returns once the stay (if one ran) is ended. A drain, or a dropped network,
    ends a thousand stays in a few transactions, not one each."""
    return Batched(sessions, lambda _: _DEPARTURE_CLOSE, "departures")


async def _close_running(db: DbSession, session: Any, users: Any, now: int) -> int:
    """End the running stays of `users` in `session` (both SQL conditions) at `now`."""
    closed = await db.execute(
        update(Attendance)
        .where(session, users, Attendance.stay_started.is_not(None))
        .values(
            present_ms=Attendance.present_ms + (now - Attendance.stay_started),
            last_left=now,
            stay_started=None,
        )
    )
    await db.commit()
    return int(closed.rowcount or 0)  # type: ignore[attr-defined]


async def running_stays(db: DbSession) -> dict[int, set[str]]:
    """{open session id: users with a running stay}, for every open session at once."""
    query = (
        select(Attendance.session_id, Attendance.user_id)
        .join(GroupSession, GroupSession.id == Attendance.session_id)
        .where(GroupSession.ended_at.is_(None), Attendance.stay_started.is_not(None))
    )
    found: dict[int, set[str]] = {}
    for session_id, user_id in await db.execute(query):
        found.setdefault(int(session_id), set()).add(str(user_id))
    return found


async def set_empty_since(db: DbSession, session_id: int, since: int | None) -> None:
    """Remember since when nobody has been present (None: someone is)."""
    await db.execute(
        update(GroupSession)
        .where(GroupSession.id == session_id, GroupSession.ended_at.is_(None))
        .values(empty_since=since)
    )
    await db.commit()


async def list_sessions(
    db: DbSession, room_id: str, limit: int, before_id: int | None
) -> list[tuple[GroupSession, int]]:
    """A room's sessions newest first, each with the number of users who attended."""
    counted = (
        select(Attendance.session_id, func.count().label("n"))
        .group_by(Attendance.session_id)
        .subquery()
    )
    query = (
        select(GroupSession, func.coalesce(counted.c.n, 0))
        .outerjoin(counted, counted.c.session_id == GroupSession.id)
        .where(GroupSession.room_id == room_id)
        .order_by(GroupSession.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(GroupSession.id < before_id)
    return [(row, int(n)) for row, n in await db.execute(query)]


async def session_by_id(db: DbSession, room_id: str, session_id: int) -> GroupSession | None:
    """One session of the room."""
    row = await db.get(GroupSession, session_id)
    return row if row is not None and row.room_id == room_id else None


async def attendance_of(db: DbSession, session_id: int) -> list[tuple[Attendance, User]]:
    """A session's attendance with its users, oldest `first_joined` first."""
    query = (
        select(Attendance, User)
        .join(User, User.id == Attendance.user_id)
        .where(Attendance.session_id == session_id)
        .order_by(Attendance.first_joined, Attendance.user_id)
    )
    return [(a, u) for a, u in await db.execute(query)]
