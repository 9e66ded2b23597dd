"""Holding a room's deliveries until its recorded messages are in the transcript.

A recorded message's row is committed before it is published, but its `seq` comes from the
room log as it is published. The sender's process then commits the row's number (with the
group writer's next batch) and publishes a `numbered` event (one per room for the batch).
Every process holds the room's deliveries (in order, behind the recorded message) from the
recorded message until that event, so no copy of a message marked `recorded` reaches anyone
before the transcript can show it in `seq` order. If the event never comes (the sender's
process died), the hold ends after `limit` seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from ..broker.envelope import Header

__all__ = ["HOLD_SECONDS", "CallLater", "Held", "RecordHold", "loop_call_later"]

HOLD_SECONDS = 3.0

# (header, frame, seq) of a publication to route once the hold ends.
Held = tuple[Header, str, int | None]


class _Timer(Protocol):
    def cancel(self) -> None: ...


# Runs a callable after some seconds (the running loop's `call_later` unless given).
CallLater = Callable[[float, Callable[[str], None], str], _Timer]


def loop_call_later(delay: float, callback: Callable[[str], None], room: str) -> _Timer:
    """`CallLater` on the running event loop."""
    return asyncio.get_running_loop().call_later(delay, callback, room)


@dataclass(slots=True)
class _Room:
    awaiting: set[int] = field(default_factory=set)
    queue: list[Held] = field(default_factory=list)
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    timer: _Timer | None = None


class RecordHold:
    """Per room: the recorded seqs not yet numbered, and what waits behind them."""

    def __init__(
        self,
        release: Callable[[str, list[Held]], None],
        limit: float,
        call_later: CallLater = loop_call_later,
    ) -> None:
        self._release = release
        self._limit = limit
        self._call_later = call_later
        self._rooms: dict[str, _Room] = {}

    def holding(self, room: str) -> bool:
        """Whether the room's deliveries wait for a numbering."""
        return room in self._rooms

    def hold(self, room: str, item: Held) -> None:
        """Queue a publication behind the room's pending numberings."""
        self._rooms[room].queue.append(item)

    def await_number(self, room: str, seq: int) -> None:
        """A recorded message arrived: hold the room until `seq` is numbered."""
        state = self._rooms.get(room)
        if state is None:
            state = self._rooms[room] = _Room()
            state.timer = self._call_later(self._limit, self._end, room)
        state.awaiting.add(seq)

    def numbered(self, room: str, seqs: Iterable[int]) -> None:
        """The sender committed these numbers: release the room once none is pending."""
        state = self._rooms.get(room)
        if state is None:
            return
        state.awaiting.difference_update(seqs)
        if not state.awaiting:
            self._end(room)

    async def settled(self, room: str) -> None:
        """Return once the room is not held (at most the hold limit)."""
        state = self._rooms.get(room)
        if state is not None:
            await state.settled.wait()

    def clear(self, room: str) -> None:
        """The room's last local socket left: drop what waits."""
        state = self._rooms.pop(room, None)
        if state is not None:
            if state.timer is not None:
                state.timer.cancel()
            state.settled.set()

    def _end(self, room: str) -> None:
        state = self._rooms.pop(room, None)
        if state is None:
            return
        if state.timer is not None:
            state.timer.cancel()
        state.settled.set()
        self._release(room, state.queue)
