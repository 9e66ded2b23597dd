"""The table of facilitator actions (`{"type":"mod"}`, PROTOCOL §3): who may act, on whom;
then each action's handler changes shared state, and the table audits it and publishes one
`mod` event that every process applies before passing `moderation` on (see `effects.py`).

The handlers live by what they act on: one person (`person_actions.py`), the room
(`room_actions.py`), flags and held messages (`review_actions.py`); each answers a `Done` or
a `Refuse` (`outcomes.py`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from ..rooms.hooks import Reply
from ..rooms.hub import Audience, Conn, Header
from ..rooms.ports import RoomsPort
from ..rooms.settings import RoomView
from ..store import audit as audit_store
from ..store import rooms as room_store
from ..store import users as user_store
from ..store.engine import DbSession
from ..store.models import User
from ..wire.errors import Refuse
from ..wire.frames import Mod
from ..wire.out import encode
from .effects import ModPayload, encode_mod_payload
from .outcomes import Done, Handler, need
from .person_actions import PersonActions
from .reasons import Reasons
from .review import Review
from .review_actions import ReviewActions
from .room_actions import EndListener, RoomActions
from .state import ModerationState

__all__ = ["ON_PERSON", "ON_REVIEW", "ROOM_WIDE", "Actions"]

ROOM_WIDE = frozenset(
    {"delete", "delete_all", "slow_mode", "lock", "unlock", "pin", "unpin", "end"}
)
ON_PERSON = frozenset({"mute", "unmute", "remove", "ban", "unban", "admit", "deny", "lower_hand"})
ON_REVIEW = frozenset({"resolve_flag", "approve", "discard"})
MUST_BE_THERE = frozenset({"remove", "lower_hand"})
MUST_BE_WAITING = frozenset({"admit", "deny"})

# An action another part adds (sessions' `open`, check-ins): replies for the actor alone.
PluggedAction = Callable[[Conn, RoomView, Mod], Awaitable[Sequence[Reply]]]


class Actions:
    """Carries out `mod` frames of facilitators and admins."""

    def __init__(
        self,
        rooms: RoomsPort,
        db: async_sessionmaker[DbSession],
        state: ModerationState,
        review: Review,
        reasons: Reasons,
    ) -> None:
        self.rooms = rooms
        self.db = db
        self.state = state
        self.plugged: dict[str, PluggedAction] = {}
        self.end_listeners: list[EndListener] = []
        self.reasons = reasons
        on_person = PersonActions(db, state, reasons)
        on_room = RoomActions(rooms, db, state, self.end_listeners)
        on_review = ReviewActions(rooms, state, review)
        self._table: dict[str, Handler] = {
            "mute": on_person.mute,
            "unmute": on_person.unmute,
            "remove": on_person.remove,
            "ban": on_person.remove,
            "unban": on_person.unban,
            "admit": on_person.admit,
            "deny": on_person.deny,
            "lower_hand": on_person.lower_hand,
            "delete": on_room.delete,
            "delete_all": on_room.delete_all,
            "slow_mode": on_room.slow_mode,
            "lock": on_room.lock,
            "unlock": on_room.lock,
            "pin": on_room.pin,
            "unpin": on_room.unpin,
            "end": on_room.end,
            "resolve_flag": on_review.resolve_flag,
            "approve": on_review.review_held,
            "discard": on_review.review_held,
        }

    @property
    def names(self) -> frozenset[str]:
        """The actions moderation carries out itself (plugged-in ones aside)."""
        return frozenset(self._table)

    async def handle(self, conn: Conn, view: RoomView, frame: Mod) -> Sequence[Reply]:
        """Replies for the actor's socket alone (refusals); everything else is published."""
        if not conn.moderator:
            return [Refuse("forbidden", "only facilitators may do that", frame.ref)]
        plugged = self.plugged.get(frame.action)
        if plugged is not None:
            return await plugged(conn, view, frame)
        act = self._table.get(frame.action)
        if act is None:
            return [Refuse("invalid", f"unknown action: {frame.action}", frame.ref)]
        target: User | Refuse | None = None
        if frame.action in ON_PERSON or frame.action == "delete_all":
            target = await self._target(conn, view, frame)
        if isinstance(target, Refuse):
            return [target.answering(frame.ref)]
        done = await act(conn, view, frame, target)
        if isinstance(done, Refuse):
            return [done.answering(frame.ref)]
        await self._announce(conn, view, frame, target, done)
        return []

    async def _announce(
        self, conn: Conn, view: RoomView, frame: Mod, target: User | None, done: Done
    ) -> None:
        """Audit the action, then publish its `mod` event."""
        # Audit first: publishing `end` (or removing the actor's own session) closes the
        # actor's socket, which cancels this very handler.
        audit_details = {k: v for k, v in done.fields.items() if k != "body"} | done.details
        async with self.db() as db:
            await audit_store.write_entry(
                db,
                (conn.user_id, conn.username),
                frame.action,
                view.slug,
                (target.id, target.username) if target is not None else None,
                self.reasons.seal_details(audit_details),
            )
        target_id = None if target is None else target.id
        audience = _audience(frame.action)
        await self._publish(conn, view, frame, audience, target_id, done)

    async def echo(
        self,
        conn: Conn,
        view: RoomView,
        frame: Mod,
        audience: Audience,
        fields: dict[str, Any],
        target: str | None = None,
    ) -> None:
        """Publish the `moderation` echo of a plugged-in action (its part audits it)."""
        await self._publish(conn, view, frame, audience, target, Done(fields=fields))

    async def _publish(
        self,
        conn: Conn,
        view: RoomView,
        frame: Mod,
        audience: Audience,
        target: str | None,
        done: Done,
    ) -> None:
        """Publish an action's `mod` event: its `moderation` echo, its frames and the
        fields every process applies."""
        moderation: dict[str, Any] = {"type": "moderation", "action": frame.action}
        moderation["by"] = conn.participant()
        if target is not None:
            moderation["user_id"] = target
        moderation.update(done.fields)
        header = Header(
            kind="control",
            event="mod",
            audience=audience,
            user=target,
            conn=conn.id,
            ref=frame.ref,
            data={"act": frame.action, **done.event},
        )
        payload = ModPayload(frames=done.frames, moderation=encode(moderation))
        await self.rooms.publish(view.slug, header, encode_mod_payload(payload))

    async def _target(self, conn: Conn, view: RoomView, frame: Mod) -> User | Refuse:
        """The user an action is on, if the actor may act on them (and they are where the
        action needs them)."""
        user_id = need(frame.user_id, "user_id")
        if isinstance(user_id, Refuse):
            return user_id
        async with self.db() as db:
            user = await user_store.user_by_id(db, user_id)
            role = await room_store.role_of(db, view.id, user_id) if user else None
        if user is None:
            return Refuse("not_found", "no such user")
        if user.is_admin or (role == "facilitator" and not conn.is_admin):
            return Refuse("forbidden", "facilitators cannot act on facilitators or admins")
        if frame.action in MUST_BE_THERE:
            if not any(m["id"] == user_id for m in await self.rooms.members(view.slug)):
                return Refuse("not_found", "that user is not in the room")
        if frame.action in MUST_BE_WAITING:
            if not any(p["id"] == user_id for p in await self.state.waiting(view.slug)):
                return Refuse("not_found", "that user is not waiting")
        return user


def _audience(action: str) -> Audience:
    """Who receives an action's `moderation`: actions on one person go to facilitators and
    that person, reviews of flags and held messages to facilitators, the rest to all."""
    if action in ON_PERSON:
        return "mods_user"
    if action in ON_REVIEW:
        return "mods"
    return "all"
