"""A lean WebSocket client (RFC 6455) for the load generator: one asyncio.Protocol per socket.

The `websockets` asyncio client costs a task, futures and a message assembler per frame; at
tens of thousands of deliveries a second on a two-core machine that is as much CPU as the
servers under test, and the load generator would be measuring itself. This client parses
frames straight from the transport's buffer and hands each text payload (bytes) to a
callback; it uses `websockets` for the handshake key and the C masking routine. It sends only
unfragmented text frames, masked as a client must (§5.3), and answers pings and closes.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import cast
from urllib.parse import urlsplit

from websockets.utils import accept_key, generate_key

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - the C extension ships in websockets' wheels
    from websockets.utils import apply_mask

__all__ = ["LeanSocket", "lean_connect"]

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
MAX_HEAD = 65536
MAX_FRAME = 1 << 22

TextHandler = Callable[["LeanSocket", bytes], None]


def _frame(opcode: int, payload: bytes) -> bytes:
    """One final, masked client frame (§5.2)."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    mask = os.urandom(4)
    return head + mask + apply_mask(payload, mask)


class LeanSocket(asyncio.Protocol):
    """One client WebSocket; `on_text(socket, payload)` is called for every text message."""

    def __init__(self, request: bytes, key: str, on_text: TextHandler) -> None:
        loop = asyncio.get_running_loop()
        self._request = request
        self._accept = accept_key(key).encode()
        self.on_text = on_text
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.open = False
        self.close_code: int | None = None  # from the server's close frame; 1006 if none
        self.closing = False  # we started the closing handshake
        self.owner: object = None  # whatever the caller attaches
        self._buf = bytearray()
        self._fragments: list[bytes] | None = None
        self._fragment_op = 0

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but they are ones.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self._request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        if self.close_code is None:
            self.close_code = 1006
        if not self.opened.done():
            why = f"connection lost before the handshake: {exc}"
            self.opened.set_exception(ConnectionError(why))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        self._buf += data
        if not self.open:
            if not self._handshake():
                return
        self._parse()

    # -- reading ---------------------------------------------------------------------------

    def _fail(self, why: str) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(why))
        if self.close_code is None:
            self.close_code = 1002
        if self.transport is not None:
            self.transport.abort()

    def _handshake(self) -> bool:
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buf) > MAX_HEAD:
                self._fail("handshake response too long")
            return False
        head = bytes(self._buf[:end]).decode("latin-1").split("\r\n")
        del self._buf[: end + 4]
        status = head[0].split(" ", 2)
        if len(status) < 2 or status[1] != "101":
            self._fail(f"handshake refused: {head[0]}")
            return False
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("sec-websocket-accept", "").encode() != self._accept:
            self._fail("bad Sec-WebSocket-Accept")
            return False
        self.open = True
        self.opened.set_result(None)
        return True

    def _parse(self) -> None:
        buf = self._buf
        n = len(buf)
        pos = 0
        while n - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            if b1 & 0x80:
                self._fail("masked frame from the server")  # §5.1
                return
            found = _extent(buf, pos, n, b1 & 0x7F)
            if found is None:
                break
            start, length = found
            if length > MAX_FRAME:
                self._fail("frame too large")
                return
            end = start + length
            if end > n:
                break
            pos = end
            if self._dispatch(b0, bytes(buf[start:end])):  # a close: nothing more to read
                pos = n
                break
        if pos:
            del buf[:pos]

    def _dispatch(self, b0: int, payload: bytes) -> bool:
        """Handle one frame; True if it was the close frame."""
        opcode = b0 & 0x0F
        if opcode == OP_TEXT and b0 & 0x80:
            self.on_text(self, payload)
        elif opcode in (OP_TEXT, OP_BINARY, OP_CONT):
            self._fragment(opcode, bool(b0 & 0x80), payload)
        elif opcode == OP_PING:
            self._write(OP_PONG, payload)
        elif opcode == OP_CLOSE:
            self._on_close(payload)
            return True
        return False

    def _fragment(self, opcode: int, fin: bool, payload: bytes) -> None:
        if opcode != OP_CONT:
            self._fragments, self._fragment_op = [payload], opcode
        elif self._fragments is not None:
            self._fragments.append(payload)
        if fin and self._fragments is not None:
            whole = b"".join(self._fragments)
            self._fragments = None
            if self._fragment_op == OP_TEXT:
                self.on_text(self, whole)

    def _on_close(self, payload: bytes) -> None:
        self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
        if not self.closing:
            self._write(OP_CLOSE, payload[:2])
        self.open = False
        if self.transport is not None:
            self.transport.close()

    # -- writing ---------------------------------------------------------------------------

    def _write(self, opcode: int, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_frame(opcode, payload))

    def send_text(self, text: str) -> None:
        """Queue one text message; raises ConnectionError once the socket is closing."""
        if not self.open:
            raise ConnectionError(f"socket closed ({self.close_code})")
        self._write(OP_TEXT, text.encode())

    async def close(self, code: int = 1000, timeout: float = 2.0) -> None:
        """Closing handshake (§7.1.2), then drop the connection if the server lingers."""
        if self.open:
            self.closing = True
            self._write(OP_CLOSE, code.to_bytes(2, "big"))
            self.open = False
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), timeout)
        except TimeoutError:
            if self.transport is not None:
                self.transport.abort()


async def lean_connect(
    url: str, on_text: TextHandler, headers: dict[str, str] | None = None, timeout: float = 30
) -> LeanSocket:
    """Open `ws://host:port/path` and complete the opening handshake (§4.1)."""
    parts = urlsplit(url)
    if parts.scheme != "ws" or parts.hostname is None:
        raise ValueError(f"only ws:// URLs: {url}")
    port = parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    key = generate_key()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {parts.hostname}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    loop = asyncio.get_running_loop()
    _, sock = await asyncio.wait_for(
        loop.create_connection(lambda: LeanSocket(request, key, on_text), parts.hostname, port),
        timeout,
    )
    try:
        await asyncio.wait_for(asyncio.shield(sock.opened), timeout)
    except BaseException:
        if sock.transport is not None:
            sock.transport.abort()
        raise
    return sock


def _extent(buf: bytearray, pos: int, n: int, length: int) -> tuple[int, int] | None:
    """(payload start, payload length) of the frame at `pos` whose 7-bit length field is
    `length` (RFC 6455 §5.2); None while its extended length has not all arrived."""
    if length == 126:
        if n - pos < 4:
            return None
        return pos + 4, int.from_bytes(buf[pos + 2 : pos + 4], "big")
    if length == 127:
        if n - pos < 10:
            return None
        return pos + 10, int.from_bytes(buf[pos + 2 : pos + 10], "big")
    return pos + 2, length
