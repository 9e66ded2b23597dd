"""Admin endpoints for accounts: the list of users and disabling one (PROTOCOL §8; the
list is a Hearth addition, see the README)."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..store import audit as audit_store
from ..store import user_list
from ..store import users as user_store
from ..store.models import User
from .api_accounts import user_view
from .auth import Caller, require_caller
from .bodies import read_struct
from .errors import ApiError, json_response
from .state import Hearth

__all__ = ["routes"]

_QUERY = re.compile(r"^[a-z0-9_.-]{0,32}$")
_LIMIT = re.compile(r"^[0-9]{1,3}$")
_ID = re.compile(r"^[0-9a-f]{1,32}$")


class UserChange(msgspec.Struct, forbid_unknown_fields=True):
    disabled: bool


def admin_user_view(user: User, roles: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """A `user` as admins see it: with `disabled` (and, in the list, more)."""
    view = user_view(user, for_admin=True)
    if roles is not None:
        view.update(created_at=user.created_at, totp_enabled=user.totp_enabled, roles=roles)
    return view


async def _admin(request: Request, changes: bool) -> tuple[Hearth, Caller]:
    hearth: Hearth = request.app.state.hearth
    caller = await require_caller(hearth, request, changes=changes)
    if not caller.user.is_admin:
        raise ApiError("forbidden", "admins only")
    return hearth, caller


def _filters(request: Request) -> tuple[str | None, str | None, bool | None, int, str | None]:
    params = request.query_params
    q = params.get("q", "").lower()
    if not _QUERY.match(q):
        raise ApiError("invalid", "q is up to 32 of a-z 0-9 _ . -")
    role = params.get("role") or None
    if role is not None and role not in user_list.ROLE_FILTERS:
        raise ApiError("invalid", f"role must be one of {', '.join(user_list.ROLE_FILTERS)}")
    disabled_text = params.get("disabled") or None
    if disabled_text not in (None, "true", "false"):
        raise ApiError("invalid", "disabled must be true or false")
    disabled = None if disabled_text is None else disabled_text == "true"
    limit_text = params.get("limit") or "100"
    if not _LIMIT.match(limit_text) or not 1 <= int(limit_text) <= 500:
        raise ApiError("invalid", "limit must be a whole number from 1 to 500")
    before = params.get("before") or None
    if before is not None and not _ID.match(before):
        raise ApiError("invalid", "before must be a user id")
    return q or None, role, disabled, int(limit_text), before


async def list_users(request: Request) -> Response:
    hearth, _ = await _admin(request, changes=False)
    q, role, disabled, limit, before_id = _filters(request)
    async with hearth.db() as db:
        before = None
        if before_id is not None:
            before = await user_store.user_by_id(db, before_id)
            if before is None:
                raise ApiError("invalid", "before names no user")
        users = await user_list.list_users(db, q, role, disabled, limit, before)
        roles = await user_list.roles_of(db, [u.id for u in users])
    return json_response({"users": [admin_user_view(u, roles[u.id]) for u in users]})


async def change_user(request: Request) -> Response:
    hearth, caller = await _admin(request, changes=True)
    body = await read_struct(request, hearth.settings.limits.max_request_bytes, UserChange)
    async with hearth.db() as db:
        user = await user_store.user_by_username(db, request.path_params["username"].lower())
        if user is None:
            raise ApiError("not_found", "no such user")
        if user.id == caller.user.id and body.disabled:
            raise ApiError("forbidden", "you cannot disable your own account")
        if user.disabled != body.disabled:
            await user_store.set_disabled(db, user, body.disabled)
            action = "user.disable" if body.disabled else "user.enable"
            await audit_store.write_entry(
                db, (caller.user.id, caller.user.username), action, None, (user.id, user.username)
            )
    if body.disabled:
        await hearth.sessions.end_all_of(user.id)
    return json_response({"user": admin_user_view(user)})


routes = [
    Route("/api/admin/users", list_users, methods=["GET"]),
    Route("/api/admin/users/{username}", change_user, methods=["PATCH"]),
]
