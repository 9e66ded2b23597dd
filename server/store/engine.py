"""The async engine and session factory for the configured database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as DbSession

__all__ = ["DbSession", "make_engine", "make_sessions"]


def make_engine(url: str, *, pool_size: int = 10, pre_ping: bool = True) -> AsyncEngine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout (several
    processes may share the file).

    `pre_ping` tests each pooled connection before use (three round trips on asyncpg), so
    that a request after a database restart does not fail; a caller that retries a
    transaction whose connection was found dead (`connection_invalidated`) can do without."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=pre_ping,
        pool_recycle=1800,
    )


def make_sessions(engine: AsyncEngine) -> async_sessionmaker[DbSession]:
    """A session factory whose objects stay usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)
