"""uvicorn's protocols with Hearth's guards: what a client may make the server hold before a
request reaches a route, and a way to drop a WebSocket client that stopped reading.

uvicorn bounds the request line and headers in bytes (h11's `max_incomplete_event_size`)
but reads them for as long as the client trickles them in, and counts no headers:
`GuardedH11Protocol` gives each request head `request_head_seconds` from the connection's
(or the request's) first byte and its body `request_body_seconds`, and `HeaderCount` refuses
more than `max_headers` headers (431 for HTTP; a refused upgrade, 403, for WebSockets). A
route reading a trickled body answers 408 (`bodies.py`) just before the protocol would drop
the connection.

`AbortableWebSocketProtocol` offers the app, as the ASGI extension `hearth.abort`, a way
to drop a connection at once: a client that stopped reading cannot take a close frame, and
closing its transport politely would keep the socket (and megabytes unsent) until it reads.
It also offers `hearth.write_text`: a frame written synchronously when the ASGI send would
not wait anyway, so that the fan-out of a message to a room's local sockets costs no
coroutine (nor Starlette's and the exception middleware's layers) per copy, and
`hearth.write_texts`: several frames for one socket in one write to the transport (the
frames of a burst of publications, rooms/outbox.py's `WriteBatch`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any, Literal

import h11
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State

__all__ = [
    "ABORT",
    "WRITE_TEXT",
    "WRITE_TEXTS",
    "AbortableWebSocketProtocol",
    "GuardedH11Protocol",
    "HeaderCount",
    "serialized",
]

ABORT = "hearth.abort"  # the scope extension: a callable dropping the connection at once
# The scope extension writing a text frame without a coroutine per frame (see write_text).
WRITE_TEXT = "hearth.write_text"
# The same for several frames in one write to the transport (see write_texts).
WRITE_TEXTS = "hearth.write_texts"
BODY_GRACE_SECONDS = 2.0


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, dropping a connection whose request head does not arrive whole
    within `request_head_seconds`, or whose body does not within `request_body_seconds`
    (plus a grace, so that a route reading the body answers 408 first). Both are set as
    class attributes when the server is built."""

    request_head_seconds: float = 10.0
    request_body_seconds: float = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        self._upgraded = False  # handed to the WebSocket protocol: no more requests here

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm(self.request_head_seconds)

    def data_received(self, data: bytes) -> None:
        before = self.conn.their_state
        if self._timer is None and before is h11.IDLE:
            self._arm(self.request_head_seconds)  # the next request on a kept-alive connection
        super().data_received(data)
        after = self.conn.their_state
        if self._upgraded:
            self._disarm()
        elif after is h11.SEND_BODY:
            if before is not h11.SEND_BODY:
                self._arm(self.request_body_seconds + BODY_GRACE_SECONDS)
        elif after is not h11.IDLE:  # the request is in (or an upgrade, or an error)
            self._disarm()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        # h11 still waits for the (empty) body of the upgrade request: without this, the
        # body timer would go on to drop the WebSocket.
        self._upgraded = True
        self._disarm()
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _too_slow(self) -> None:
        self._timer = None
        waiting = not self._upgraded and self.conn.their_state in (h11.IDLE, h11.SEND_BODY)
        if waiting and not self.transport.is_closing():
            self.transport.abort()  # a request that never arrived whole: nothing to answer


class HeaderCount:
    """Refuses a request or upgrade carrying more than `max_headers` headers."""

    def __init__(self, app: ASGIApp, max_headers: int) -> None:
        self.app = app
        self.max_headers = max_headers

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] in ("http", "websocket") and len(scope["headers"]) > self.max_headers:
            return self._refuse(scope, send)
        # Handed through, not awaited here: a WebSocket's whole life is one call, and a frame
        # of this middleware would stay on every socket's stack (as in security.py).
        return self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = (
            b'{"error":{"code":"too_large","message":"more than '
            + str(self.max_headers).encode()
            + b' headers"}}'
        )
        await send(
            {
                "type": "http.response.start",
                "status": 431,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class AbortableWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, offering `scope["extensions"]["hearth.abort"]`,
    `["hearth.write_text"]` and `["hearth.write_texts"]`."""

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope: Any = getattr(self, "scope", None)  # absent when the upgrade was refused
        if scope is not None:
            scope["extensions"][ABORT] = self.transport.abort
            scope["extensions"][WRITE_TEXT] = self.write_text
            scope["extensions"][WRITE_TEXTS] = self.write_texts

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        # The bound method in our own scope is a cycle (protocol → scope → method →
        # protocol) that only the cyclic collector would free; once disconnected it
        # writes nothing anyway.
        scope: Any = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][WRITE_TEXT] = _nothing_written
            scope["extensions"][WRITE_TEXTS] = _nothing_written

    def write_text(self, text: str) -> bool:
        """Write one text frame now, exactly as the ASGI `websocket.send` would, when that
        send would not wait: accepted, no close sent, the transport neither paused nor
        closing. False (nothing written) otherwise: the caller awaits the ASGI send, which
        waits for the transport or raises the disconnection as it always does."""
        return self.write_texts((text,)) == 1

    def write_texts(self, texts: Sequence[str]) -> int:
        """Write text frames, in order, in one write to the transport (one system call),
        as `write_text` writes one; returns how many were written (the first ones): 0 when
        the send would wait, fewer when the client's close came in meanwhile."""
        if (
            self.close_sent
            or self.disconnected
            or not self.handshake_complete
            or self.initial_response is not None
            or not self.writable.is_set()
            or self.transport.is_closing()
        ):
            return 0
        conn = self.conn
        if conn.extensions or conn.debug:  # each frame its own (never with Hearth's settings)
            return self._send_texts(texts)
        if conn.state is not State.OPEN or conn.expect_continuation_frame:
            return 0  # the client's close came in: the ASGI send reports it
        # What the library would write for each, made once per frame for every socket the
        # fan-out writes it to (a server's frames are unmasked: the same bytes for all).
        self.transport.write(b"".join([*conn.data_to_send(), *map(serialized, texts)]))
        return len(texts)

    def _send_texts(self, texts: Sequence[str]) -> int:
        conn = self.conn
        written = 0
        try:
            for text in texts:
                conn.send_text(text.encode())
                written += 1
        except InvalidState:  # the client's close came in: the ASGI send reports it
            pass
        if written:
            self.transport.write(b"".join(conn.data_to_send()))
        return written


# Serialized text frames by their text: a frame is made once and written to every socket
# of its room (and to each socket its batch holds). Emptied when full: the frames of the
# last few hundred publications are all that is ever reused. Long frames (a welcome with
# its history, a page of a transcript) go to one socket and are not kept.
_FRAMES: dict[str, bytes] = {}
_FRAMES_KEPT = 256
_FRAME_KEPT_CHARS = 16_384


def serialized(text: str) -> bytes:
    """The bytes of a server's text frame carrying `text`, as websockets makes them."""
    data = _FRAMES.get(text)
    if data is None:
        data = Frame(Opcode.TEXT, text.encode()).serialize(mask=False)
        if len(text) <= _FRAME_KEPT_CHARS:
            if len(_FRAMES) >= _FRAMES_KEPT:
                _FRAMES.clear()
            _FRAMES[text] = data
    return data


def _nothing_written(text: str | Sequence[str]) -> Literal[False]:
    """`hearth.write_text(s)` once the connection is lost: the ASGI send reports it."""
    return False
