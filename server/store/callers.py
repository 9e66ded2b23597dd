"""Repository read of a room socket's handshake (PROTOCOL §3): the session a token opens,
its user and what the store knows of them in the room, in one statement.

A storm of reconnects pays every round trip and every statement built a thousand times
over; this read is built once, with bound parameters, and answers in one round trip what
`users.session_user`, `users.facilitates_any` and `rooms.entry_facts` answer one by one."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import ColumnElement, and_, bindparam, case, exists, false, select

from .engine import DbSession
from .ids import now_ms
from .models import AgreementAcceptance, Ban, RoomEntry, RoomRole, Session, User
from .rooms import EntryFacts

__all__ = ["RoomCaller", "room_caller"]


class RoomCaller(NamedTuple):
    """A live session and its user, with their facts in one room."""

    session: Session
    user: User
    facilitates: bool  # a facilitator in some room (read only for staff without TOTP)
    facts: EntryFacts
    entered: bool  # a first entry to the room is kept (`entries.record_first_entry`)


def _mine(model: type[RoomRole | Ban | AgreementAcceptance | RoomEntry]) -> ColumnElement[bool]:
    return and_(model.room_id == bindparam("room_id"), model.user_id == User.id)


# Built once: each handshake only binds its values (SQLAlchemy caches the compiled form).
_FACILITATES = exists().where(RoomRole.user_id == User.id, RoomRole.role == "facilitator")
_READ = (
    select(
        Session,
        User,
        # Only where it decides something (`auth.must_enrol`): staff without TOTP; a
        # CASE does not evaluate the branch it does not take.
        case(
            (and_(User.totp_enabled.is_(false()), User.is_admin.is_(false())), _FACILITATES),
            else_=false(),
        ).label("facilitates"),
        select(RoomRole.role).where(_mine(RoomRole)).scalar_subquery().label("role"),
        exists().where(_mine(Ban)).label("banned"),
        select(AgreementAcceptance.version)
        .where(_mine(AgreementAcceptance))
        .scalar_subquery()
        .label("accepted"),
        exists().where(_mine(RoomEntry)).label("entered"),
    )
    .join(User, User.id == Session.user_id)
    .where(
        Session.token_hash == bindparam("token_hash"),
        Session.expires_at > bindparam("now"),
        User.disabled.is_(false()),
    )
)


async def room_caller(db: DbSession, token_hash: str, room_id: str) -> RoomCaller | None:
    """The session with this token hash, before its absolute end, and its user (if not
    disabled), with their facts in the room; None if there is no such session. Idle time is
    the caller's to judge, as for `users.session_user`."""
    params = {"token_hash": token_hash, "now": now_ms(), "room_id": room_id}
    row = (await db.execute(_READ, params)).first()
    if row is None:
        return None
    session, user, facilitates, role, banned, accepted, entered = row
    facts = EntryFacts(
        None if role is None else str(role),
        bool(banned),
        None if accepted is None else int(accepted),
    )
    return RoomCaller(session, user, bool(facilitates), facts, bool(entered))
