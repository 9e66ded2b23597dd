"""Facilitator actions (`{"type":"mod"}`, PROTOCOL §3): check, change shared state, audit,
then publish one `mod` event that every process applies before passing `moderation` on
(see `effects.py`).

Each action is one handler in a table (action name → handler); the target and field checks
they share are small helpers answering a value or a `Refuse`.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
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
from ..store.ids import now_ms
from ..store.models import User
from ..wire.errors import Refuse
from ..wire.frames import Mod
from ..wire.out import encode
from .effects import ModPayload, encode_mod_payload
from .reasons import Reasons
from .review import Review
from .state import ModerationState

__all__ = ["ROOM_WIDE", "Actions"]

ROOM_WIDE = frozenset(
    {"delete", "delete_all", "slow_mode", "lock", "unlock", "pin", "unpin", "end"}
)
ON_PERSON = frozenset({"mute", "unmute", "remove", "ban", "unban", "admit", "deny", "lower_hand"})
ON_REVIEW = frozenset({"resolve_flag", "approve", "discard"})
MUST_BE_THERE = frozenset({"remove", "lower_hand"})
MUST_BE_WAITING = frozenset({"admit", "deny"})
MAX_COOL_DOWN = 7 * 86400
MAX_MUTE = 365 * 86400  # longer is "until unmute"; larger values overflow time arithmetic
TO_ALL = Header(audience="all")  # the header of a frame an action publishes to everyone

# An action another part adds (sessions' `open`, check-ins): replies for the actor alone.
PluggedAction = Callable[[Conn, RoomView, Mod], Awaitable[Sequence[Reply]]]
# Called on `end` before it is published; returns details for its audit entry.
EndListener = Callable[[Conn, RoomView], Awaitable[dict[str, Any]]]


@dataclass(slots=True)
class Done:
    """What an action did: fields of its `moderation` echo, frames published with it
    (header, frame), details for the audit log only, and fields of its `mod` event."""

    fields: dict[str, Any] = field(default_factory=dict)
    frames: list[tuple[Header, str]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    event: dict[str, Any] = field(default_factory=dict)


Outcome = Done | Refuse
Handler = Callable[[Conn, RoomView, Mod, User | None], Awaitable[Outcome]]


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
        self.review = review
        self.plugged: dict[str, PluggedAction] = {}
        self.end_listeners: list[EndListener] = []
        self.reasons = reasons
        self._table: dict[str, Handler] = {
            "mute": self._mute,
            "unmute": self._unmute,
            "remove": self._remove,
            "ban": self._remove,
            "unban": self._unban,
            "admit": self._admit,
            "deny": self._deny,
            "lower_hand": self._lower_hand,
            "delete": self._delete,
            "delete_all": self._delete_all,
            "slow_mode": self._slow_mode,
            "lock": self._lock,
            "unlock": self._lock,
            "pin": self._pin,
            "unpin": self._unpin,
            "end": self._end,
            "resolve_flag": self._resolve_flag,
            "approve": self._review_held,
            "discard": self._review_held,
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
        action = frame.action
        moderation: dict[str, Any] = {"type": "moderation", "action": action}
        moderation["by"] = conn.participant()
        if target is not None:
            moderation["user_id"] = target.id
        moderation.update(done.fields)
        header = Header(
            kind="control",
            event="mod",
            audience=_audience(action),
            user=None if target is None else target.id,
            conn=conn.id,
            ref=frame.ref,
            data={"act": action, **done.event},
        )
        # Audit first: publishing `end` (or removing the actor's own session) closes the
        # actor's socket, which cancels this very handler.
        audit_details = {k: v for k, v in done.fields.items() if k != "body"} | done.details
        async with self.db() as db:
            await audit_store.write_entry(
                db,
                (conn.user_id, conn.username),
                action,
                view.slug,
                (target.id, target.username) if target is not None else None,
                self.reasons.seal_details(audit_details),
            )
        payload = ModPayload(frames=done.frames, moderation=encode(moderation))
        await self.rooms.publish(view.slug, header, encode_mod_payload(payload))

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
        moderation: dict[str, Any] = {"type": "moderation", "action": frame.action}
        moderation["by"] = conn.participant()
        if target is not None:
            moderation["user_id"] = target
        moderation.update(fields)
        header = Header(
            kind="control",
            event="mod",
            audience=audience,
            user=target,
            conn=conn.id,
            ref=frame.ref,
            data={"act": frame.action},
        )
        payload = ModPayload(frames=[], moderation=encode(moderation))
        await self.rooms.publish(view.slug, header, encode_mod_payload(payload))

    async def _target(self, conn: Conn, view: RoomView, frame: Mod) -> User | Refuse:
        """The user an action is on, if the actor may act on them (and they are where the
        action needs them)."""
        user_id = _need(frame.user_id, "user_id")
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

    # -- actions on one person -----------------------------------------------------------

    async def _mute(self, conn: Conn, view: RoomView, frame: Mod, target: User | None) -> Outcome:
        assert target is not None
        seconds = _seconds(frame.seconds, required=False, high=MAX_MUTE)
        if isinstance(seconds, Refuse):
            return seconds
        until = now_ms() + seconds * 1000 if seconds else None
        await self.state.mute(view.slug, target.id, until)
        return Done(fields={"seconds": seconds} if seconds else {}, event={"until": until})

    async def _unmute(self, conn: Conn, view: RoomView, frame: Mod, target: User | None) -> Outcome:
        assert target is not None
        await self.state.unmute(view.slug, target.id)
        return Done()

    async def _remove(self, conn: Conn, view: RoomView, frame: Mod, target: User | None) -> Outcome:
        """`remove` (with an optional cooling-off time) and `ban`."""
        assert target is not None
        banning = frame.action == "ban"
        reason = frame.reason or ""
        done = Done(fields={"reason": reason} if frame.reason else {})
        seconds: int | Refuse | None = None
        if not banning and frame.seconds is not None:
            seconds = _seconds(frame.seconds, required=True, high=MAX_COOL_DOWN)
        if isinstance(seconds, Refuse):
            return seconds
        await self.state.revoke(view.slug, target.id)
        await self.state.stop_waiting(view.slug, target.id)
        if banning:
            async with self.db() as db:
                sealed = self.reasons.seal(frame.reason)
                await room_store.ban(db, view.id, target.id, conn.user_id, sealed)
        elif seconds is not None:
            await self.state.cool_down(view.slug, target.id, seconds)
            done.fields["seconds"] = seconds
        done.event["close"] = [4408, reason or ("banned" if banning else "removed")]
        return done

    async def _unban(self, conn: Conn, view: RoomView, frame: Mod, target: User | None) -> Outcome:
        assert target is not None
        async with self.db() as db:
            await room_store.unban(db, view.id, target.id)
        return Done()

    async def _admit(self, conn: Conn, view: RoomView, frame: Mod, target: User | None) -> Outcome:
        assert target is not None
        await self.state.stop_waiting(view.slug, target.id)
        await self.state.admit(view.slug, target.id)
        return Done()

    async def _deny(self, conn: Conn, view: RoomView, frame: Mod, target: User | None) -> Outcome:
        assert target is not None
        await self.state.stop_waiting(view.slug, target.id)
        return Done(event={"close": [4403, frame.reason or "not admitted"]})

    async def _lower_hand(
        self, conn: Conn, view: RoomView, frame: Mod, target: User | None
    ) -> Outcome:
        assert target is not None
        await self.state.set_hand(view.slug, target.id, False)
        lowered = encode({"type": "hand", "user_id": target.id, "raised": False})
        return Done(frames=[(TO_ALL, lowered)])

    # -- actions on the room -------------------------------------------------------------

    async def _delete(self, conn: Conn, view: RoomView, frame: Mod, target: User | None) -> Outcome:
        message_id = _need(frame.message_id, "message_id")
        if isinstance(message_id, Refuse):
            return message_id
        if await self.rooms.message(view, message_id) is None:
            return Refuse("not_found", "no such message")
        await self.rooms.erase(view, [message_id])
        await self.state.forget_excerpts(view.slug, {message_id})
        deleted = encode({"type": "deleted", "message_id": message_id})
        return Done(fields={"message_id": message_id}, frames=[(TO_ALL, deleted)])

    async def _delete_all(
        self, conn: Conn, view: RoomView, frame: Mod, target: User | None
    ) -> Outcome:
        assert target is not None
        ids = await self.rooms.erase_author(view, target.id)
        await self.state.forget_excerpts(view.slug, set(ids))
        frames = [
            (TO_ALL, encode({"type": "deleted", "message_id": message_id}))
            for message_id in ids
        ]
        frames.append((TO_ALL, encode({"type": "deleted_all", "user_id": target.id})))
        return Done(frames=frames, details={"deleted": len(ids)})

    async def _slow_mode(
        self, conn: Conn, view: RoomView, frame: Mod, target: User | None
    ) -> Outcome:
        gap = frame.seconds
        if gap is None or not 0 <= gap <= 3600:
            return Refuse("invalid", "seconds must be from 0 to 3600")
        await self._setting(view, "slow_mode_seconds", gap)
        return Done(fields={"seconds": gap})

    async def _lock(self, conn: Conn, view: RoomView, frame: Mod, target: User | None) -> Outcome:
        """`lock` and `unlock`."""
        await self._setting(view, "locked", frame.action == "lock")
        return Done()

    async def _setting(self, view: RoomView, name: str, value: Any) -> None:
        live = self.rooms.live_view(view)
        old = getattr(live, name)
        updated = replace(live, **{name: value})
        async with self.db() as db:  # this one column: never undo a concurrent change
            await room_store.update_setting(db, view.id, name, value)
        if old != value:
            await self.rooms.settings_changed(updated)

    async def _pin(self, conn: Conn, view: RoomView, frame: Mod, target: User | None) -> Outcome:
        if frame.message_id is not None:
            found = await self.rooms.message(view, frame.message_id)
            if found is None or found.get("body") is None:
                return Refuse("not_found", "no such message (its words must still be kept)")
            body, message_id = str(found["body"]), frame.message_id
        elif frame.body is not None and 1 <= len(frame.body) <= view.max_message_chars:
            body, message_id = frame.body, None
        else:
            return Refuse("invalid", "pin needs a message_id or a body")
        pin = {
            "pin_id": secrets.token_hex(8),
            "body": body,
            "message_id": message_id,
            "by": conn.participant(),
            "ts": now_ms(),
        }
        await self.state.pin(view.slug, pin)
        fields = {"pin_id": pin["pin_id"]}
        if message_id is not None:
            fields["message_id"] = message_id
        return Done(fields=fields, frames=[(TO_ALL, await self._pinned(view.slug))])

    async def _unpin(self, conn: Conn, view: RoomView, frame: Mod, target: User | None) -> Outcome:
        pin_id = _need(frame.pin_id, "pin_id")
        if isinstance(pin_id, Refuse):
            return pin_id
        if not await self.state.unpin(view.slug, pin_id):
            return Refuse("not_found", "no such pin")
        pinned = await self._pinned(view.slug)
        return Done(fields={"pin_id": pin_id}, frames=[(TO_ALL, pinned)])

    async def _pinned(self, slug: str) -> str:
        return encode({"type": "pinned", "pinned": await self.state.pins(slug)})

    async def _end(self, conn: Conn, view: RoomView, frame: Mod, target: User | None) -> Outcome:
        done = Done(event={"close": [4410, "the session has ended"]})
        for listener in self.end_listeners:
            done.details.update(await listener(conn, view))
        await self.state.end(view.slug)
        await self.rooms.restart_numbering(view.slug)
        return done

    # -- reviews of flags and held messages ----------------------------------------------

    async def _resolve_flag(
        self, conn: Conn, view: RoomView, frame: Mod, target: User | None
    ) -> Outcome:
        flag_id = _need(frame.flag_id, "flag_id")
        if isinstance(flag_id, Refuse):
            return flag_id
        if await self.state.resolve_flag(view.slug, flag_id) is None:
            return Refuse("not_found", "no such flag")
        return Done(fields={"flag_id": flag_id})

    async def _review_held(
        self, conn: Conn, view: RoomView, frame: Mod, target: User | None
    ) -> Outcome:
        """`approve` (sent as its author) and `discard` (the author is told)."""
        held_id = _need(frame.held_id, "held_id")
        if isinstance(held_id, Refuse):
            return held_id
        held = await self.state.release(view.slug, held_id)
        if held is None:
            return Refuse("not_found", "no such held message")
        author_id = str(held["author"]["id"])
        if frame.action == "approve":
            await self.rooms.publish_held(view, held)
        else:
            text = "A facilitator did not approve your message."
            await self.review.notice(view, author_id, "held_discarded", text, held_id=held_id)
        return Done(fields={"held_id": held_id, "author_id": held["author"]["id"]})


def _audience(action: str) -> Audience:
    """Who receives an action's `moderation`: actions on one person go to facilitators and
    that person, reviews of flags and held messages to facilitators, the rest to all."""
    if action in ON_PERSON:
        return "mods_user"
    if action in ON_REVIEW:
        return "mods"
    return "all"


def _need(value: str | None, name: str) -> str | Refuse:
    if value is None:
        return Refuse("invalid", f"missing field: {name}")
    return value


def _seconds(value: int | None, required: bool, high: int) -> int | Refuse:
    if value is None:
        if required:
            return Refuse("invalid", "missing field: seconds")
        return 0
    if not 1 <= value <= high:
        return Refuse("invalid", f"seconds must be from 1 to {high}")
    return value
