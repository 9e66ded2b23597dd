"""Transcript endpoints (PROTOCOL §2; the export is a Hearth addition, see the README):
read a room's recorded messages, erase one's own, export a period as Markdown or JSON."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..rooms.access import effective_role, may_moderate, may_read_transcript
from ..rooms.settings import RoomView
from ..store import audit as audit_store
from ..store import entries
from ..store import rooms as room_store
from ..store.ids import now_ms
from ..transcripts.export import as_json, as_markdown, file_name
from ..transcripts.setup import Transcripts
from .api_rooms import enterable_room
from .auth import Caller, require_caller
from .errors import ApiError, json_response
from .params import MAX_ID, MAX_TIME_MS, int_param
from .state import Hearth

__all__ = ["routes"]


def _transcripts(hearth: Hearth) -> Transcripts:
    assert hearth.parts is not None  # the app always plugs its parts in (app.py)
    return hearth.parts.transcripts


def _whole(request: Request, name: str, low: int, high: int, default: int) -> int:
    value = int_param(request, name, low, high, default)
    assert value is not None
    return value


async def _readable_room(
    hearth: Hearth, caller: Caller, slug: str
) -> tuple[RoomView, str, int | None]:
    """The room, the caller's role there and, for a member, when they first entered (they
    read what was said from then on), if they may read its transcript: 404 if they may not
    enter (no hint it exists), 403 if they may enter but not read."""
    async with hearth.db() as db:
        view, room_role = await enterable_room(db, caller.user, slug)
        entered_at = await entries.first_entered_at(db, view.id, caller.user.id)
    role = effective_role(caller.user.is_admin, room_role)
    if not may_read_transcript(view, role, entered_at is not None):
        raise ApiError("forbidden", "you may not read this room's transcript")
    return view, role, None if may_moderate(role) else entered_at


async def _audit(
    hearth: Hearth, caller: Caller, action: str, view: RoomView, details: dict[str, int | str]
) -> None:
    """Every read of recorded words is an audit entry (PROTOCOL §8): who, which room, the
    parameters; never a body. Written before the words are handed out."""
    async with hearth.db() as db:
        await audit_store.write_entry(
            db, (caller.user.id, caller.user.username), action, view.slug, details=details
        )


async def read_transcript(request: Request) -> Response:
    hearth: Hearth = request.app.state.hearth
    caller = await require_caller(hearth, request)
    view, _, since = await _readable_room(hearth, caller, request.path_params["slug"])
    after_seq = _whole(request, "after_seq", 0, MAX_ID, 0)
    limit = _whole(request, "limit", 1, 500, 100)
    messages = await _transcripts(hearth).transcript.page(view, after_seq, limit, since)
    await _audit(hearth, caller, "transcript.read", view, {"after_seq": after_seq, "limit": limit})
    return json_response({"messages": messages})


async def erase_mine(request: Request) -> Response:
    hearth: Hearth = request.app.state.hearth
    caller = await require_caller(hearth, request, changes=True)
    async with hearth.db() as db:
        view = await room_store.room_by_slug(db, request.path_params["slug"])
    if view is None:  # the same answer as a room holding nothing of theirs: no slug probing
        return json_response({"deleted": 0})
    erased = await _transcripts(hearth).transcript.erase_author(view, caller.user.id)
    return json_response({"deleted": len(erased)})


async def export_transcript(request: Request) -> Response:
    hearth: Hearth = request.app.state.hearth
    caller = await require_caller(hearth, request)
    view, role, _ = await _readable_room(hearth, caller, request.path_params["slug"])
    if not may_moderate(role):
        raise ApiError("forbidden", "only this room's facilitators may export its transcript")
    kind = request.query_params.get("format", "md")
    if kind not in ("md", "json"):
        raise ApiError("invalid", "format must be md or json")
    now = now_ms()
    since = _whole(request, "since", 0, MAX_TIME_MS, 0)
    until = _whole(request, "until", 0, MAX_TIME_MS, now)
    if since > until:
        raise ApiError("invalid", "since must not be after until")
    messages = await _transcripts(hearth).transcript.period(view, since, until)
    if messages is None:
        raise ApiError("invalid", "too many messages in that period: narrow since and until")
    await _audit(
        hearth,
        caller,
        "transcript.export",
        view,
        {"format": kind, "since": since, "until": until, "messages": len(messages)},
    )
    who = caller.user.username
    headers = {
        "Content-Disposition": f'attachment; filename="{file_name(view, since, until, kind)}"',
        "Cache-Control": "no-store",
    }
    if kind == "json":
        body = as_json(view, since, until, messages, who, now, caller.user.language)
        return Response(body, media_type="application/json", headers=headers)
    text = as_markdown(view, since, until, messages, who, now, caller.user.language)
    return Response(text, media_type="text/markdown; charset=utf-8", headers=headers)


routes = [
    Route("/api/rooms/{slug}/transcript", read_transcript, methods=["GET"]),
    Route("/api/rooms/{slug}/transcript/mine", erase_mine, methods=["DELETE"]),
    Route("/api/rooms/{slug}/transcript/export", export_transcript, methods=["GET"]),
]
