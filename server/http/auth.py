"""Who is calling: the Bearer token (wins) or the session cookie, checked against the store."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from ..accounts.tokens import token_hash
from ..ops.logs import log_context
from ..store import users as user_store
from ..store.models import Session, User
from .errors import ApiError
from .security import origin_allowed
from .state import Hearth

__all__ = [
    "COOKIE",
    "Caller",
    "admit",
    "authenticate",
    "must_enrol",
    "require_caller",
    "staff_must_enrol",
    "token_of",
]

COOKIE = "hearth_session"


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller and how they proved it."""

    session: Session
    user: User
    by_cookie: bool


def _credentials(conn: HTTPConnection) -> tuple[str, bool] | None:
    auth = conn.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip(), False
    cookie = conn.cookies.get(COOKIE)
    if cookie:
        return cookie, True
    return None


def token_of(conn: HTTPConnection) -> tuple[str, bool] | None:
    """The hash of the caller's token (Bearer wins over the cookie) and whether it came in
    the cookie; None when there is none, or it is too long to be one of ours."""
    found = _credentials(conn)
    if found is None or not found[0] or len(found[0]) > 256:
        return None
    return token_hash(found[0]), found[1]


def admit(
    hearth: Hearth, conn: HTTPConnection, row: tuple[Session, User], by_cookie: bool, touch: bool
) -> Caller | None:
    """The caller whose session and user the store found, or None when the session has been
    idle too long; `touch`: the call counts as activity (idle time starts again)."""
    session, user = row
    conn.state.language = user.language  # errors answer in the caller's language
    if not hearth.sessions.alive(session):  # idle too long: ended (the beat deletes it and
        return None  # closes its sockets)
    if touch:
        hearth.sessions.touch(session.id)
    return Caller(session, user, by_cookie)


async def authenticate(hearth: Hearth, conn: HTTPConnection, touch: bool = True) -> Caller | None:
    """The caller, or None when there are no valid credentials; `touch`: the call counts as
    activity (idle time starts again)."""
    found = token_of(conn)
    if found is None:
        return None
    async with hearth.db() as db:
        row = await user_store.session_user(db, found[0])
    return None if row is None else admit(hearth, conn, row, found[1], touch)


def staff_must_enrol(hearth: Hearth, user: User, facilitates: bool) -> bool:
    """`must_enrol` when whether the user facilitates some room is known already."""
    return (
        hearth.settings.totp_required_for_staff
        and not user.totp_enabled
        and (user.is_admin or facilitates)
    )


async def must_enrol(hearth: Hearth, user: User) -> bool:
    """Whether `user` must set up the second factor before doing anything else: it is
    required for staff (admins, facilitators) and they have not."""
    if not staff_must_enrol(hearth, user, True):
        return False
    if user.is_admin:
        return True
    async with hearth.db() as db:
        return await user_store.facilitates_any(db, user.id)


async def require_caller(
    hearth: Hearth,
    conn: HTTPConnection,
    changes: bool = False,
    setting_up: bool = False,
    touch: bool = True,
) -> Caller:
    """The caller or 401; a cookie-authenticated change also needs an allowed Origin (403).

    Staff who must set up the second factor get 403 `totp_setup_required`, except on the
    routes that set it up (`setting_up`)."""
    caller = await authenticate(hearth, conn, touch=touch)
    if caller is None:
        raise ApiError("unauthorized", "sign in first")
    log_context.set((None, caller.user.id))  # this request's task: on its log lines
    if (
        changes
        and caller.by_cookie
        and not origin_allowed(conn.scope, hearth.settings.allowed_origins)
    ):
        raise ApiError("forbidden", "this origin may not make changes")
    if not setting_up and await must_enrol(hearth, caller.user):
        raise ApiError("totp_setup_required", "set up two-step sign-in first")
    return caller
