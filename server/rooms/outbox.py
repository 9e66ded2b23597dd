"""One socket's writes: straight to the socket while it keeps up, queued while it does not.

Writing a frame to a socket whose transport accepts data finishes without waiting (the
ASGI server's `send` only waits while the transport is paused), so the outbox runs the
`send` coroutine right away, in the caller: the hub's fan-out writes every local copy of
a message in one pass, with no task per socket and no task switch per copy. Only when a
`send` has to wait (the client is not reading fast enough) does a drain task take over: it
finishes that send, then writes the frames queued behind it in order. The queue is bounded;
a full queue means the client stopped reading (`put` returns False and the caller cuts it
off, never waiting for it: websockets' broadcast advice).

A `WriteBatch` gathers what a burst of publications puts to one socket: between the burst's
beginning (the pub/sub reader hands over a publication with more already read behind it)
and its end (the reader has delivered all that was buffered, with no await between), an
outbox that would write a frame at once keeps it; a lone publication is written at once.
The end writes each outbox's frames together, in order, in one write to the transport. A
batch also flushes itself at the event loop's next pass, so frames wait one pass at most
even if no reader ever says the burst ended.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Coroutine, Generator, Sequence
from typing import Any

__all__ = ["Outbox", "SendText", "WriteBatch", "WriteText", "WriteTexts"]

SendText = Callable[[str], Coroutine[Any, Any, None]]
# Writes a frame at once if the socket takes it without waiting; False: nothing written.
WriteText = Callable[[str], bool]
# Writes frames at once, in one write, if the socket takes them without waiting; returns
# how many (the first ones) were written.
WriteTexts = Callable[[Sequence[str]], int]

# Frames one outbox keeps in a batch before writing them anyway (a bound on what a long
# burst holds per socket; the write is one system call whatever it carries).
BATCH_FRAMES = 64


class WriteBatch:
    """Frames put to the same socket in one burst leave in one write (module docstring)."""

    __slots__ = ("_handle", "_outboxes", "open")

    def __init__(self) -> None:
        self.open = False  # outboxes keep what they would write at once until the flush
        self._outboxes: list[Outbox] = []
        self._handle: asyncio.Handle | None = None

    def keep(self, outbox: Outbox) -> None:
        """`outbox` holds frames for the flush."""
        self._outboxes.append(outbox)
        if self._handle is None:
            self._handle = asyncio.get_running_loop().call_soon(self.flush)

    def begin(self) -> None:
        """A burst begins: outboxes keep what they would write at once (`Bursts`)."""
        self.open = True

    def end(self) -> None:
        """The burst ended: write what it kept (`Bursts`)."""
        self.flush()

    def flush(self) -> None:
        """Write what every outbox kept, and close the batch."""
        self.open = False
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        outboxes, self._outboxes = self._outboxes, []
        for outbox in outboxes:
            outbox.flush()


class Outbox:
    """A socket's ordered, bounded writes (see the module docstring)."""

    __slots__ = (
        "_batch",
        "_broken",
        "_closed",
        "_drain",
        "_items",
        "_kept",
        "_limit",
        "_send",
        "_write",
        "_write_many",
    )

    def __init__(self, limit: int) -> None:
        # Created when first needed: most sockets never have to queue anything.
        self._items: collections.deque[str] | None = None
        self._limit = limit
        self._send: SendText | None = None
        self._write: WriteText | None = None
        self._write_many: WriteTexts | None = None
        self._batch: WriteBatch | None = None
        self._kept: list[str] | None = None  # frames kept for the batch's flush
        self._broken: Callable[[], object] | None = None
        self._drain: asyncio.Task[None] | None = None
        self._closed = False  # the client is gone or the socket is closing: drop frames

    def attach(
        self,
        send: SendText,
        broken: Callable[[], object],
        write: WriteText | None = None,
        write_many: WriteTexts | None = None,
        batch: WriteBatch | None = None,
    ) -> None:
        """Start writing to a socket through `send`; `broken` is called once a write fails
        (the client is gone). `write`, if given, writes a frame synchronously when the
        socket takes it without waiting (no coroutine per frame), else answers False and
        `send` is used. With `write_many` and `batch`, frames put while the batch is open
        are written together at its flush. Frames queued before are written first."""
        self._send, self._broken, self._write = send, broken, write
        if write_many is not None:
            self._write_many, self._batch = write_many, batch
        if self._items is not None and self._drain is None:
            self._drain = asyncio.get_running_loop().create_task(self._write_queued(None))

    def put(self, text: str) -> bool:
        """Write a frame, or queue it behind a waiting one; False if the queue is full."""
        if self._closed:
            return True
        if self._send is not None and self._drain is None:
            kept = self._kept
            if kept is not None:
                kept.append(text)
                if len(kept) >= self._batch_frames:
                    self.flush()
                return True
            batch = self._batch
            if batch is not None and batch.open:
                self._kept = [text]
                batch.keep(self)
                return True
        return self._put_now(text)

    def flush(self) -> None:
        """Write the frames kept for a batch: in one write if the socket takes them at
        once, else the waiting way, in order."""
        kept, self._kept = self._kept, None
        if not kept or self._closed:
            return
        write_many = self._write_many
        written = write_many(kept) if write_many is not None else 0
        # The rest (the transport is paused, or the client closing) goes the waiting way;
        # a batch keeps no more than the queue holds, so it cannot overflow.
        for text in kept[written:]:
            if not self._put_now(text):
                self._fail()
                return

    @property
    def _batch_frames(self) -> int:
        return min(BATCH_FRAMES, self._limit)

    def _put_now(self, text: str) -> bool:
        """`put`, outside any batch."""
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
        """Nothing kept, queued or being sent."""
        return self._items is None and self._drain is None and self._kept is None

    def close(self) -> None:
        """Stop writing: drop what is queued, cancel a waiting send."""
        self._closed = True
        self._items = None
        # `broken` (and `send`) usually reach back to the socket owning this outbox: kept,
        # they would make it garbage only the cyclic collector frees.
        self._send = self._write = self._write_many = self._broken = None
        self._kept = self._batch = None
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
        self._items = self._kept = None
        self._send = self._write = self._write_many = None
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
