"""The WebSocket connection loop of `/ws/rooms/{slug}` (PROTOCOL §3).

Accept, then the handshake (`ws_handshake.py`: credentials, Origin, the room and access),
then entering (`ws_entering.py` driving `rooms/entering.py`: gates, agreement, waiting room,
up to `welcome`), and then read frames until the socket closes. Frames go out through the
socket's outbox (`rooms/outbox.py`), whoever sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from starlette.websockets import WebSocket, WebSocketDisconnect

from ..language import translate
from ..ops.logs import log_context
from ..ops.metrics import refused
from ..rooms.hub import GOING_AWAY, SLOW_CLIENT_CLOSE, Conn
from ..rooms.limits import SendWindow, SocketLimits, UserSockets
from ..rooms.resume import parse_after_seq
from ..rooms.settings import RoomView
from ..wire.errors import Close, Refuse
from ..wire.frames import ClientFrame, FrameError, Ping, Send, decode_client_frame
from .connections import ABORT, WRITE_TEXT, WRITE_TEXTS
from .errors import dependency_failed, reader_language
from .state import Hearth
from .ws_entering import EnteringSocket, text_of
from .ws_handshake import handshake

__all__ = ["room_socket"]

log = logging.getLogger("hearth.ws")

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
        admitted = await handshake(hearth, websocket)
    except Exception as exc:  # the client may retry; a bug is logged as one
        if dependency_failed(exc):
            log.warning("could not check a socket's entry (%s)", type(exc).__name__)
        else:
            log.exception("checking a socket's entry failed")
        admitted = Close(1011, "the server could not let you in now; try again")
    if isinstance(admitted, Close):
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
    hearth.rooms.connected.add(conn)
    try:
        await _Session(hearth, websocket, conn, sends).run(view, accepted)
    finally:
        hearth.rooms.connected.discard(conn)
        user_sockets.close(conn.user_id, conn.room)


class _Session:
    """One socket's connection loop."""

    __slots__ = ("conn", "hearth", "limits", "ws")

    def __init__(
        self,
        hearth: Hearth,
        websocket: WebSocket,
        conn: Conn,
        sends: SendWindow | None = None,  # the user's send window in the room (UserSockets)
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
        # Hearth's uvicorn protocol writes frames without a coroutine (absent elsewhere).
        extensions = self.ws.scope.get("extensions", {})
        self.conn.queue.attach(
            self.ws.send_text,
            lambda: self.conn.stop(1000),
            extensions.get(WRITE_TEXT),
            extensions.get(WRITE_TEXTS),
            self.hearth.rooms.hub.batch,
        )
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
                    async with asyncio.timeout(0.5):
                        await self._drained()
            # A send still waits on a client that stopped reading: no close frame can reach
            # it, so its connection is dropped at once rather than kept with all it missed.
            stuck = self.conn.close_code == SLOW_CLIENT_CLOSE and not self.conn.queue.drained
            self.conn.queue.close()
            # Closed before the departure is recorded: a member sent away by a drain
            # reconnects elsewhere at once, not after this process's bookkeeping (which
            # then finds them present again and announces nothing).
            await self._close(stuck)
            await self._leave()

    async def _leave(self) -> None:
        """Record the departure; what cannot be recorded, presence expiry announces later."""
        try:
            await self.hearth.rooms.leave(self.conn)
        except asyncio.CancelledError:
            if not self.hearth.rooms.draining:
                raise
            # The server's graceful shutdown ran out while this departure waited its turn:
            # the drain counts these in one line (Rooms.drain); nothing else to do here.
        except Exception as exc:
            if dependency_failed(exc):
                log.warning("leaving a room: a dependency failed (%s)", type(exc).__name__)
            else:
                log.exception("leaving room %s failed", self.conn.room)

    async def _close(self, stuck: bool) -> None:
        abort = self.ws.scope.get("extensions", {}).get(ABORT)
        if stuck and abort is not None:
            abort()
            return
        # asyncio.timeout, not wait_for: wait_for's task would keep the close's exception
        # (a client already gone), whose traceback holds wait_for's frame holding the task,
        # a cycle per departing socket for the cyclic collector.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self.ws.close(self.conn.close_code, self.conn.close_reason)

    async def _drained(self) -> None:
        while not self.conn.queue.drained:
            await asyncio.sleep(0.01)

    def _refuse(self, refusal: Refuse) -> None:
        """Send an error frame; too many of them close the socket (4429)."""
        self.conn.offer(refusal.frame())
        if self.limits.error(time.monotonic()):
            self.conn.stop(4429, "too many bad frames")

    async def _read(self, view: RoomView, accepted: int | None) -> None:
        try:
            entering = EnteringSocket(self.hearth, self.ws, self.conn, self._refuse)
            entered = await entering.run(view, accepted)
            if entered is None:
                return
            params = self.ws.query_params
            await self.hearth.rooms.enter(
                self.conn, entered, parse_after_seq(params.get("after_seq")), params.get("epoch")
            )
            await self._frames()
        except WebSocketDisconnect:
            self.conn.stop(1000)
        except Exception:  # a dependency failed while entering: the client may retry
            log.exception("entering room %s failed", self.conn.room)
            self.conn.stop(1011, "the server could not let you in now; try again")

    async def _frames(self) -> None:
        rooms, receive = self.hearth.rooms, self.ws.receive
        while not self.conn.stopped:
            text = text_of(await receive())  # no helper coroutine: one frame less per idle socket
            frame = self._decoded(text)
            if frame is None:
                continue
            now = time.monotonic()
            if not isinstance(frame, Ping) and self._over_limits(frame, now):
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
                    self._refuse(reply)
                else:
                    self.conn.offer(reply)

    def _decoded(self, text: str | None) -> ClientFrame | None:
        """The frame, or None when it was refused (binary, malformed, a member's `mod`)."""
        if text is None:
            self._refuse(Refuse("invalid", "binary frames are not accepted"))
            return None
        frame = decode_client_frame(text)
        if not isinstance(frame, FrameError):
            return frame
        if not self.conn.moderator and frame.kind == "mod":
            # A member's `mod` is forbidden whatever its fields (PROTOCOL §3).
            self._refuse(Refuse("forbidden", "only facilitators may do that", frame.ref))
        else:
            if frame.kind == "send":  # a malformed send is a refused send
                refused(frame.code)
            self._refuse(Refuse(frame.code, frame.message, frame.ref))
        return None

    def _over_limits(self, frame: ClientFrame, now: float) -> bool:
        """Whether a person's frame (not a keep-alive `ping`) is over the socket's rate
        limits (then refused with `rate_limited`)."""
        # A person did something: idle time starts again (a client's automatic keep-alive
        # `ping` does not count, or an unattended page never signs out).
        self.hearth.sessions.touch(self.conn.session_id)
        wait = self.limits.frame(now)
        if wait is None and isinstance(frame, Send):
            wait = self.limits.send(now)
        if wait is None:
            return False
        if isinstance(frame, Send):
            refused("rate_limited")
        self._refuse(Refuse("rate_limited", "slow down", frame.ref, wait))
        return True

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
        self._refuse(Refuse(code, text, frame.ref))
