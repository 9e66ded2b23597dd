"""Room endpoints for members: list, show (PROTOCOL §2). Transcript endpoints live with
the transcript part."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..rooms.access import may_enter
from ..rooms.settings import RoomView
from ..store import rooms as room_store
from .auth import Caller, require_caller
from .errors import ApiError, json_response
from .state import Hearth

__all__ = ["enterable_room", "routes"]


async def enterable_room(hearth: Hearth, caller: Caller, slug: str) -> RoomView:
    """The room if the caller may enter it; 404 otherwise (no hint that it exists)."""
    async with hearth.db() as db:
        view = await room_store.room_by_slug(db, slug)
        if view is None:
            raise ApiError("not_found", "no such room")
        role = await room_store.role_of(db, view.id, caller.user.id)
        banned = await room_store.is_banned(db, view.id, caller.user.id)
    if not may_enter(view, caller.user.is_admin, role, banned):
        raise ApiError("not_found", "no such room")
    return view


async def list_rooms(request: Request) -> Response:
    hearth: Hearth = request.app.state.hearth
    caller = await require_caller(hearth, request)
    await hearth.rooms.refresh_room_state()
    async with hearth.db() as db:
        views = await room_store.list_rooms(db)
        roles = await room_store.roles_of_user(db, caller.user.id)
        banned = {v.id for v in views if await room_store.is_banned(db, v.id, caller.user.id)}
    listed = hearth.rooms.hooks.listing_filters
    rooms = [
        v.public()
        for v in views
        if may_enter(v, caller.user.is_admin, roles.get(v.id), v.id in banned)
        and all(keep(v, roles.get(v.id)) for keep in listed)
    ]
    return json_response({"rooms": rooms})


async def show_room(request: Request) -> Response:
    hearth: Hearth = request.app.state.hearth
    caller = await require_caller(hearth, request)
    view = await enterable_room(hearth, caller, request.path_params["slug"])
    await hearth.rooms.refresh_room_state()
    return json_response({"room": view.public()})


routes = [
    Route("/api/rooms", list_rooms, methods=["GET"]),
    Route("/api/rooms/{slug}", show_room, methods=["GET"]),
]
