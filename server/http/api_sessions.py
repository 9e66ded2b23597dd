"""Session and attendance endpoints (PROTOCOL §5), for the room's facilitators and admins.
Every read of attendance is audited (`attendance.read`)."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..rooms.access import effective_role, may_moderate
from ..rooms.settings import RoomView
from ..sessions import records
from ..sessions.clock import now_ms
from ..sessions.export import attendance_csv_text
from ..store import audit as audit_store
from .api_rooms import enterable_room
from .auth import Caller, require_caller
from .errors import ApiError, json_response
from .state import Hearth

__all__ = ["routes"]
_WHOLE = re.compile(r"^[0-9]{1,15}$")


async def _facilitated_room(hearth: Hearth, caller: Caller, slug: str) -> RoomView:
    """404 if the caller may not enter the room, 403 if they may but do not facilitate it."""
    async with hearth.db() as db:
        view, room_role = await enterable_room(db, caller.user, slug)
    if not may_moderate(effective_role(caller.user.is_admin, room_role)):
        raise ApiError("forbidden", "only this room's facilitators may see its attendance")
    return view


def _param(
    request: Request, name: str, low: int, high: int | None, default: int | None
) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not _WHOLE.match(raw) or int(raw) < low or (high is not None and int(raw) > high):
        span = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise ApiError("invalid", f"{name} must be a whole number {span}")
    return int(raw)


async def list_sessions(request: Request) -> Response:
    hearth: Hearth = request.app.state.hearth
    caller = await require_caller(hearth, request)
    view = await _facilitated_room(hearth, caller, request.path_params["slug"])
    limit = _param(request, "limit", 1, 500, 100) or 100
    before = _param(request, "before_id", 1, None, None)
    async with hearth.db() as db:
        found = await records.list_sessions(db, view.id, limit, before)
    sessions = [records.session_view(row, view.slug) | {"participants": n} for row, n in found]
    return json_response({"sessions": sessions})


async def _attendance(request: Request) -> tuple[RoomView, dict[str, Any], list[dict[str, Any]]]:
    hearth: Hearth = request.app.state.hearth
    caller = await require_caller(hearth, request)
    view = await _facilitated_room(hearth, caller, request.path_params["slug"])
    raw = request.path_params["id"]
    if not _WHOLE.match(raw):
        raise ApiError("not_found", "no such session")
    async with hearth.db() as db:
        row = await records.session_by_id(db, view.id, int(raw))
        if row is None:
            raise ApiError("not_found", "no such session")
        now = now_ms()
        rows = [
            records.attendance_view(a, u, now) for a, u in await records.attendance_of(db, row.id)
        ]
        await audit_store.write_entry(
            db,
            (caller.user.id, caller.user.username),
            "attendance.read",
            view.slug,
            details={"session_id": str(row.id)},
        )
    return view, records.session_view(row, view.slug), rows


async def show_session(request: Request) -> Response:
    _, session, attendance = await _attendance(request)
    return json_response({"session": session, "attendance": attendance})


async def attendance_csv(request: Request) -> Response:
    view, session, attendance = await _attendance(request)
    name = f"attendance-{view.slug}-{session['id']}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(
        attendance_csv_text(attendance), media_type="text/csv; charset=utf-8", headers=headers
    )


routes = [
    Route("/api/rooms/{slug}/sessions", list_sessions, methods=["GET"]),
    Route("/api/rooms/{slug}/sessions/{id}", show_session, methods=["GET"]),
    Route("/api/rooms/{slug}/sessions/{id}/attendance.csv", attendance_csv, methods=["GET"]),
]
