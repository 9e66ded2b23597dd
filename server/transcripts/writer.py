"""Group commit of transcript rows: concurrent sends share one transaction.

A send whose author consents waits here until its row is committed (durable before
delivered). The writer takes every row waiting when it wakes (up to `max_rows`): after a
`linger` when senders come in a stream (more than one row waits, or the last transaction
carried more than one), otherwise after one more pass of the loop (nothing to gather:
lingering would only make it wait). In one transaction it numbers rows already published,
checks the authors still consent (in the database, the truth), inserts their rows in one
statement and commits; each waiter learns whether its row was stored. Rows of authors who
no longer consent are not written. One row the database refuses does not sink the others:
on an integrity error each is retried alone. A batch whose connection turns out to be dead
(the database restarted) is tried once more on a fresh one.

Numbering a published row is nobody's wait (the transcript places a row not yet numbered
by the room log, `transcript.py`): a number waits up to `number_linger` for a row to ride
along with, so that at a meeting's pace one transaction per message both inserts its row
and numbers the message before it; with no row coming, the numbers go alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..ops.metrics import RECORDER_BATCH_ROWS, RECORDER_COMMIT_SECONDS
from ..store.outcomes import fail, outcome, take
from .batches import Batches, ConnectionLost, RowsRefused

__all__ = ["GroupWriter"]

log = logging.getLogger("hearth.transcripts")

MAX_ROWS = 200
# Under a stream of rows, a row lingers 2 ms for others to share its transaction. Without
# it (tried: a batch takes only what waits when the writer wakes), the full benchmark
# measured recorded p99 about 50 % higher and PostgreSQL CPU per delivery 23 % higher
# (more, smaller transactions), and its recorded capacity ramp failed at the first step
# (5,000 deliveries/s, p99 358 ms). A stream is rows, not numbers: at a meeting's pace each
# transaction carried one row and the number of the message before it, and when that pair
# counted as a stream, every row and every number lingered (2.1 ms each, 4.3 of the
# recorded message's 12 ms p50, measured by timing each step in a `recorded` run).
LINGER_SECONDS = 0.002
# Numbers wait this long for a row to share its transaction (a meeting's process sends a
# recorded message every 20 ms or so).
NUMBER_LINGER_SECONDS = 0.05
WAIT_SECONDS = 10.0


@dataclass(slots=True)
class _Insert:
    row: dict[str, Any]
    done: asyncio.Future[bool]


@dataclass(slots=True)
class _Number:
    key: tuple[str, str, int, str]  # room id, message id, seq, epoch
    done: asyncio.Future[bool]


class GroupWriter:
    """Writes transcript rows in batches; one transaction at a time per process."""

    def __init__(
        self,
        batches: Batches,
        max_rows: int = MAX_ROWS,
        linger: float = LINGER_SECONDS,
        wait: float = WAIT_SECONDS,
        number_linger: float = NUMBER_LINGER_SECONDS,
    ) -> None:
        self._batches = batches
        self._max_rows = max_rows
        self._linger = linger
        self._number_linger = number_linger
        self._wait = wait
        self._inserts: deque[_Insert] = deque()
        self._numbers: deque[_Number] = deque()
        self._wake = asyncio.Event()  # anything waits
        self._row_wake = asyncio.Event()  # a sender waits
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._last_rows = 0  # rows the last transaction inserted (numbers aside)
        self.batches = 0  # transactions committed (for tests and metrics)

    async def start(self) -> None:
        """Start the background writer."""
        self._task = asyncio.create_task(self._run(), name="hearth-transcript-writer")

    async def close(self) -> None:
        """Write what is waiting, then stop."""
        self._closing = True
        self._wake.set()
        self._row_wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._batches.close()

    async def store(self, row: dict[str, Any]) -> bool:
        """Commit one sealed row with the others waiting. True: stored; False: its author no
        longer consents (nothing written). Raises if the database failed or did not answer
        in time (the row may still be written later, unnumbered; `orphans.py` clears it)."""
        if self._closing:
            raise RuntimeError("the transcript writer is closed")
        item = _Insert(row, outcome())
        self._inserts.append(item)
        self._wake.set()
        self._row_wake.set()
        return await asyncio.wait_for(asyncio.shield(item.done), self._wait)

    def number_soon(
        self, room_id: str, message_id: str, seq: int, epoch: str
    ) -> asyncio.Future[bool]:
        """Give a stored row its place once published, with a coming batch; nobody needs
        to wait (a failure is logged, and `orphans.py` numbers the row later)."""
        item = _Number((room_id, message_id, seq, epoch), outcome())
        self._numbers.append(item)
        self._wake.set()
        return item.done

    async def number(self, room_id: str, message_id: str, seq: int, epoch: str) -> None:
        """`number_soon`, waiting until the number is committed."""
        done = self.number_soon(room_id, message_id, seq, epoch)
        await asyncio.wait_for(asyncio.shield(done), self._wait)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._inserts and not self._numbers:
                if self._closing:
                    return
                continue
            await self._linger_for_more()
            inserts = take(self._inserts, self._max_rows)
            numbers = take(self._numbers, self._max_rows - len(inserts))
            self._last_rows = len(inserts)
            try:
                await self._flush(inserts, numbers)
            except Exception as exc:  # never let the writer die: fail this batch only
                fail([*inserts, *numbers], exc)
            if self._inserts or self._numbers or self._closing:
                self._wake.set()

    async def _linger_for_more(self) -> None:
        """Wait a moment so that one transaction carries more: numbers alone wait for a row
        (at most `number_linger`); rows wait `linger` when senders come in a stream (more
        than one row waits, or the last transaction carried more than one), otherwise one
        pass of the loop, so that rows sent in the same pass come along."""
        if self._closing or len(self._inserts) + len(self._numbers) >= self._max_rows:
            return
        if not self._inserts and self._number_linger > 0:
            self._row_wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._number_linger):
                    await self._row_wake.wait()
        rows = len(self._inserts)
        stream = rows > 1 or (rows == 1 and self._last_rows > 1)
        await asyncio.sleep(self._linger if stream and self._linger > 0 else 0)

    async def _flush(self, inserts: list[_Insert], numbers: list[_Number]) -> None:
        try:
            try:
                stored = await self._commit(inserts, numbers)
            except ConnectionLost:
                log.warning("the database connection was lost; writing the batch again")
                stored = await self._commit(inserts, numbers)
        except RowsRefused:
            log.warning("a transcript batch was refused; writing its rows one by one")
            await self._one_by_one(inserts, numbers)
            return
        except Exception as exc:
            log.warning("could not write a transcript batch (%s)", type(exc).__name__)
            fail([*inserts, *numbers], exc)
            return
        _settle(inserts, numbers, stored)

    async def _one_by_one(self, inserts: list[_Insert], numbers: list[_Number]) -> None:
        groups: list[tuple[list[_Insert], list[_Number]]] = [([], numbers)]
        groups += [([item], []) for item in inserts]
        for group_inserts, group_numbers in groups:
            try:
                stored = await self._commit(group_inserts, group_numbers)
            except Exception as exc:
                fail([*group_inserts, *group_numbers], exc)
            else:
                _settle(group_inserts, group_numbers, stored)

    async def _commit(self, inserts: list[_Insert], numbers: list[_Number]) -> set[str]:
        """One transaction; the message ids of the rows inserted."""
        rows, keys = [item.row for item in inserts], [item.key for item in numbers]
        started = time.perf_counter()
        stored = await self._batches.write(rows, keys)
        RECORDER_COMMIT_SECONDS.observe(time.perf_counter() - started)
        RECORDER_BATCH_ROWS.observe(len(rows) + len(keys))
        self.batches += 1
        return stored


def _settle(inserts: Sequence[_Insert], numbers: Sequence[_Number], stored: set[str]) -> None:
    for item in inserts:
        if not item.done.done():
            item.done.set_result(item.row["message_id"] in stored)
    for number in numbers:
        if not number.done.done():
            number.done.set_result(True)
