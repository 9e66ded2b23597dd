"""The caller's own profile: `PATCH /api/me` {display_name?, language?} (PROTOCOL §7)."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..language import language_problem
from ..store import users as user_store
from ..wire.text import display_name_problem
from .api_accounts import user_view
from .auth import require_caller
from .bodies import read_struct
from .errors import ApiError, json_response
from .state import Hearth

__all__ = ["routes"]


class ProfileBody(msgspec.Struct, forbid_unknown_fields=True):
    display_name: str | None = None
    language: str | None = None


async def update_me(request: Request) -> Response:
    """Change the caller's display name and/or language; → 200 {user}. The language applies
    to every request and socket from now on (sockets already open keep theirs until they
    reconnect)."""
    hearth: Hearth = request.app.state.hearth
    caller = await require_caller(hearth, request, changes=True)
    body = await read_struct(request, hearth.settings.limits.max_request_bytes, ProfileBody)
    if body.language is not None:
        problem = language_problem(body.language)
        if problem:
            raise ApiError("invalid", problem)
        request.state.language = body.language
    if body.display_name is not None:
        problem = display_name_problem(body.display_name)
        if problem:
            raise ApiError("invalid", problem)
    async with hearth.db() as db:
        user = await user_store.set_profile(db, caller.user.id, body.display_name, body.language)
    if user is None:  # deleted since the credentials were checked
        raise ApiError("unauthorized", "sign in first")
    return json_response({"user": user_view(user)})


routes = [Route("/api/me", update_me, methods=["PATCH"])]
