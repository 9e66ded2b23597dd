"""Builds a process's check-in part and plugs it into the rooms from outside: the
`ask_facilitator` frame, the `check_in` and `dismiss_request` actions, requests shown to
facilitators as they enter, and `end` closing a check-in room for good (PROTOCOL §6)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from ..config import Settings
from ..rooms.hooks import Reply
from ..rooms.hub import Conn, Header
from ..rooms.settings import PUBLIC_ADDITIONS, RoomView
from ..sealing import Sealer, derive_key
from ..store import audit as audit_store
from ..store import rooms as room_store
from ..store import users as user_store
from ..store.ids import now_ms
from ..wire.errors import Refuse
from ..wire.frames import AskFacilitator, Mod
from ..wire.out import encode
from .private_rooms import create_check_in, delete_room, is_check_in, kind_fields
from .requests import RequestBook

if TYPE_CHECKING:
    from ..moderation import Moderation
    from ..rooms.live import Rooms

__all__ = ["CheckIns"]


def _request_frame(request: dict[str, Any]) -> str:
    return encode({"type": "check_in_request", **request})


class CheckIns:
    """Requests to talk privately and the private rooms that answer them."""

    def __init__(self, settings: Settings, rooms: Rooms, moderation: Moderation) -> None:
        self.rooms = rooms
        self._moderation = moderation
        sealer = Sealer({"c1": derive_key(settings.secret_key, "check-in-requests")}, "c1")
        self.requests = RequestBook(rooms.backplane.counters, sealer)

    def attach(self, rooms: Rooms) -> None:
        """Register with the rooms and with moderation."""
        PUBLIC_ADDITIONS["check_ins"] = kind_fields
        rooms.hooks.frame_handlers[AskFacilitator] = self.ask
        rooms.hooks.arrivals.append(self.show_requests)
        # A check-in is listed only to those in it (admins may still enter every room).
        rooms.hooks.listing_filters.append(
            lambda view, role: not is_check_in(view) or role is not None
        )
        self._moderation.actions.plugged["check_in"] = self.open_check_in
        self._moderation.actions.plugged["dismiss_request"] = self.dismiss
        self._moderation.actions.end_listeners.append(self.on_end)

    async def ask(self, conn: Conn, view: RoomView, frame: AskFacilitator) -> Sequence[Reply]:
        """A member asks to talk privately: facilitators present hear of it at once."""
        if conn.moderator or is_check_in(view):
            return [Refuse("forbidden", "only members of a group ask for a check-in", frame.ref)]
        ts = now_ms()
        request = await self.requests.ask(view.slug, conn.participant(), frame.note, ts)
        await self.rooms.publish(view.slug, Header(audience="mods"), _request_frame(request))
        return [encode({"type": "asked", **({"ref": frame.ref} if frame.ref else {})})]

    async def show_requests(self, conn: Conn, view: RoomView) -> None:
        """A facilitator entered: every open request, after `welcome`."""
        if conn.moderator and not is_check_in(view):
            for request in await self.requests.open_requests(view.slug):
                conn.offer(_request_frame(request))

    async def _audit(
        self, conn: Conn, action: str, view: RoomView, target: Any, details: dict[str, Any]
    ) -> None:
        async with self.rooms.db() as db:
            await audit_store.write_entry(
                db, (conn.user_id, conn.username), action, view.slug, target, details
            )

    async def open_check_in(self, conn: Conn, view: RoomView, frame: Mod) -> Sequence[Reply]:
        """`mod check_in`: a private room for the member and the group's facilitators."""
        if is_check_in(view):
            return [Refuse("invalid", "a check-in is opened from its group", frame.ref)]
        if frame.user_id is None:
            return [Refuse("invalid", "missing field: user_id", frame.ref)]
        async with self.rooms.db() as db:
            user = await user_store.user_by_id(db, frame.user_id)
            role = await room_store.role_of(db, view.id, frame.user_id) if user else None
        if user is None:
            return [Refuse("not_found", "no such user", frame.ref)]
        if user.is_admin or role == "facilitator":
            return [Refuse("forbidden", "check-ins are with members", frame.ref)]
        if not await self._here(view, user.id):
            return [Refuse("not_found", "that member is not in the room", frame.ref)]
        async with self.rooms.db() as db:
            created = await create_check_in(
                db, view, user.id, conn.user_id if conn.is_admin else None
            )
        await self.requests.close_for(view.slug, user.id)
        target = (user.id, user.username)
        await self._audit(conn, "check_in", view, target, {"check_in": created.slug})
        announce = {
            "type": "check_in",
            "room": created.public(),
            "user_id": user.id,
            "by": conn.participant(),
        }
        audience = Header(audience="mods_user", user=user.id)
        await self.rooms.publish(view.slug, audience, encode(announce))
        actions = self._moderation.actions
        await actions.echo(conn, view, frame, "mods_user", {"room": created.slug}, user.id)
        return []

    async def _here(self, view: RoomView, user_id: str) -> bool:
        """Present, waiting at the door of an approval room, or asking."""
        members = await self.rooms.backplane.presence.members(view.slug)
        if any(orjson.loads(m)["id"] == user_id for m in members):
            return True
        if any(p["id"] == user_id for p in await self._moderation.state.waiting(view.slug)):
            return True
        asking = await self.requests.open_requests(view.slug)
        return any(r["user"]["id"] == user_id for r in asking)

    async def dismiss(self, conn: Conn, view: RoomView, frame: Mod) -> Sequence[Reply]:
        """`mod dismiss_request`: close a request without a check-in."""
        if frame.request_id is None:
            return [Refuse("invalid", "missing field: request_id", frame.ref)]
        request = await self.requests.close_by_id(view.slug, frame.request_id)
        if request is None:
            return [Refuse("not_found", "no such request", frame.ref)]
        user = request["user"]
        details = {"request_id": frame.request_id}
        async with self.rooms.db() as db:
            found = await user_store.user_by_id(db, str(user["id"]))
        target = (str(user["id"]), found.username if found is not None else "")
        await self._audit(conn, "dismiss_request", view, target, details)
        await self._moderation.actions.echo(conn, view, frame, "mods", details, str(user["id"]))
        return []

    async def on_end(self, conn: Conn, view: RoomView) -> dict[str, Any]:
        """`end` in a check-in room closes it for good."""
        if is_check_in(view):
            async with self.rooms.db() as db:
                await delete_room(db, view.id)
        return {}
