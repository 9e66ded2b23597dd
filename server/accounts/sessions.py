"""Login sessions' lifetimes (PROTOCOL §8): idle and absolute ends, activity, enforcement.

A session ends `session_idle_minutes` after the last request or client frame from it, or
`session_max_hours` after login, whichever comes first. Activity is noted in memory (a dict
write per request or frame) and written to the store at most once per
`session_check_seconds` per process; on the same beat the process checks the sessions of
its open sockets and closes with 4401 those that ended (expired, logged out elsewhere,
revoked, or whose user was disabled). So a socket outlives its session by at most one beat.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker

from ..config import Settings
from ..store import users as user_store
from ..store.engine import DbSession
from ..store.ids import now_ms
from ..store.models import Session

__all__ = ["Lifetimes", "SessionKeeper"]

log = logging.getLogger("hearth.sessions")

_CHUNK = 500  # session ids per query
_SWEEP_MS = 300_000  # how often a process deletes every ended session from the store


@dataclass(frozen=True, slots=True)
class Lifetimes:
    """How long a session lives: idle and absolute, in milliseconds (pure rules)."""

    idle_ms: int
    max_ms: int

    @classmethod
    def of(cls, settings: Settings) -> Lifetimes:
        """The lifetimes configured in `[accounts]`."""
        return cls(
            idle_ms=int(settings.session_idle_minutes * 60_000),
            max_ms=int(settings.session_max_hours * 3_600_000),
        )

    def ends_at(self, expires_at: int, last_seen: int) -> int:
        """When a session ends if nothing more happens: the earlier of its absolute end and
        `idle_ms` after it was last seen."""
        return min(expires_at, last_seen + self.idle_ms)


class SessionKeeper:
    """Notes activity, tells whether a session is alive, ends sessions, and keeps this
    process's sockets to live sessions."""

    def __init__(
        self,
        settings: Settings,
        db: async_sessionmaker[DbSession],
        local_sessions: Callable[[], Iterable[str]],
        close_local: Callable[[set[str]], None],
        announce: Callable[[str], Awaitable[None]],
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.lifetimes = Lifetimes.of(settings)
        self._interval = settings.session_check_seconds
        self._db = db
        self._local_sessions = local_sessions
        self._close_local = close_local
        self._announce = announce
        self._clock = clock
        self._seen: dict[str, int] = {}  # activity not yet written to the store
        self._task: asyncio.Task[None] | None = None
        self._swept_at = 0

    def now(self) -> int:
        """The keeper's clock (Unix ms)."""
        return self._clock()

    def touch(self, session_id: str) -> None:
        """A request or client frame came from this session: idle time starts again."""
        self._seen[session_id] = self._clock()

    def ends_at(self, session: Session) -> int:
        """When `session` ends if nothing more happens (counting activity not yet stored)."""
        last = max(session.last_seen_at, self._seen.get(session.id, 0))
        return self.lifetimes.ends_at(session.expires_at, last)

    def alive(self, session: Session) -> bool:
        """Whether `session` has neither passed its absolute end nor been idle too long."""
        return self.ends_at(session) > self._clock()

    async def end(self, ids: Iterable[str]) -> None:
        """End these sessions: their tokens stop working and their sockets close with 4401
        on every process (at once where the announcement reaches, else within a beat)."""
        ids = list(ids)
        if not ids:
            return
        async with self._db() as db:
            await user_store.delete_sessions(db, ids)
        for session_id in ids:
            self._seen.pop(session_id, None)
            try:
                await self._announce(session_id)
            except Exception:  # Redis down: the other processes' beat closes them
                log.warning("announcing a session's end failed", exc_info=True)

    async def end_all_of(self, user_id: str, keep: str | None = None) -> None:
        """End every session of a user (but `keep`)."""
        async with self._db() as db:
            ids = await user_store.sessions_of(db, user_id)
        await self.end(i for i in ids if i != keep)

    async def bound(self, user_id: str, most: int) -> None:
        """End a user's oldest sessions beyond the newest `most`."""
        async with self._db() as db:
            ids = await user_store.sessions_of(db, user_id)
        await self.end(ids[most:])

    # -- the beat --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the beat."""
        self._task = asyncio.create_task(self._run(), name="hearth-sessions")

    async def close(self) -> None:
        """Stop the beat, writing the activity noted so far."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        try:
            await self._flush()
        except Exception:
            log.warning("writing session activity at shut-down failed", exc_info=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database is down: try again next beat
                log.warning("checking sessions failed", exc_info=True)

    async def beat(self) -> None:
        """Write noted activity, then close local sockets whose session ended."""
        await self._flush()
        if self._clock() - self._swept_at >= _SWEEP_MS:
            self._swept_at = self._clock()
            async with self._db() as db:  # ended sessions nobody used again
                await user_store.delete_ended_sessions(
                    db, self._swept_at, self.lifetimes.idle_ms
                )
        local = set(self._local_sessions())
        if not local:
            return
        now = self._clock()
        found: dict[str, tuple[int, int]] = {}
        ordered = sorted(local)
        async with self._db() as db:
            for start in range(0, len(ordered), _CHUNK):
                found.update(await user_store.session_times(db, ordered[start : start + _CHUNK]))
        ended = {
            session_id
            for session_id in local
            if session_id not in found or self.lifetimes.ends_at(*found[session_id]) <= now
        }
        if ended:
            self._close_local(ended)
            expired = [i for i in ended if i in found]
            if expired:
                async with self._db() as db:
                    await user_store.delete_sessions(db, expired)

    async def _flush(self) -> None:
        if not self._seen:
            return
        seen, self._seen = self._seen, {}
        try:
            async with self._db() as db:
                await user_store.touch_sessions(db, seen)
        except Exception:
            for key, ts in seen.items():  # keep them for the next beat
                self._seen[key] = max(ts, self._seen.get(key, 0))
            raise
