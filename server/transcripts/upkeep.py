"""The server's own upkeep of the transcript: the retention purge every
`purge_interval_seconds` (as `hearth purge` does), and settling unnumbered rows."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable

from sqlalchemy.ext.asyncio import async_sessionmaker

from ..broker.base import RoomLog
from ..store.engine import DbSession
from .orphans import settle_unnumbered
from .retention import purge_with

__all__ = ["Upkeep"]

log = logging.getLogger("hearth.transcripts")

SETTLE_SECONDS = 60.0


class Upkeep:
    """A background task: purge at start-up and then every interval; settle every minute."""

    def __init__(
        self,
        db: async_sessionmaker[DbSession],
        room_log: RoomLog,
        purge_seconds: float,
        settle_seconds: float = SETTLE_SECONDS,
    ) -> None:
        self._db = db
        self._log = room_log
        self._purge_seconds = max(purge_seconds, 0.1)
        self._settle_seconds = max(settle_seconds, 0.1)
        self._task: asyncio.Task[None] | None = None
        self.purges = 0  # passes done (for tests and metrics)

    async def start(self) -> None:
        """Start the background task."""
        self._task = asyncio.create_task(self._run(), name="hearth-transcript-upkeep")

    async def close(self) -> None:
        """Stop it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def purge(self) -> int:
        """One retention pass over every room; how many rows it deleted."""
        async with self._db() as db:
            deleted = await purge_with(db)
        self.purges += 1
        if deleted:
            log.info("purged %d recorded messages past their room's retention", deleted)
        return deleted

    async def settle(self) -> None:
        """Number or delete rows left unnumbered (see orphans.py)."""
        numbered, deleted = await settle_unnumbered(self._db, self._log)
        if numbered or deleted:
            log.info("transcript rows left unnumbered: %d numbered, %d deleted", numbered, deleted)

    async def _run(self) -> None:
        next_purge = next_settle = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= next_purge:
                next_purge = now + self._purge_seconds
                await self._guarded(self.purge(), "purging the transcript")
            if now >= next_settle:
                next_settle = now + self._settle_seconds
                await self._guarded(self.settle(), "settling unnumbered transcript rows")
            await asyncio.sleep(max(min(next_purge, next_settle) - time.monotonic(), 0.01))

    @staticmethod
    async def _guarded(work: Awaitable[object], what: str) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("%s failed (%s); will try again", what, type(exc).__name__)
