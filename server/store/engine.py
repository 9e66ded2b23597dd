"""The async engine and session factory for the configured database."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as DbSession

__all__ = ["PING_AFTER_IDLE", "DbSession", "make_engine", "make_sessions", "without_transaction"]

# A pooled connection unused for longer than this is pinged before use (seconds).
PING_AFTER_IDLE = 5.0


def make_engine(url: str, *, pool_size: int = 10, pre_ping: bool = True) -> AsyncEngine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout (several
    processes may share the file).

    `pre_ping` checks each pooled connection before use, so that a request after a database
    restart does not fail (`_check_on_checkout`); a caller that retries a transaction whose
    connection was found dead (`connection_invalidated`) can do without."""
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
    engine = create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800
    )
    if pre_ping:
        _check_on_checkout(engine)
    return engine


def _check_on_checkout(engine: AsyncEngine) -> None:
    """A cheaper pre-ping. SQLAlchemy's costs three round trips (BEGIN, a query, ROLLBACK)
    at every checkout: a storm of reconnects pays them several times per socket. Instead a
    connection whose socket the server closed (a restart, a terminated backend) is replaced
    without a round trip, and only one unused for `PING_AFTER_IDLE` seconds (which could
    sit on a half-open connection) is pinged. A connection in steady use answered a moment
    ago."""
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "connect")
    def _fresh(_dbapi_conn: Any, record: Any) -> None:
        record.info["used_at"] = time.monotonic()

    @event.listens_for(pool, "checkin")
    def _used(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["used_at"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _check(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        raw = getattr(dbapi_conn, "_connection", None)
        if raw is not None and raw.is_closed():
            raise exc.DisconnectionError("the connection was closed")
        if time.monotonic() - record.info.get("used_at", 0.0) <= PING_AFTER_IDLE:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except Exception as error:  # the pool replaces it (and retries once)
            raise exc.DisconnectionError("the connection failed a ping") from error


def make_sessions(engine: AsyncEngine) -> async_sessionmaker[DbSession]:
    """A session factory whose objects stay usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def without_transaction(db: DbSession) -> None:
    """Let `db` (fresh, nothing run in it yet) run each statement on its own, without BEGIN
    and COMMIT or ROLLBACK around them: two round trips fewer. Only for checkouts that read,
    or write in single statements each atomic by itself (an upsert); each statement still
    sees committed data (as under READ COMMITTED)."""
    await db.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
