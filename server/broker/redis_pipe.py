"""One Redis connection with many commands in flight: the hot path's way past the pool.

redis-py spends ~60–120 µs of client CPU per pooled command (taking a connection from the
pool, retries, timeouts, releasing it), several times what Redis spends on the command. Redis
answers the commands of one connection in the order they came, so one connection can carry
many at once: a command is written the moment it is asked, its reply's future queued in the
same step (no await between, so the order of futures is the order on the wire), and one
reader per connection resolves the futures in order. redis-py's own `Connection` still does
the connecting (AUTH, SELECT, TLS), the RESP parsing and the encoding.

Failures keep today's meaning (`ops/dependencies.py: dependency_failed`): an error reply
fails only its own caller; a lost connection, or no reply within the timeout while commands
wait, fails every waiting caller with redis-py's `ConnectionError`/`TimeoutError` and drops
the connection, and the next command connects again. The reader waits on an idle connection
without a deadline, so quiet times never kill it, and notices a connection lost meanwhile.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import math
from collections.abc import Callable
from typing import Any

from redis import exceptions as errors
from redis.asyncio.connection import AbstractConnection
from redis.commands.core import AsyncScript

__all__ = ["CommandPipe", "run_script"]

IN_FLIGHT_MAX = 1000


class _Line:
    """One connected connection, the futures of its unanswered commands, and its reader."""

    def __init__(self, conn: AbstractConnection, reply_timeout: float) -> None:
        self.conn = conn
        self.waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        self.lost = False
        self._reply_timeout = reply_timeout
        self._deadline: asyncio.Timeout | None = None
        self._disconnecting: asyncio.Task[None] | None = None
        self._reader = asyncio.get_running_loop().create_task(self._read())

    def send(self, args: tuple[Any, ...]) -> asyncio.Future[Any]:
        """Queue the reply's future and write the command in one step (no await between)."""
        packed = self.conn.pack_command(*args)  # first: an argument it refuses queues nothing
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if not self.waiting:
            self._arm()
        self.waiting.append(future)
        self.conn._writer.writelines(packed)  # type: ignore[union-attr]
        return future

    async def drain(self) -> None:
        """Wait while the socket's buffer is full; a write that fails drops the line."""
        try:
            await self.conn._writer.drain()  # type: ignore[union-attr]
        except OSError as exc:
            self.drop(errors.ConnectionError(f"Error while writing to Redis: {exc}"))

    def _arm(self) -> None:
        # A deadline only while some command waits: an idle connection is never timed out.
        # One that already fired stays fired: the reader is about to drop the line.
        if self._deadline is not None and not self._deadline.expired() and not self.lost:
            when = asyncio.get_running_loop().time() + self._reply_timeout
            self._deadline.reschedule(when)

    async def _read(self) -> None:
        try:
            async with asyncio.timeout(None) as deadline:
                self._deadline = deadline
                if self.waiting:  # sent before this task first ran
                    self._arm()
                while True:
                    await self._answer()
        except asyncio.CancelledError:
            raise
        except (errors.ConnectionError, errors.TimeoutError) as exc:
            self.drop(exc)
        except TimeoutError:  # the deadline, not redis-py's TimeoutError
            self.drop(errors.TimeoutError(f"No reply from Redis within {self._reply_timeout} s"))
        except Exception as exc:  # a reply redis-py cannot parse: the stream is unusable
            self.drop(errors.ConnectionError(f"Unreadable reply from Redis: {exc!r}"))

    async def _answer(self) -> None:
        """Read one reply and resolve the oldest waiting future with it."""
        try:
            # No deadline of redis-py's (the line keeps its own), and no disconnecting behind
            # the line's back: `drop` does that, after failing the waiting callers.
            reply: Any = await self.conn.read_response(timeout=math.inf, disconnect_on_error=False)
        except errors.ResponseError as exc:  # the command's own error; the connection is fine
            reply = exc
        if not self.waiting:
            raise errors.ConnectionError("A reply from Redis that no command asked for")
        future = self.waiting.popleft()
        if self.waiting:
            self._arm()  # the next reply gets a whole timeout of its own
        elif self._deadline is not None:
            self._deadline.reschedule(None)
        if future.done():  # its caller was cancelled
            return
        if isinstance(reply, errors.ResponseError):
            future.set_exception(reply)
        else:
            future.set_result(reply)

    def drop(self, exc: Exception) -> None:
        """Fail every waiting caller with `exc` and close the connection (idempotent)."""
        if self.lost:
            return
        self.lost = True
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(exc)
        if self._reader is not asyncio.current_task():
            self._reader.cancel()
        self._disconnecting = asyncio.get_running_loop().create_task(
            self.conn.disconnect(nowait=True)
        )

    async def close(self) -> None:
        """Drop the line and wait until its reader and connection are gone."""
        self.drop(errors.ConnectionError("The Redis command pipe was closed"))
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)
        if self._disconnecting is not None:
            await self._disconnecting


class CommandPipe:
    """Runs Redis commands over one multiplexed connection made by `make_connection`.

    `make_connection` is a pool's (same URL and options, outside its count); at most
    `in_flight_max` commands are in flight, more callers wait for room; `reply_timeout`
    defaults to the connection's socket timeout.
    """

    def __init__(
        self,
        make_connection: Callable[[], AbstractConnection],
        in_flight_max: int = IN_FLIGHT_MAX,
        reply_timeout: float | None = None,
    ) -> None:
        self._make_connection = make_connection
        self._room = asyncio.Semaphore(in_flight_max)
        self._reply_timeout = reply_timeout
        self._line: _Line | None = None
        self._connecting: asyncio.Task[_Line] | None = None
        self._closed = False
        self._shas: dict[str, str] = {}

    async def execute(self, *args: Any) -> Any:
        """The reply to one command; an error reply raises for this caller only."""
        async with self._room:
            line = await self._connected()
            future = line.send(args)
            await line.drain()
            return await future

    async def evalsha(self, script: str, keys: list[Any], args: list[Any]) -> Any:
        """Runs `script` by its SHA1, loading it once more if Redis lost it (NOSCRIPT)."""
        sha = self._shas.get(script)
        if sha is None:
            sha = self._shas[script] = hashlib.sha1(script.encode()).hexdigest()
        try:
            return await self.execute("EVALSHA", sha, len(keys), *keys, *args)
        except errors.NoScriptError:
            await self.execute("SCRIPT", "LOAD", script)
            return await self.execute("EVALSHA", sha, len(keys), *keys, *args)

    async def _connected(self) -> _Line:
        if self._closed:
            raise errors.ConnectionError("The Redis command pipe is closed")
        line = self._line
        if line is not None and not line.lost:
            if line.conn.is_connected:
                return line
            line.drop(errors.ConnectionError("The Redis command connection was closed"))
        if self._connecting is None:
            self._connecting = asyncio.get_running_loop().create_task(self._connect())
            self._connecting.add_done_callback(self._connected_or_not)
        # Shielded: a caller cancelled meanwhile leaves the attempt to the others.
        return await asyncio.shield(self._connecting)

    async def _connect(self) -> _Line:
        conn = self._make_connection()
        await conn.connect()  # type: ignore[no-untyped-call]
        if self._closed:
            await conn.disconnect(nowait=True)
            raise errors.ConnectionError("The Redis command pipe is closed")
        timeout = self._reply_timeout or conn.socket_timeout or 5.0
        self._line = _Line(conn, timeout)
        return self._line

    def _connected_or_not(self, task: asyncio.Task[_Line]) -> None:
        self._connecting = None
        if not task.cancelled():
            task.exception()  # retrieved: each waiting caller gets it from the shield

    async def close(self) -> None:
        """Fails what still waits, closes the connection; later commands are refused."""
        self._closed = True
        if self._connecting is not None:
            # Not cancelled: its callers get the ConnectionError it raises on seeing the close.
            await asyncio.gather(self._connecting, return_exceptions=True)
        if self._line is not None:
            await self._line.close()


async def run_script(
    pipe: CommandPipe | None, script: AsyncScript, keys: list[Any], args: list[Any]
) -> Any:
    """`script` on the multiplexed connection when there is one (one Redis), otherwise
    through the client it was registered with (its pool, or a cluster's nodes)."""
    if pipe is None:
        return await script(keys=keys, args=args)
    return await pipe.evalsha(str(script.script), keys, args)
