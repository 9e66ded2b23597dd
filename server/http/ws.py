"""The WebSocket connection loop of `/ws/rooms/{slug}` (PROTOCOL §3).

Accept, then authenticate (Origin for cookies, credentials), check the room and access,
run the agreement step, welcome, and then read frames until the socket closes. Frames go
out through the socket's outbox (`rooms/outbox.py`), whoever sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..language import localizer, translate
from ..ops.logs import log_context
from ..ops.metrics import refused
from ..rooms.access import effective_role, may_enter
from ..rooms.hooks import Gate
from ..rooms.hub import GOING_AWAY, SLOW_CLIENT_CLOSE, Conn
from ..rooms.limits import SocketLimits, UserSockets
from ..rooms.resume import parse_after_seq
from ..rooms.settings import RoomView
from ..store import rooms as room_store
from ..store.engine import without_transaction
from ..store.models import User
from ..wire.errors import Refuse
from ..wire.frames import (
    AcceptAgreement,
    ClientFrame,
    FrameError,
    Ping,
    Send,
    decode_client_frame,
)
from ..wire.out import encode, error_frame
from .auth import Caller, authenticate, must_enrol
from .connections import ABORT
from .errors import dependency_failed, reader_language
from .security import origin_allowed
from .state import Hearth

__all__ = ["room_socket"]


@dataclass(frozen=True, slots=True)
class Refused:
    """A handshake refusal: the close code and reason."""

    code: int
    reason: str


async def _entry_check(
    hearth: Hearth, view: RoomView, user: User, facts: tuple[str | None, bool, int | None]
) -> tuple[RoomView, str | None, int | None] | Refused:
    """(room, room role, accepted agreement version) if the user may enter now."""
    room_role, banned, accepted = facts
    if not may_enter(view, user.is_admin, room_role, banned):
        return Refused(4403, "not allowed in this room")
    for check in hearth.rooms.hooks.door_checks:  # e.g. a removed member's cooling-off time
        closed = await check(view, user.id, user.is_admin)
        if closed is not None:
            return Refused(closed.code, closed.reason)
    return view, room_role, accepted


log = logging.getLogger("hearth.ws")

Gated = Callable[[Conn, RoomView], Awaitable[Gate]]


def _text_of(message: Message) -> str | None:
    """A received ASGI message's text; None for binary; raises WebSocketDisconnect at close."""
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    return text if isinstance(text, str) else None


CLOSE_TIMEOUT = 2.0


async def room_socket(websocket: WebSocket) -> None:
    """Serve one member's socket in one room."""
    hearth: Hearth = websocket.app.state.hearth
    hearth.rooms.handlers += 1  # a drain waits for this handler too (serving.py)
    try:
        await _serve_socket(hearth, websocket)
    finally:
        hearth.rooms.handlers -= 1


async def _serve_socket(hearth: Hearth, websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        admitted = await _handshake(hearth, websocket)
    except Exception as exc:  # the client may retry; a bug is logged as one
        if dependency_failed(exc):
            log.warning("could not check a socket's entry (%s)", type(exc).__name__)
        else:
            log.exception("checking a socket's entry failed")
        admitted = Refused(1011, "the server could not let you in now; try again")
    if isinstance(admitted, Refused):
        reason = translate(admitted.reason, reader_language(websocket))
        await websocket.close(admitted.code, reason.encode()[:123].decode(errors="ignore"))
        return
    # Only the socket's own small state lives on from here (not the ORM rows of the
    # handshake): thousands of idle sockets each keep this frame.
    conn, view, accepted = admitted
    if hearth.rooms.draining:  # the process began shutting down during the handshake
        await websocket.close(1001, "server shutting down: reconnect")
        return
    log_context.set((view.id, conn.user_id))  # this socket's task: on its every log line
    user_sockets: UserSockets = hearth.extras["user_sockets"]
    sends = user_sockets.open(conn.user_id, conn.room)
    if sends is None:
        cap = hearth.settings.limits.sockets_per_user
        await websocket.close(4429, f"too many sockets: at most {cap} at once")
        return
    try:
        await _Session(hearth, websocket, conn, sends).run(view, accepted)
    finally:
        user_sockets.close(conn.user_id, conn.room)


async def _check(
    hearth: Hearth, websocket: WebSocket
) -> tuple[Caller, tuple[RoomView, str | None, int | None]] | Refused:
    """Authenticate (and check the Origin of a cookie) and check entry to the room."""
    # The room's settings first (cached while this process has sockets there; otherwise a
    # checkout of its own, never nested in the one below, which could exhaust the pool).
    view = await hearth.rooms.view(websocket.path_params["slug"])
    # Then one checkout for the session and the room facts: a storm of reconnects pays each
    # round trip (the pool's pre-ping, BEGIN, ROLLBACK) a thousand times over.
    async with hearth.db() as db:
        await without_transaction(db)  # reads only: no BEGIN and ROLLBACK
        caller = await authenticate(hearth, websocket, db)
        if (
            caller is not None
            and caller.by_cookie
            and not origin_allowed(websocket.scope, hearth.settings.allowed_origins)
        ):
            return Refused(4403, "origin refused")
        if caller is None:
            return Refused(4401, "sign in first")
        if await must_enrol(hearth, caller.user, db):
            return Refused(4403, "set up two-step sign-in first")
        if view is None:
            return Refused(4404, "no such room")
        facts = await room_store.entry_facts(db, view.id, caller.user.id)
    entry = await _entry_check(hearth, view, caller.user, facts)
    return entry if isinstance(entry, Refused) else (caller, entry)


async def _handshake(
    hearth: Hearth, websocket: WebSocket
) -> tuple[Conn, RoomView, int | None] | Refused:
    """Who is calling and whether they may enter; their socket's state if so."""
    checked = await _check(hearth, websocket)
    if isinstance(checked, Refused):
        return checked
    caller, entry = checked
    view, room_role, accepted = entry
    user = caller.user
    conn = Conn(
        id=secrets.token_hex(8),
        room=view.slug,
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        is_admin=user.is_admin,
        role=effective_role(user.is_admin, room_role),
        session_id=caller.session.id,
        queue_size=hearth.settings.limits.send_queue_frames,
        language=user.language,
        localizer=localizer(user.language),
    )
    return conn, view, accepted


class _Session:
    """One socket's connection loop."""

    __slots__ = ("conn", "hearth", "limits", "ws")

    def __init__(
        self,
        hearth: Hearth,
        websocket: WebSocket,
        conn: Conn,
        sends: deque[float] | None = None,  # the user's send window in the room (UserSockets)
    ) -> None:
        self.hearth = hearth
        self.ws = websocket
        self.conn = conn
        self.limits = SocketLimits(hearth.settings.limits, time.monotonic(), sends)

    async def run(self, view: RoomView, accepted: int | None) -> None:
        """Read in this task; `Conn.stop` interrupts the reading."""
        me = asyncio.current_task()
        assert me is not None
        # A failed write means the client is gone; stopping cancels this task's read.
        self.conn.queue.attach(self.ws.send_text, lambda: self.conn.stop(1000))
        pending = [False]  # a cancellation asked by `stop` and not yet delivered

        def interrupt() -> None:
            if self.conn.busy and self.conn.close_code == GOING_AWAY:
                return  # shutting down: the frame in hand finishes, then the loop ends
            pending[0] = True
            me.cancel()

        self.conn.on_stop = interrupt
        try:
            await self._read(view, accepted)
        except asyncio.CancelledError:
            if not pending[0]:
                raise  # the server itself is shutting down
            pending[0] = False
            me.uncancel()
        finally:
            self.conn.on_stop = None
            if pending[0]:  # asked while not waiting: take it now so cleanup can await
                try:
                    await asyncio.sleep(0)
                except asyncio.CancelledError:
                    me.uncancel()
            self.conn.on_stop = None
            # Flush what is queued (a last error, the `moderation` frame of a removal, `end`)
            # before closing; not for a client cut off because it stopped reading.
            if self.conn.close_code != SLOW_CLIENT_CLOSE:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._drained(), timeout=0.5)
            # A send still waits on a client that stopped reading: no close frame can reach
            # it, so its connection is dropped at once rather than kept with all it missed.
            stuck = self.conn.close_code == SLOW_CLIENT_CLOSE and not self.conn.queue.drained
            self.conn.queue.close()
            try:
                await self.hearth.rooms.leave(self.conn)
            except Exception:  # Redis down: presence expiry announces the departure later
                log.warning("leaving room %s failed", self.conn.room, exc_info=True)
            abort = self.ws.scope.get("extensions", {}).get(ABORT)
            if stuck and abort is not None:
                abort()
            else:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(
                        self.ws.close(self.conn.close_code, self.conn.close_reason), CLOSE_TIMEOUT
                    )

    async def _drained(self) -> None:
        while not self.conn.queue.drained:
            await asyncio.sleep(0.01)

    async def _receive(self) -> str | None:
        """The next text frame; None for a binary one; raises WebSocketDisconnect at close."""
        return _text_of(await self.ws.receive())

    def _error(self, code: str, message: str, ref: str | None, retry: float | None = None) -> None:
        self.conn.offer(error_frame(code, message, ref, retry))
        if self.limits.error(time.monotonic()):
            self.conn.stop(4429, "too many bad frames")

    async def _read(self, view: RoomView, accepted: int | None) -> None:
        try:
            waited = await self._gates(view, self.hearth.rooms.hooks.arrival_gates)
            if waited is None:
                return
            if view.agreement is not None and accepted != view.agreement_version:
                self.conn.offer(encode({"type": "agreement_required", "agreement": view.agreement}))
                if not await self._await_agreement(view):
                    return
                waited = True
            admitted = await self._gates(view, self.hearth.rooms.hooks.admission_gates)
            if admitted is None:  # e.g. the waiting room of `approval` rooms
                return
            waited = waited or admitted
            if waited:  # time passed: the session, bans and access may have changed
                fresh = await self._recheck()
                if fresh is None:
                    return
                view = fresh
            for check in self.hearth.rooms.hooks.entry_checks:
                refused = await check(self.conn, view)
                if refused is not None:
                    self.conn.stop(*refused)
                    return
            params = self.ws.query_params
            await self.hearth.rooms.enter(
                self.conn, view, parse_after_seq(params.get("after_seq")), params.get("epoch")
            )
            await self._frames()
        except WebSocketDisconnect:
            self.conn.stop(1000)
        except Exception:  # a dependency failed while entering: the client may retry
            log.exception("entering room %s failed", self.conn.room)
            self.conn.stop(1011, "the server could not let you in now; try again")

    async def _gates(self, view: RoomView, gates: list[Gated]) -> bool | None:
        """Run plugged-in gates (e.g. a group that has not met yet): whether the socket
        waited; None if it was closed."""
        waited = False
        pending = list(gates)
        while pending and not self.conn.stopped:
            answer = await pending[0](self.conn, view)
            if answer is None:
                pending.pop(0)
            elif isinstance(answer, tuple):
                self.conn.stop(*answer)
                return None
            else:  # wait for the event, then ask the same gate again
                if not await self._wait_for(answer):
                    return None
                waited = True
        return None if self.conn.stopped else waited

    async def _wait_for(self, event: asyncio.Event) -> bool:
        """Hold the socket (answering pings, refusing other frames) until `event` is set;
        False if the socket closed first."""
        waiter = asyncio.create_task(event.wait())
        try:
            while not self.conn.stopped:
                receiver = asyncio.create_task(self._receive())
                done, _ = await asyncio.wait(
                    {receiver, waiter}, return_when=asyncio.FIRST_COMPLETED
                )
                if waiter in done:
                    receiver.cancel()
                    with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                        await receiver
                    return not self.conn.stopped
                self._before_welcome(receiver.result())
            return False
        finally:
            waiter.cancel()

    async def _recheck(self) -> RoomView | None:
        """Check again, before entering, what the handshake checked."""
        checked = await _check(self.hearth, self.ws)
        if isinstance(checked, Refused):
            signed_out = checked.code == 4401
            self.conn.stop(checked.code, "signed out" if signed_out else checked.reason)
            return None
        caller, (view, room_role, _) = checked
        if caller.session.id != self.conn.session_id:
            self.conn.stop(4401, "signed out")
            return None
        self.conn.role = effective_role(caller.user.is_admin, room_role)
        return view

    def _before_welcome(self, text: str | None) -> AcceptAgreement | None:
        """Frames before `welcome`: ping answered, accept_agreement passed back, others
        refused with `forbidden`, reaching nobody."""
        frame = decode_client_frame(text) if text is not None else None
        if isinstance(frame, Ping):
            self.conn.offer(encode({"type": "pong", **({"ref": frame.ref} if frame.ref else {})}))
        elif isinstance(frame, AcceptAgreement):
            return frame
        elif isinstance(frame, FrameError):
            self._error(frame.code, frame.message, frame.ref)
        else:
            ref = frame.ref if frame is not None else None
            self._error("forbidden", "you have not entered the room yet", ref)
        return None

    async def _await_agreement(self, view: RoomView) -> bool:
        while not self.conn.stopped:
            if self._before_welcome(await self._receive()) is not None:
                async with self.hearth.db() as db:
                    await room_store.accept_agreement(
                        db, view.id, self.conn.user_id, view.agreement_version
                    )
                return True
        return False

    async def _frames(self) -> None:
        rooms, receive = self.hearth.rooms, self.ws.receive
        while not self.conn.stopped:
            text = _text_of(await receive())  # not `_receive`: one frame less per idle socket
            if text is None:
                self._error("invalid", "binary frames are not accepted", None)
                continue
            frame = decode_client_frame(text)
            if isinstance(frame, FrameError):
                if not self.conn.moderator and frame.kind == "mod":
                    # A member's `mod` is forbidden whatever its fields (PROTOCOL §3).
                    self._error("forbidden", "only facilitators may do that", frame.ref)
                else:
                    if frame.kind == "send":  # a malformed send is a refused send
                        refused(frame.code)
                    self._error(frame.code, frame.message, frame.ref)
                continue
            now = time.monotonic()
            if not isinstance(frame, Ping):
                # A person did something: idle time starts again (a client's automatic
                # keep-alive `ping` does not count, or an unattended page never signs out).
                self.hearth.sessions.touch(self.conn.session_id)
                wait = self.limits.frame(now)
                if wait is None and isinstance(frame, Send):
                    wait = self.limits.send(now)
                if wait is not None:
                    if isinstance(frame, Send):
                        refused("rate_limited")
                    self._error("rate_limited", "slow down", frame.ref, wait)
                    continue
            self.conn.busy = True
            try:
                replies = await rooms.handle(self.conn, frame)
            except Exception as exc:
                self._failed(frame, exc)
                continue
            finally:
                self.conn.busy = False
            for reply in replies:
                if isinstance(reply, Refuse):
                    self.conn.offer(reply.frame())
                    if self.limits.error(now):
                        self.conn.stop(4429, "too many bad frames")
                else:
                    self.conn.offer(reply)

    def _failed(self, frame: ClientFrame, exc: Exception) -> None:
        """A frame's handling raised: `unavailable` when a dependency failed, else `internal`
        (a bug), logged without the exception's message (it could quote the frame)."""
        kind = type(frame).__name__
        if dependency_failed(exc):
            log.warning("handling a %s frame: a dependency failed (%s)", kind, type(exc).__name__)
            code, text = "unavailable", "the server could not do that now; try again"
        else:
            log.error("handling a %s frame failed", kind, exc_info=exc)
            code, text = "internal", "the server failed to do that; this is a bug"
        if isinstance(frame, Send):
            refused(code)
        self._error(code, text, frame.ref)
