"""Messages under review: the hooks step of the send pipeline, flags, reports, held messages.

Facilitators learn of a problem through `flag` frames (kept until resolved, so one who joins
late sees them) and approve or discard `held` messages. Words in flags and held messages
live only in the sealed moderation state, never in the database or the logs.
"""

from __future__ import annotations

import secrets
from typing import Any

from ..broker.base import Appended, Counters
from ..config import Limits
from ..rooms.hub import Conn, Header
from ..rooms.ports import RoomsPort
from ..rooms.sending import PASS, Draft, Held, Verdict
from ..rooms.settings import RoomView
from ..store.ids import now_ms
from ..wire.errors import Refuse
from ..wire.out import encode
from .builtin import crisis_resources_for
from .hooks import HookRunner
from .state import ModerationState
from .verdicts import Flag, Hold, MessageContext, Reject

__all__ = ["UNHEARD", "Review"]

EXCERPT = 200
REPORT_MEMORY_SECONDS = 86400  # a message is known by id for 24 h (PROTOCOL §3)
# Refusals after which a crisis message still reaches the facilitators.
UNHEARD = {"muted": "muted", "locked": "the room was locked", "slow_mode": "slow mode was on"}
REFUSED = "a moderation rule refused this message"


class Review:
    """Runs hooks on drafts and keeps flags and held messages."""

    def __init__(
        self,
        rooms: RoomsPort,
        state: ModerationState,
        runner: HookRunner,
        limits: Limits,
        counters: Counters,
    ) -> None:
        self.rooms = rooms
        self.state = state
        self.runner = runner
        self._limits = limits
        self._counters = counters

    async def __call__(self, draft: Draft) -> Verdict:
        """The pipeline step: Reject → `rejected`; Hold → kept for review; Flag → after send."""
        conn, room = draft.conn, draft.room
        if draft.approved:
            return PASS
        ctx = MessageContext(
            draft.body,
            conn.user_id,
            conn.display_name,
            conn.role,
            room.slug,
            room.public(),
            conn.language,
        )
        choice = room.extra.get("hooks")
        outcome = await self.runner.run(ctx, list(choice) if choice is not None else None)
        if isinstance(outcome.stop, Reject):
            return Refuse("rejected", REFUSED, reason=outcome.stop.reason)
        if isinstance(outcome.stop, Hold):
            if await self.state.held_count(room.slug) >= self._limits.open_held_per_room:
                full = "too many messages are waiting for review here; try again later"
                return Refuse("rejected", REFUSED, reason=full)
            await self.hold(draft, outcome.stopped_by or "hook", outcome.stop.reason)
            return Held()
        for name, flag in outcome.flags:
            draft.after.append(self._after_send(draft, name, flag))
        return PASS

    def _after_send(self, draft: Draft, hook: str, flag: Flag) -> Any:
        async def run(appended: Appended) -> None:
            await self.raise_flag(
                draft.room,
                "hook",
                draft.conn.user_id,
                flag.reason,
                draft.body,
                message_id=draft.id,
                hook=hook,
            )
            if flag.notice_author:
                await self.notice(
                    draft.room,
                    draft.conn.user_id,
                    "crisis_resources" if hook == "crisis" else hook,
                    flag.notice_author,
                )

        return run

    async def refused(self, conn: Conn, room: RoomView, body: str, refusal: Refuse) -> None:
        """A send was refused: if it was crisis language refused for muting, a lock or slow
        mode, it must still be heard (`crisis_unheard`)."""
        why = UNHEARD.get(refusal.code)
        if why is not None and self.runner.recognizes("crisis", body):
            await self.crisis_unheard(conn, room, body, why)

    async def crisis_unheard(self, conn: Conn, room: RoomView, body: str, why: str) -> None:
        """A crisis message refused (muted, locked, slow mode): never silence it — the
        facilitators get it as a flag and the author gets the crisis resources."""
        await self.raise_flag(
            room, "hook", conn.user_id, f"crisis language (sent while {why})", body, hook="crisis"
        )
        text = crisis_resources_for(room.public(), conn.language)
        await self.notice(room, conn.user_id, "crisis_resources", text)

    async def notice(
        self, room: RoomView, user_id: str, kind: str, text: str, **fields: str
    ) -> None:
        """A private `notice` to every socket of one user in the room (with `fields`, such
        as a held message's `held_id` and `ref`)."""
        frame = encode({"type": "notice", "kind": kind, "text": text, **fields})
        await self.rooms.publish(room.slug, Header(audience="user", user=user_id), frame)

    async def raise_flag(
        self,
        room: RoomView,
        source: str,
        user_id: str,
        reason: str,
        body: str | None,
        message_id: str | None = None,
        hook: str | None = None,
        reported_by: str | None = None,
    ) -> bool:
        """Keep a flag and send it to the room's facilitators on every process. A room keeps
        at most `open_flags_per_room`: then a report is refused (False), and a hook's flag
        takes the place of the oldest open flag not about crisis language."""
        flags = await self.state.flags(room.slug)
        if len(flags) >= self._limits.open_flags_per_room:
            if source == "report":
                return False
            oldest = next((f for f in flags if f.get("hook") != "crisis"), flags[0])
            await self.state.resolve_flag(room.slug, str(oldest["flag_id"]))
        flag: dict[str, Any] = {
            "type": "flag",
            "flag_id": secrets.token_hex(8),
            "source": source,
            "user_id": user_id,
            "reason": reason,
            "excerpt": body[:EXCERPT] if body is not None else None,
            "ts": now_ms(),
        }
        if hook is not None:
            flag["hook"] = hook
        if message_id is not None:
            flag["message_id"] = message_id
        if reported_by is not None:
            flag["reported_by"] = reported_by
        await self.state.add_flag(room.slug, flag)
        await self.rooms.publish(room.slug, Header(audience="mods"), encode(flag))
        return True

    async def report(
        self, conn: Conn, room: RoomView, message_id: str, reason: str
    ) -> Refuse | None:
        """A member's report; None when done (or already done: one flag per reporter and
        message), else why it was refused."""
        found = await self.rooms.message(room, message_id)
        if found is None:
            return Refuse("not_found", "no such message")
        limits, counters = self._limits, self._counters
        window = limits.report_window_seconds
        once = f"report:{room.slug}:{conn.user_id}:{message_id}"
        first = await counters.claim(once, REPORT_MEMORY_SECONDS, 1)
        if first is None:
            return None  # reported before: acknowledged again, no second flag
        budget = f"reports:{room.slug}:{conn.user_id}"
        if await counters.claim(budget, window, limits.reports_per_window) is None:
            await counters.release(once, first)
            return Refuse("rate_limited", "too many reports; try again later", None, float(window))
        raised = await self.raise_flag(
            room,
            "report",
            str(found["author"]["id"]),
            reason or "reported",
            found.get("body"),
            message_id=message_id,
            reported_by=conn.user_id,
        )
        if not raised:
            await counters.release(once, first)
            return Refuse(
                "rate_limited", "this room has too many open reports", None, float(window)
            )
        return None

    async def hold(self, draft: Draft, hook: str, reason: str) -> None:
        """Keep a message for review; facilitators see it, the author is told privately
        (the notice names the held message and the `ref` it was sent with).

        A client that resends an unconfirmed message after reconnecting repeats its `ref`:
        the message already held under that ref is named again, not held twice."""
        slug, author_id = draft.room.slug, draft.conn.user_id
        if draft.ref is not None:
            for kept in await self.state.held(slug):
                if kept.get("ref") == draft.ref and kept["author"]["id"] == author_id:
                    await self._held_notice(draft.room, author_id, str(kept["held_id"]), draft.ref)
                    return
        held = {
            "type": "held",
            "held_id": draft.id,
            "author": draft.conn.participant(),
            "username": draft.conn.username,
            "body": draft.body,
            "reason": reason,
            "hook": hook,
            "ts": draft.ts,
        }
        if draft.ref is not None:
            held["ref"] = draft.ref
        await self.state.hold(slug, held)
        await self.rooms.publish(slug, Header(audience="mods"), encode(_for_facilitators(held)))
        await self._held_notice(draft.room, author_id, draft.id, draft.ref)

    async def _held_notice(
        self, room: RoomView, author_id: str, held_id: str, ref: str | None
    ) -> None:
        fields = {"held_id": held_id} | ({"ref": ref} if ref is not None else {})
        text = "Your message is waiting for a facilitator's review."
        await self.notice(room, author_id, "held", text, **fields)

    async def open_items(self, conn: Conn) -> None:
        """Queue open flags and held messages for a facilitator who just entered."""
        for flag in await self.state.flags(conn.room):
            conn.offer(encode(flag))
        for held in await self.state.held(conn.room):
            conn.offer(encode(_for_facilitators(held)))


def _for_facilitators(held: dict[str, Any]) -> dict[str, Any]:
    """A held message as facilitators see it: without the author's `ref`."""
    return {k: v for k, v in held.items() if k != "ref"}
