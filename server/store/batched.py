"""Shared batches of one fixed statement: concurrent writes of the same statement share one
pool checkout, one `executemany` and one commit.

A storm of reconnects writes the same small upserts a thousand times at once (a stay, a
first entry); each alone costs a checkout, a statement and a commit of the server's CPU
(measured: 1–2 ms through SQLAlchemy and asyncpg). Here a caller hands in its row's
parameters and waits until that row is committed, as it would have alone:

- the writer takes every row waiting when it wakes, i.e. after one pass of the loop (no
  linger timer: a lone arrival is written at once), at most `max_rows` a batch, and writes
  them in one transaction (one at a time per statement, so one pooled connection); a
  batch of one row is its statement alone, without BEGIN and COMMIT, as before batching;
- one row the database refuses (an integrity error: its session or user is gone) does not
  sink the others: the batch's rows are written again one by one, each caller learning
  its own outcome (as the transcripts' group writer does);
- any other failure (the database is down) reaches every caller of the batch as the
  exception it would have raised alone, and the next batch tries again;
- at most `max_waiting` rows wait, queued or being written; a caller past that bound waits
  for room before its row is queued (the back-pressure a pool checkout gave it before),
  so the queue never grows past its bound;
- `close()` (the process's shutdown) writes what waits, or fails it with the database's
  error; a row handed in after that is written alone by its caller: nothing is dropped.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from .engine import DbSession, without_transaction
from .outcomes import fail, outcome, take

__all__ = ["MAX_ROWS", "MAX_WAITING", "Batched"]

MAX_ROWS = 500  # rows a batch (one transaction of a few milliseconds, even for SQLite)
MAX_WAITING = 5_000  # rows queued or being written; more callers wait for room


@dataclass(slots=True)
class _Row:
    params: dict[str, Any]
    done: asyncio.Future[bool]


class Batched:
    """Writes one statement's rows in shared batches, for one process."""

    def __init__(
        self,
        sessions: async_sessionmaker[DbSession],
        statement: Callable[[DbSession], Any],
        name: str,
        max_rows: int = MAX_ROWS,
        max_waiting: int = MAX_WAITING,
    ) -> None:
        """`statement(db)` is the statement for `db`'s database (`upsert.Prepared.on`),
        with bound parameters; `name` names the writer's task."""
        self._sessions = sessions
        self._statement = statement
        self._name = name
        self._max_rows = max_rows
        self._room = asyncio.Semaphore(max_waiting)
        self._waiting: deque[_Row] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.batches = 0  # transactions committed (for tests)

    async def write(self, params: dict[str, Any]) -> bool:
        """Write one row with the others waiting, once it is committed: True; False if the
        database refused this row (an integrity error: what it names is gone, nothing was
        written). Raises what its statement would have raised alone if the database failed
        (for its whole batch)."""
        await self._room.acquire()
        row = _Row(params, outcome())
        row.done.add_done_callback(lambda _: self._room.release())
        if self._closing:  # the writer stops or has stopped: this row goes alone, now
            await self._write([row])
        else:
            self._waiting.append(row)
            self._wake.set()
            if self._task is None:
                self._task = asyncio.create_task(self._run(), name=f"hearth-{self._name}")
        # A caller cancelled meanwhile (its socket closed) leaves its row to be written.
        return await asyncio.shield(row.done)

    async def close(self) -> None:
        """Write every row waiting (or fail it with the database's error), then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            rows = take(self._waiting, self._max_rows)
            if rows:
                await self._write(rows)
            if self._waiting:
                self._wake.set()
            elif self._closing:
                return

    async def _write(self, rows: list[_Row]) -> None:
        """Settle every row's outcome (never raises)."""
        try:
            await self._commit(rows)
        except IntegrityError:
            if len(rows) == 1:
                _settle(rows, False)
            else:
                await self._one_by_one(rows)
        except Exception as exc:
            fail(rows, exc)
        else:
            _settle(rows, True)

    async def _commit(self, rows: list[_Row]) -> None:
        async with self._sessions() as db:
            if len(rows) == 1:  # a lone arrival: one statement is atomic by itself
                await without_transaction(db)
                await db.execute(self._statement(db), rows[0].params)
            else:
                await db.execute(self._statement(db), [row.params for row in rows])
            await db.commit()
        self.batches += 1

    async def _one_by_one(self, rows: list[_Row]) -> None:
        """Each row in a transaction of its own, on one checkout: a refused row is its
        caller's alone; a failure of the database fails every row not yet written."""
        try:
            async with self._sessions() as db:
                statement = self._statement(db)
                for row in rows:
                    try:
                        await db.execute(statement, row.params)
                        await db.commit()
                    except IntegrityError:
                        await db.rollback()
                        _settle([row], False)
                    else:
                        _settle([row], True)
                    self.batches += 1
        except Exception as exc:
            fail(rows, exc)


def _settle(rows: list[_Row], written: bool) -> None:
    for row in rows:
        if not row.done.done():
            row.done.set_result(written)
