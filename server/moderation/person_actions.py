"""Facilitator actions on one person (PROTOCOL §3): `mute`, `unmute`, `remove`, `ban`,
`unban`, `admit`, `deny` and `lower_hand`. The action table (`actions.py`) has checked that
the actor may act on them and that they are where the action needs them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker

from ..rooms.hub import Conn
from ..rooms.settings import RoomView
from ..store import rooms as room_store
from ..store.engine import DbSession
from ..store.ids import now_ms
from ..store.models import User
from ..wire.errors import Refuse
from ..wire.frames import Mod
from ..wire.out import encode
from .outcomes import TO_ALL, Done, Outcome, seconds
from .reasons import Reasons
from .state import ModerationState

__all__ = ["PersonActions"]

MAX_COOL_DOWN = 7 * 86400
MAX_MUTE = 365 * 86400  # longer is "until unmute"; larger values overflow time arithmetic


class PersonActions:
    """Changes what one person may do in a room, or whether they are in it."""

    def __init__(
        self, db: async_sessionmaker[DbSession], state: ModerationState, reasons: Reasons
    ) -> None:
        self.db = db
        self.state = state
        self.reasons = reasons

    async def mute(self, conn: Conn, view: RoomView, frame: Mod, target: User | None) -> Outcome:
        """Mute them in this room, for `seconds` or until `unmute`."""
        assert target is not None
        muted_for = seconds(frame.seconds, required=False, high=MAX_MUTE)
        if isinstance(muted_for, Refuse):
            return muted_for
        until = now_ms() + muted_for * 1000 if muted_for else None
        await self.state.mute(view.slug, target.id, until)
        return Done(fields={"seconds": muted_for} if muted_for else {}, event={"until": until})

    async def unmute(self, conn: Conn, view: RoomView, frame: Mod, target: User | None) -> Outcome:
        """Let them send again."""
        assert target is not None
        await self.state.unmute(view.slug, target.id)
        return Done()

    async def remove(self, conn: Conn, view: RoomView, frame: Mod, target: User | None) -> Outcome:
        """`remove` (with an optional cooling-off time) and `ban`."""
        assert target is not None
        banning = frame.action == "ban"
        reason = frame.reason or ""
        done = Done(fields={"reason": reason} if frame.reason else {})
        cool_down: int | Refuse | None = None
        if not banning and frame.seconds is not None:
            cool_down = seconds(frame.seconds, required=True, high=MAX_COOL_DOWN)
        if isinstance(cool_down, Refuse):
            return cool_down
        await self.state.revoke(view.slug, target.id)
        await self.state.stop_waiting(view.slug, target.id)
        if banning:
            async with self.db() as db:
                sealed = self.reasons.seal(frame.reason)
                await room_store.ban(db, view.id, target.id, conn.user_id, sealed)
        elif cool_down is not None:
            await self.state.cool_down(view.slug, target.id, cool_down)
            done.fields["seconds"] = cool_down
        done.event["close"] = [4408, reason or ("banned" if banning else "removed")]
        return done

    async def unban(self, conn: Conn, view: RoomView, frame: Mod, target: User | None) -> Outcome:
        """Let a banned person enter again."""
        assert target is not None
        async with self.db() as db:
            await room_store.unban(db, view.id, target.id)
        return Done()

    async def admit(self, conn: Conn, view: RoomView, frame: Mod, target: User | None) -> Outcome:
        """Let them in from the waiting room."""
        assert target is not None
        await self.state.stop_waiting(view.slug, target.id)
        await self.state.admit(view.slug, target.id)
        return Done()

    async def deny(self, conn: Conn, view: RoomView, frame: Mod, target: User | None) -> Outcome:
        """Turn them away from the waiting room; its event closes their sockets with 4403."""
        assert target is not None
        await self.state.stop_waiting(view.slug, target.id)
        return Done(event={"close": [4403, frame.reason or "not admitted"]})

    async def lower_hand(
        self, conn: Conn, view: RoomView, frame: Mod, target: User | None
    ) -> Outcome:
        """Lower their raised hand, for everyone to see."""
        assert target is not None
        await self.state.set_hand(view.slug, target.id, False)
        lowered = encode({"type": "hand", "user_id": target.id, "raised": False})
        return Done(frames=[(TO_ALL, lowered)])
