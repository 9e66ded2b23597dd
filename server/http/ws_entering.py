"""The connection loop's side of entering a room: performs each action the pure machine
`rooms/entering.py` asks for (ask a gate, listen for frames and events, record the
agreement's acceptance, re-check the handshake, run the entry checks) and feeds the outcome
back, until `welcome` or a close."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..rooms.access import effective_role
from ..rooms.entering import (
    Action,
    AskCheck,
    AskGate,
    Enter,
    Entering,
    Listen,
    Recheck,
    Reply,
    StoreAcceptance,
    agreement_due,
)
from ..rooms.hub import Conn
from ..rooms.settings import RoomView
from ..store import rooms as room_store
from ..wire.errors import Close, Refuse
from .state import Hearth
from .ws_handshake import check_entry

__all__ = ["EnteringSocket", "text_of"]


def text_of(message: Message) -> str | None:
    """A received ASGI message's text; None for binary; raises WebSocketDisconnect at close."""
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    return text if isinstance(text, str) else None


class EnteringSocket:
    """Takes one socket from its handshake to `welcome` by driving `Entering`."""

    __slots__ = ("conn", "hearth", "refuse", "view", "ws")

    def __init__(
        self,
        hearth: Hearth,
        websocket: WebSocket,
        conn: Conn,
        refuse: Callable[[Refuse], None],  # sends an error frame, counting it against limits
    ) -> None:
        self.hearth = hearth
        self.ws = websocket
        self.conn = conn
        self.refuse = refuse
        self.view: RoomView | None = None

    async def run(self, view: RoomView, accepted: int | None) -> RoomView | None:
        """The room to enter (as last checked), or None when the socket was stopped.

        A socket stopped on the way (closed, signed out, removed) goes no further; once
        the entry checks have begun it enters (and leaves at once), so that what a check
        took (a seat) is given back by its departure."""
        self.view = view
        hooks = self.hearth.rooms.hooks
        entering = Entering(
            len(hooks.arrival_gates),
            len(hooks.admission_gates),
            len(hooks.entry_checks),
            agreement_due(view, accepted),
        )
        action = entering.start()
        while True:
            self._send(entering.replies())
            if isinstance(action, Enter):
                return self.view
            if isinstance(action, Close):
                self.conn.stop(*action)
                return None
            if self.conn.stopped and not isinstance(action, AskCheck):
                return None
            action = await self._perform(entering, action, self.view)

    async def _perform(self, entering: Entering, action: Action, view: RoomView) -> Action:
        hooks, conn = self.hearth.rooms.hooks, self.conn
        match action:
            case AskGate(stage="arrival", index=index):
                return entering.answered(await hooks.arrival_gates[index](conn, view))
            case AskGate(index=index):  # e.g. the waiting room (moderation/door.py)
                return entering.answered(await hooks.admission_gates[index](conn, view))
            case Listen(event=event):
                return await self._listen(entering, event)
            case StoreAcceptance():
                async with self.hearth.db() as db:
                    await room_store.accept_agreement(
                        db, view.id, conn.user_id, view.agreement_version
                    )
                return entering.stored()
            case Recheck():
                return await self._recheck(entering)
            case AskCheck(index=index):
                return entering.checked(await hooks.entry_checks[index](conn, view))
        raise AssertionError(f"no action {action!r} to perform")

    def _send(self, replies: list[Reply | Refuse]) -> None:
        for reply in replies:
            if isinstance(reply, Reply):
                self.conn.offer(reply.frame)
            else:
                self.refuse(reply)

    async def _receive(self) -> str | None:
        return text_of(await self.ws.receive())

    async def _listen(self, entering: Entering, event: asyncio.Event | None) -> Action:
        """One frame from the client, or (first) the awaited event set."""
        if event is None:
            return entering.received(await self._receive())
        waiter = asyncio.ensure_future(event.wait())
        receiver = asyncio.ensure_future(self._receive())
        try:
            done, _ = await asyncio.wait({receiver, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            if not receiver.done():
                receiver.cancel()
        if waiter in done:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                await receiver
            return entering.event_set()
        return entering.received(receiver.result())

    async def _recheck(self, entering: Entering) -> Action:
        """Check again, before entering, what the handshake checked; refresh the role."""
        checked = await check_entry(self.hearth, self.ws)
        if isinstance(checked, Close):
            return entering.rechecked(checked)
        caller, view, facts = checked
        if caller.session.id != self.conn.session_id:
            return entering.rechecked(None, same_session=False)
        self.conn.role = effective_role(caller.user.is_admin, facts.role)
        self.view = view
        return entering.rechecked(None)
