"""Facilitator actions (`{"type":"mod"}`, PROTOCOL §3): check, change shared state, audit,
then publish one `mod` event that every process applies before passing `moderation` on
(see `effects.py`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import orjson

from ..rooms.hub import Audience, Conn, Header
from ..rooms.settings import RoomView
from ..store import audit as audit_store
from ..store import rooms as room_store
from ..store import users as user_store
from ..wire.frames import Mod
from ..wire.out import encode, error_frame
from .reasons import Reasons
from .review import Review
from .state import ModerationState

if TYPE_CHECKING:
    from ..rooms.live import Rooms

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


class _Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


# An action another part adds (sessions' `open`, check-ins): frames for the actor alone.
PluggedAction = Callable[[Conn, RoomView, Mod], Awaitable[list[str]]]
# Called on `end` before it is published; returns details for its audit entry.
EndListener = Callable[[Conn, RoomView], Awaitable[dict[str, Any]]]


class Actions:
    """Carries out `mod` frames of facilitators and admins."""

    def __init__(
        self, rooms: Rooms, state: ModerationState, review: Review, reasons: Reasons
    ) -> None:
        self.rooms = rooms
        self.state = state
        self.review = review
        self.plugged: dict[str, PluggedAction] = {}
        self.end_listeners: list[EndListener] = []
        self.reasons = reasons

    async def handle(self, conn: Conn, view: RoomView, frame: Mod) -> list[str]:
        """Frames for the actor's socket alone (errors); everything else is published."""
        if not conn.moderator:
            return [error_frame("forbidden", "only facilitators may do that", frame.ref)]
        plugged = self.plugged.get(frame.action)
        if plugged is not None:
            return await plugged(conn, view, frame)
        if frame.action not in ROOM_WIDE | ON_PERSON | ON_REVIEW:
            return [error_frame("invalid", f"unknown action: {frame.action}", frame.ref)]
        try:
            await self._act(conn, view, frame)
        except _Refused as refused:
            return [error_frame(refused.code, refused.message, frame.ref)]
        return []

    async def _act(self, conn: Conn, view: RoomView, frame: Mod) -> None:
        action = frame.action
        target: Any = None
        if action in ON_PERSON or action == "delete_all":
            target = await self._target(conn, view, frame)
        fields: dict[str, Any] = {}
        extra: list[tuple[dict[str, Any], str]] = []
        details: dict[str, Any] = {}
        data: dict[str, Any] = {}  # the `mod` event's fields for every process
        slug = view.slug
        match action:
            case "mute":
                seconds = _seconds(frame.seconds, required=False, high=MAX_MUTE)
                until = int(time.time() * 1000) + seconds * 1000 if seconds else None
                await self.state.mute(slug, target.id, until)
                fields = {"seconds": seconds} if seconds else {}
                data["until"] = until
            case "unmute":
                await self.state.unmute(slug, target.id)
            case "remove" | "ban":
                reason = frame.reason or ""
                fields = {"reason": reason} if frame.reason else {}
                await self.state.revoke(slug, target.id)
                await self.state.stop_waiting(slug, target.id)
                if action == "ban":
                    async with self.rooms.db() as db:
                        await room_store.ban(
                            db, view.id, target.id, conn.user_id, self.reasons.seal(frame.reason)
                        )
                elif frame.seconds is not None:
                    seconds = _seconds(frame.seconds, required=True, high=MAX_COOL_DOWN)
                    await self.state.cool_down(slug, target.id, seconds)
                    fields["seconds"] = seconds
                data["close"] = [4408, reason or ("banned" if action == "ban" else "removed")]
            case "unban":
                async with self.rooms.db() as db:
                    await room_store.unban(db, view.id, target.id)
            case "admit":
                await self.state.stop_waiting(slug, target.id)
                await self.state.admit(slug, target.id)
            case "deny":
                await self.state.stop_waiting(slug, target.id)
                data["close"] = [4403, frame.reason or "not admitted"]
            case "lower_hand":
                await self.state.set_hand(slug, target.id, False)
                extra.append(
                    ({"a": "all"}, encode({"type": "hand", "user_id": target.id, "raised": False}))
                )
            case "delete":
                message_id = _need(frame.message_id, "message_id")
                if await self.rooms.message(view, message_id) is None:
                    raise _Refused("not_found", "no such message")
                await self.erase(view, [message_id])
                fields = {"message_id": message_id}
                extra.append(({"a": "all"}, encode({"type": "deleted", "message_id": message_id})))
            case "delete_all":
                ids = await self._erase_author(view, target.id)
                details = {"deleted": len(ids)}
                for message_id in ids:
                    extra.append(
                        ({"a": "all"}, encode({"type": "deleted", "message_id": message_id}))
                    )
                extra.append(({"a": "all"}, encode({"type": "deleted_all", "user_id": target.id})))
            case "slow_mode":
                gap = frame.seconds
                if gap is None or not 0 <= gap <= 3600:
                    raise _Refused("invalid", "seconds must be from 0 to 3600")
                await self._setting(conn, view, "slow_mode_seconds", gap)
                fields = {"seconds": gap}
            case "lock" | "unlock":
                await self._setting(conn, view, "locked", action == "lock")
            case "pin":
                pin = await self._pin(conn, view, frame)
                fields = {"pin_id": pin["pin_id"]}
                if pin["message_id"] is not None:
                    fields["message_id"] = pin["message_id"]
                extra.append(({"a": "all"}, await self._pinned(slug)))
            case "unpin":
                pin_id = _need(frame.pin_id, "pin_id")
                if not await self.state.unpin(slug, pin_id):
                    raise _Refused("not_found", "no such pin")
                fields = {"pin_id": pin_id}
                extra.append(({"a": "all"}, await self._pinned(slug)))
            case "end":
                for listener in self.end_listeners:
                    details.update(await listener(conn, view))
                await self.state.end(slug)
                await self.rooms.backplane.log.reset(slug)
                data["close"] = [4410, "the session has ended"]
            case "resolve_flag":
                flag_id = _need(frame.flag_id, "flag_id")
                if await self.state.resolve_flag(slug, flag_id) is None:
                    raise _Refused("not_found", "no such flag")
                fields = {"flag_id": flag_id}
            case "approve" | "discard":
                await self._review_held(conn, view, frame, fields)
        by = conn.participant()
        moderation: dict[str, Any] = {"type": "moderation", "action": action, "by": by}
        if target is not None:
            moderation["user_id"] = target.id
        moderation.update(fields)
        header = Header(
            kind="control",
            event="mod",
            audience=_audience(action),
            user=None if target is None else target.id,
            conn=conn.id,
            ref=frame.ref,
            data={"act": action, **data},
        )
        # Audit first: publishing `end` (or removing the actor's own session) closes the
        # actor's socket, which cancels this very handler.
        audit_details = {k: v for k, v in fields.items() if k != "body"} | details
        async with self.rooms.db() as db:
            await audit_store.write_entry(
                db,
                (conn.user_id, conn.username),
                action,
                slug,
                (target.id, target.username) if target is not None else None,
                self.reasons.seal_details(audit_details),
            )
        payload = {"frames": [[h, f] for h, f in extra], "moderation": encode(moderation)}
        await self.rooms.publish(slug, header, orjson.dumps(payload).decode())

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
        payload = {"frames": [], "moderation": encode(moderation)}
        await self.rooms.publish(view.slug, header, orjson.dumps(payload).decode())

    async def _target(self, conn: Conn, view: RoomView, frame: Mod) -> Any:
        user_id = _need(frame.user_id, "user_id")
        async with self.rooms.db() as db:
            user = await user_store.user_by_id(db, user_id)
            role = await room_store.role_of(db, view.id, user_id) if user else None
        if user is None:
            raise _Refused("not_found", "no such user")
        if user.is_admin or (role == "facilitator" and not conn.is_admin):
            raise _Refused("forbidden", "facilitators cannot act on facilitators or admins")
        if frame.action in MUST_BE_THERE:
            members = await self.rooms.backplane.presence.members(view.slug)
            if not any(orjson.loads(m)["id"] == user_id for m in members):
                raise _Refused("not_found", "that user is not in the room")
        if frame.action in MUST_BE_WAITING:
            waiting = await self.state.waiting(view.slug)
            if not any(p["id"] == user_id for p in waiting):
                raise _Refused("not_found", "that user is not waiting")
        return user

    async def erase(self, view: RoomView, message_ids: list[str], transcript: bool = True) -> None:
        """Remove messages from the resume window, flag excerpts and (unless the caller
        already did) every other keeper (the transcript)."""
        seqs = []
        for message_id in message_ids:
            found = await self.rooms.backplane.log.locate(message_id)
            if found is not None and found[0] == view.slug:
                seqs.append(found[1])
        if seqs:
            await self.rooms.backplane.log.remove(view.slug, seqs)
        if transcript:
            for eraser in self.rooms.erasers:
                await eraser(view, message_ids)
        await self.state.forget_excerpts(view.slug, set(message_ids))

    async def _erase_author(self, view: RoomView, user_id: str) -> list[str]:
        window = await self.rooms.backplane.log.read(view.slug, 0, view.resume_window_seconds)
        ids = [
            str(m["id"])
            for m in (orjson.loads(f) for _, f in window.entries)
            if m["author"]["id"] == user_id
        ]
        for eraser in self.rooms.author_erasers:
            ids.extend(i for i in await eraser(view, user_id) if i not in ids)
        await self.erase(view, ids, transcript=False)  # the author erasers did that part
        return ids

    async def _setting(self, conn: Conn, view: RoomView, name: str, value: Any) -> None:
        live = self.rooms.views.get(view.slug, view)
        old = getattr(live, name)
        updated = replace(live, **{name: value})
        async with self.rooms.db() as db:  # this one column: never undo a concurrent change
            await room_store.update_setting(db, view.id, name, value)
        if old != value:
            await self.rooms.settings_changed(updated)

    async def _pin(self, conn: Conn, view: RoomView, frame: Mod) -> dict[str, Any]:
        if frame.message_id is not None:
            found = await self.rooms.message(view, frame.message_id)
            if found is None or found.get("body") is None:
                raise _Refused("not_found", "no such message (its words must still be kept)")
            body, message_id = str(found["body"]), frame.message_id
        elif frame.body is not None and 1 <= len(frame.body) <= view.max_message_chars:
            body, message_id = frame.body, None
        else:
            raise _Refused("invalid", "pin needs a message_id or a body")
        pin = {
            "pin_id": secrets.token_hex(8),
            "body": body,
            "message_id": message_id,
            "by": conn.participant(),
            "ts": int(time.time() * 1000),
        }
        await self.state.pin(view.slug, pin)
        return pin

    async def _pinned(self, slug: str) -> str:
        return encode({"type": "pinned", "pinned": await self.state.pins(slug)})

    async def _review_held(
        self, conn: Conn, view: RoomView, frame: Mod, fields: dict[str, Any]
    ) -> None:
        held_id = _need(frame.held_id, "held_id")
        held = await self.state.release(view.slug, held_id)
        if held is None:
            raise _Refused("not_found", "no such held message")
        fields.update({"held_id": held_id, "author_id": held["author"]["id"]})
        if frame.action == "approve":
            await self.rooms.publish_held(view, held)
        else:
            await self.review.notice(
                view,
                str(held["author"]["id"]),
                "held_discarded",
                "A facilitator did not approve your message.",
                held_id=held_id,
            )


def _audience(action: str) -> Audience:
    """Who receives an action's `moderation`: actions on one person go to facilitators and
    that person, reviews of flags and held messages to facilitators, the rest to all."""
    if action in ON_PERSON:
        return "mods_user"
    if action in ON_REVIEW:
        return "mods"
    return "all"


def _need(value: str | None, name: str) -> str:
    if value is None:
        raise _Refused("invalid", f"missing field: {name}")
    return value


def _seconds(value: int | None, required: bool, high: int) -> int:
    if value is None:
        if required:
            raise _Refused("invalid", "missing field: seconds")
        return 0
    if not 1 <= value <= high:
        raise _Refused("invalid", f"seconds must be from 1 to {high}")
    return value
