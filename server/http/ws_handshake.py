"""The handshake of `/ws/rooms/{slug}` (PROTOCOL §3): who is calling, from where, and
whether they may enter the room; the socket's own state if so."""

from __future__ import annotations

import secrets

from starlette.websockets import WebSocket

from ..language import localizer
from ..rooms.access import effective_role, may_enter
from ..rooms.hub import Conn
from ..rooms.settings import RoomView
from ..store import rooms as room_store
from ..store.callers import room_caller
from ..store.engine import without_transaction
from ..store.models import User
from ..wire.errors import Close
from .auth import Caller, admit, staff_must_enrol, token_of
from .security import origin_allowed
from .state import Hearth

__all__ = ["check_entry", "handshake"]


async def _entry_check(
    hearth: Hearth, view: RoomView, user: User, facts: room_store.EntryFacts
) -> Close | None:
    """Whether the user may enter now: None, or why not."""
    if not may_enter(view, user.is_admin, facts.role, facts.banned):
        return Close(4403, "not allowed in this room")
    for check in hearth.rooms.hooks.door_checks:  # e.g. a removed member's cooling-off time
        closed = await check(view, user.id, user.is_admin)
        if closed is not None:
            return closed
    return None


async def check_entry(
    hearth: Hearth, websocket: WebSocket
) -> tuple[Caller, RoomView, room_store.EntryFacts] | Close:
    """Authenticate (and check the Origin of a cookie) and check entry to the room: the
    caller, the room and their facts there, or the close that refuses them."""
    # The room's settings first (cached while this process has sockets there; otherwise a
    # checkout of its own, never nested in the one below, which could exhaust the pool).
    view = await hearth.rooms.view(websocket.path_params["slug"])
    # Then one statement for the session, its user and their facts in the room: a storm of
    # reconnects pays each round trip a thousand times over.
    found, read = token_of(websocket), None
    if found is not None:
        async with hearth.db() as db:
            await without_transaction(db)  # reads only: no BEGIN and ROLLBACK
            read = await room_caller(db, found[0], "" if view is None else view.id)
    caller = None
    if found is not None and read is not None:
        caller = admit(hearth, websocket, (read.session, read.user), found[1], touch=True)
    if (
        caller is not None
        and caller.by_cookie
        and not origin_allowed(websocket.scope, hearth.settings.allowed_origins)
    ):
        return Close(4403, "origin refused")
    if caller is None or read is None:
        return Close(4401, "sign in first")
    if staff_must_enrol(hearth, caller.user, read.facilitates):
        return Close(4403, "set up two-step sign-in first")
    if view is None:
        return Close(4404, "no such room")
    if read.entered:
        hearth.rooms.entered_before(view.id, caller.user.id)
    refused = await _entry_check(hearth, view, caller.user, read.facts)
    return refused if refused is not None else (caller, view, read.facts)


async def handshake(
    hearth: Hearth, websocket: WebSocket
) -> tuple[Conn, RoomView, int | None] | Close:
    """Who is calling and whether they may enter: their socket's state, the room and the
    agreement version they accepted, or the close that refuses them."""
    checked = await check_entry(hearth, websocket)
    if isinstance(checked, Close):
        return checked
    caller, view, facts = checked
    user = caller.user
    conn = Conn(
        id=secrets.token_hex(8),
        room=view.slug,
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        is_admin=user.is_admin,
        role=effective_role(user.is_admin, facts.role),
        session_id=caller.session.id,
        queue_size=hearth.settings.limits.send_queue_frames,
        language=user.language,
        localizer=localizer(user.language),
    )
    return conn, view, facts.accepted
