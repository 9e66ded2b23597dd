"""Waiting writers and their outcomes: each caller of a batching writer waits on a future of
its own, which the writer settles with the result or the exception of that caller's row."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from typing import Any, Protocol, TypeVar

__all__ = ["Waiting", "fail", "outcome", "take"]

T = TypeVar("T")


class Waiting(Protocol):
    """Something a caller waits for: its outcome's future."""

    @property
    def done(self) -> asyncio.Future[Any]: ...


def outcome() -> asyncio.Future[Any]:
    """A future for one caller's outcome, on the running loop."""
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    # A waiter that timed out or was cancelled no longer reads its outcome: mark it read so
    # the loop does not log it (the error could name SQL parameters).
    future.add_done_callback(lambda f: None if f.cancelled() else f.exception())
    return future


def take(queue: deque[T], n: int) -> list[T]:
    """The first `n` items of `queue` (fewer if it has fewer), removed from it."""
    return [queue.popleft() for _ in range(min(n, len(queue)))]


def fail(items: Iterable[Waiting], exc: BaseException) -> None:
    """Give every caller still waiting among `items` the exception `exc`."""
    for item in items:
        if not item.done.done():
            item.done.set_exception(exc)
