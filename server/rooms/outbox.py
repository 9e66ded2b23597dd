"""One socket's writes: straight to the socket while it keeps up, queued while it does not.

Writing a frame to a socket whose transport accepts data finishes without waiting (the
ASGI server's `send` only waits while the transport is paused), so the outbox runs the
`send` coroutine right away, in the caller: the hub's fan-out writes every local copy of
a message in one pass, with no task per socket and no task switch per copy. Only when a
`send` has to wait (the client is not reading fast enough) does a drain task take over: it
finishes that send, then writes the frames queued behind it in order. The queue is bounded;
a full queue means the client stopped reading (`put` returns False and the caller cuts it
off, never waiting for it: websockets' broadcast advice).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Coroutine, Generator
from typing import Any

__all__ = ["Outbox", "SendText", "WriteText"]

SendText = Callable[[str], Coroutine[Any, Any, None]]
# Writes a frame at once if the socket takes it without waiting; False: nothing written.
WriteText = Callable[[str], bool]


class Outbox:
    """A socket's ordered, bounded writes (see the module docstring)."""

    __slots__ = ("_broken", "_closed", "_drain", "_items", "_limit", "_send", "_write")

    def __init__(self, limit: int) -> None:
        # Created when first needed: most sockets never have to queue anything.
        self._items: collections.deque[str] | None = None
        self._limit = limit
        self._send: SendText | None = None
        self._write: WriteText | None = None
        self._broken: Callable[[], object] | None = None
        self._drain: asyncio.Task[None] | None = None
        self._closed = False  # the client is gone or the socket is closing: drop frames

    def attach(
        self, send: SendText, broken: Callable[[], object], write: WriteText | None = None
    ) -> None:
        """Start writing to a socket through `send`; `broken` is called once a write fails
        (the client is gone). `write`, if given, writes a frame synchronously when the
        socket takes it without waiting (no coroutine per frame), else answers False and
        `send` is used. Frames queued before are written first."""
        self._send, self._broken, self._write = send, broken, write
        if self._items is not None and self._drain is None:
            self._drain = asyncio.get_running_loop().create_task(self._write_queued(None))

    def put(self, text: str) -> bool:
        """Write a frame, or queue it behind a waiting one; False if the queue is full."""
        if self._closed:
            return True
        send = self._send
        if send is None or self._drain is not None:
            if self._items is None:
                self._items = collections.deque()
            elif len(self._items) >= self._limit:
                return False
            self._items.append(text)
            return True
        write = self._write
        if write is not None and write(text):
            return True
        coro = send(text)
        try:
            waiting_on = coro.send(None)
        except StopIteration:
            return True
        except Exception:
            self._fail()
            return True
        # The transport is paused: a task finishes this send, then the queue, in order.
        self._drain = asyncio.get_running_loop().create_task(
            self._write_queued(_Resumed(coro, waiting_on))
        )
        return True

    @property
    def drained(self) -> bool:
        """Nothing queued and nothing being sent."""
        return self._items is None and self._drain is None

    def close(self) -> None:
        """Stop writing: drop what is queued, cancel a waiting send."""
        self._closed = True
        self._items = None
        # `broken` (and `send`) usually reach back to the socket owning this outbox: kept,
        # they would make it garbage only the cyclic collector frees.
        self._send = self._write = self._broken = None
        if self._drain is not None:
            self._drain.cancel()
            self._drain = None

    async def _write_queued(self, resumed: _Resumed | None) -> None:
        try:
            if resumed is not None:
                await resumed
            while self._items is not None and self._send is not None:
                text = self._items.popleft()
                if not self._items:
                    self._items = None
                await self._send(text)
        except asyncio.CancelledError:
            raise
        except Exception:
            self._fail()
        finally:
            if self._drain is asyncio.current_task():
                self._drain = None

    def _fail(self) -> None:
        self._closed = True
        self._items = None
        self._send = self._write = None
        broken, self._broken = self._broken, None
        if broken is not None:
            broken()


class _Resumed:
    """Awaitable that finishes a coroutine started by hand (`coro.send(None)`) and suspended
    on `waiting_on` (the future it yielded): the task awaiting this is handed that future,
    and resumes or throws into the coroutine when it is done, as if it had run it all along.
    (`yield from coro` cannot: it would resume the coroutine before its future is done.)"""

    __slots__ = ("_coro", "_waiting_on")

    def __init__(self, coro: Coroutine[Any, Any, None], waiting_on: Any) -> None:
        self._coro = coro
        self._waiting_on = waiting_on

    def __await__(self) -> Generator[Any, None, None]:
        coro, waiting_on = self._coro, self._waiting_on
        while True:
            try:
                yield waiting_on
            except BaseException as exc:  # cancelled while waiting: the send sees it
                try:
                    waiting_on = coro.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    waiting_on = coro.send(None)
                except StopIteration:
                    return
