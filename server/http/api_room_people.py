"""Who holds a role in a room, and who is banned from it (README, protocol additions).

Facilitators need the ban list to lift a ban (`mod` `unban` takes a `user_id`, and a banned
person is never present to be picked from the member list); admins need the role list to
manage roles.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..store import rooms as room_store
from ..store import users as user_store
from .api_accounts import user_view
from .api_rooms import enterable_room
from .auth import require_caller
from .errors import ApiError, json_response
from .state import Hearth

__all__ = ["routes"]


async def list_bans(request: Request) -> Response:
    """`GET /api/rooms/{slug}/bans`: the room's facilitators and admins only."""
    hearth: Hearth = request.app.state.hearth
    caller = await require_caller(hearth, request)
    view = await enterable_room(hearth, caller, request.path_params["slug"])
    async with hearth.db() as db:
        role = await room_store.role_of(db, view.id, caller.user.id)
        if role != "facilitator" and not caller.user.is_admin:
            raise ApiError("forbidden", "only this room's facilitators may see its bans")
        bans = await room_store.bans_of_room(db, view.id)
        users = await user_store.users_by_ids(db, [b.user_id for b in bans])
    # Reasons rest sealed (moderation/reasons.py).
    moderation = hearth.parts.moderation if hearth.parts is not None else None
    return json_response(
        {
            "bans": [
                {
                    "user": user_view(users[b.user_id]),
                    "reason": moderation.reasons.open(b.reason) if moderation else b.reason,
                    "ts": b.created_at,
                }
                for b in bans
                if b.user_id in users
            ]
        }
    )


async def list_roles(request: Request) -> Response:
    """`GET /api/admin/rooms/{slug}/roles`: admins only."""
    hearth: Hearth = request.app.state.hearth
    caller = await require_caller(hearth, request)
    if not caller.user.is_admin:
        raise ApiError("forbidden", "admins only")
    async with hearth.db() as db:
        view = await room_store.room_by_slug(db, request.path_params["slug"])
        if view is None:
            raise ApiError("not_found", "no such room")
        roles = await room_store.roles_of_room(db, view.id)
        users = await user_store.users_by_ids(db, list(roles))
    found = sorted(users.values(), key=lambda u: u.username)
    return json_response({"roles": [{"user": user_view(u), "role": roles[u.id]} for u in found]})


routes = [
    Route("/api/rooms/{slug}/bans", list_bans, methods=["GET"]),
    Route("/api/admin/rooms/{slug}/roles", list_roles, methods=["GET"]),
]
