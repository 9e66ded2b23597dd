"""Room endpoints for members: list, show (PROTOCOL §2). Transcript endpoints live with
the transcript part."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..rooms.access import may_enter
from ..rooms.settings import RoomView
from ..store import rooms as room_store
from ..store.engine import DbSession
from ..store.models import User
from .auth import require_caller
from .errors import ApiError, json_response
from .state import Hearth

__all__ = ["enterable_room", "routes"]


async def enterable_room(db: DbSession, user: User, slug: str) -> tuple[RoomView, str | None]:
    """The room and the user's role there if they may enter it; 404 otherwise (no hint
    that it exists). Every HTTP answer about one room asks this first."""
    view = await room_store.room_by_slug(db, slug)
    if view is None:
        raise ApiError("not_found", "no such room")
    facts = await room_store.entry_facts(db, view.id, user.id)
    if not may_enter(view, user.is_admin, facts.role, facts.banned):
        raise ApiError("not_found", "no such room")
    return view, facts.role


async def list_rooms(request: Request) -> Response:
    hearth: Hearth = request.app.state.hearth
    caller = await require_caller(hearth, request)
    await hearth.rooms.refresh_room_state()
    async with hearth.db() as db:
        views = await room_store.list_rooms(db)
        roles = await room_store.roles_of_user(db, caller.user.id)
        banned = await room_store.banned_rooms(db, caller.user.id)
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
    async with hearth.db() as db:
        view, _ = await enterable_room(db, caller.user, request.path_params["slug"])
    await hearth.rooms.refresh_room_state()
    return json_response({"room": view.public()})


routes = [
    Route("/api/rooms", list_rooms, methods=["GET"]),
    Route("/api/rooms/{slug}", show_room, methods=["GET"]),
]
