"""Concurrent asks for the same thing share one answer ("single flight").

A burst of entries into one room (a deploy sends every member back at once) asks for the
same room settings, the same open session, the same first opening, dozens of times within
a few milliseconds; each would be a database round trip of its own. While one ask for a
key is under way, later asks for that key wait for its answer instead (or its exception).
An answer is never kept beyond its flight: the next ask after it lands starts a new one,
so it is never older than the moment the earliest of its askers asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["Flights"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Flights(Generic[K, V]):
    """The flights under way, one per key."""

    def __init__(self) -> None:
        self._under_way: dict[K, asyncio.Future[V]] = {}

    async def share(self, key: K, ask: Callable[[], Awaitable[V]]) -> V:
        """`ask()`'s answer, or that of the flight for `key` already under way. An asker
        that is cancelled while waiting cancels nobody else's wait."""
        flight = self._under_way.get(key)
        if flight is None:
            flight = asyncio.ensure_future(ask())
            self._under_way[key] = flight
            flight.add_done_callback(lambda _: self._land(key, flight))
        return await asyncio.shield(flight)

    def _land(self, key: K, flight: asyncio.Future[V]) -> None:
        if self._under_way.get(key) is flight:
            del self._under_way[key]
        if not flight.cancelled():
            flight.exception()  # read by its askers; never "exception was never retrieved"
