"""Admin endpoints: rooms, per-room roles, the audit log (PROTOCOL §2)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..rooms.settings import RoomView, SettingsError, apply_settings, slug_problem
from ..store import audit as audit_store
from ..store import rooms as room_store
from ..store import users as user_store
from .api_accounts import user_view
from .auth import Caller, require_caller
from .bodies import read_json
from .errors import ApiError, json_response
from .params import MAX_ID, int_param
from .state import Hearth

__all__ = ["routes"]


async def _admin(request: Request, changes: bool) -> tuple[Hearth, Caller]:
    hearth: Hearth = request.app.state.hearth
    caller = await require_caller(hearth, request, changes=changes)
    if not caller.user.is_admin:
        raise ApiError("forbidden", "admins only")
    return hearth, caller


def _actor(caller: Caller) -> tuple[str, str]:
    return caller.user.id, caller.user.username


async def create_room(request: Request) -> Response:
    hearth, caller = await _admin(request, changes=True)
    data = await read_json(request, hearth.settings.limits.max_request_bytes)
    slug = data.pop("slug", None)
    problem = slug_problem(slug)
    if problem:
        raise ApiError("invalid", problem)
    if "title" not in data:
        raise ApiError("invalid", "title is required")
    try:
        view, _ = apply_settings(RoomView(id="", slug=str(slug), title=""), data)
    except SettingsError as exc:
        raise ApiError("invalid", str(exc)) from None
    async with hearth.db() as db:
        created = await room_store.create_room(db, view)
        if created is None:
            raise ApiError("conflict", "that slug is taken")
        await audit_store.write_entry(
            db, _actor(caller), "room.create", created.slug, details={"settings": created.public()}
        )
    return json_response({"room": created.public()}, 201)


async def update_room(request: Request) -> Response:
    hearth, caller = await _admin(request, changes=True)
    data = await read_json(request, hearth.settings.limits.max_request_bytes)
    if "slug" in data:
        raise ApiError("invalid", "slug cannot be changed")
    async with hearth.db() as db:
        view = await room_store.room_by_slug(db, request.path_params["slug"])
        if view is None:
            raise ApiError("not_found", "no such room")
        try:
            updated, diff = apply_settings(view, data)
        except SettingsError as exc:
            raise ApiError("invalid", str(exc)) from None
        if diff:
            await room_store.save_room(db, updated)
            if diff.get("transcripts", [None, None])[1] == "off":
                await room_store.withdraw_all_consents(db, view.id)
            await audit_store.write_entry(
                db, _actor(caller), "room.update", view.slug, details={"changes": diff}
            )
    if diff:
        await hearth.rooms.settings_changed(updated)
    return json_response({"room": updated.public()})


async def _room_and_user(hearth: Hearth, request: Request) -> tuple[RoomView, Any]:
    async with hearth.db() as db:
        view = await room_store.room_by_slug(db, request.path_params["slug"])
        user = await user_store.user_by_username(db, request.path_params["username"].lower())
    if view is None:
        raise ApiError("not_found", "no such room")
    if user is None:
        raise ApiError("not_found", "no such user")
    return view, user


async def set_role(request: Request) -> Response:
    hearth, caller = await _admin(request, changes=True)
    view, user = await _room_and_user(hearth, request)
    data = await read_json(request, hearth.settings.limits.max_request_bytes)
    role = data.get("role")
    if set(data) != {"role"} or role not in ("member", "facilitator"):
        raise ApiError("invalid", "body must be {role: member or facilitator}")
    async with hearth.db() as db:
        await room_store.set_role(db, view.id, user.id, role)
        await audit_store.write_entry(
            db, _actor(caller), "role.set", view.slug, (user.id, user.username), {"role": role}
        )
    await hearth.rooms.access_changed(view.slug, user.id)
    return json_response({"user": user_view(user, for_admin=True), "role": role})


async def remove_role(request: Request) -> Response:
    hearth, caller = await _admin(request, changes=True)
    view, user = await _room_and_user(hearth, request)
    async with hearth.db() as db:
        previous = await room_store.set_role(db, view.id, user.id, None)
        await audit_store.write_entry(
            db,
            _actor(caller),
            "role.remove",
            view.slug,
            (user.id, user.username),
            {"role": previous},
        )
    await hearth.rooms.access_changed(view.slug, user.id)
    return Response(status_code=204)


async def audit(request: Request) -> Response:
    hearth, _ = await _admin(request, changes=False)
    limit = int_param(request, "limit", 1, 500, 100) or 100
    before = int_param(request, "before_id", 1, MAX_ID, None)
    room = request.query_params.get("room") or None
    async with hearth.db() as db:
        entries = await audit_store.list_entries(db, room, limit, before)
    views = [audit_store.entry_view(e) for e in entries]
    moderation = hearth.parts.moderation if hearth.parts is not None else None
    if moderation is not None:  # reasons rest sealed (moderation/reasons.py)
        for view in views:
            view["details"] = moderation.reasons.open_details(view["details"])
    return json_response({"entries": views})


routes = [
    Route("/api/admin/rooms", create_room, methods=["POST"]),
    Route("/api/admin/rooms/{slug}", update_room, methods=["PATCH"]),
    Route("/api/admin/rooms/{slug}/roles/{username}", set_role, methods=["PUT"]),
    Route("/api/admin/rooms/{slug}/roles/{username}", remove_role, methods=["DELETE"]),
    Route("/api/admin/audit", audit, methods=["GET"]),
]
