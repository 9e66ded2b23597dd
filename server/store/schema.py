"""Schema versions: bring a database to the newest Alembic revision, or tell how old it is."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from .engine import make_engine

__all__ = ["SchemaState", "alembic_config", "schema_state", "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at Hearth's migrations and `url`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(url: str) -> None:
    """Migrate the database at `url` to the newest revision (blocking; not on an event loop)."""
    command.upgrade(alembic_config(url), "head")


class SchemaState:
    """Where a database stands: `empty`, `current` or `outdated`."""

    EMPTY = "empty"
    CURRENT = "current"
    OUTDATED = "outdated"


async def schema_state(url: str) -> str:
    """Compare the database's revision with the newest one."""
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()

    def _current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            current = await conn.run_sync(_current)
    finally:
        await engine.dispose()
    if current is None:
        return SchemaState.EMPTY
    return SchemaState.CURRENT if current == head else SchemaState.OUTDATED


def upgrade_in_thread(url: str) -> asyncio.Future[None]:
    """Run `upgrade` off the event loop (Alembic's env starts its own loop)."""
    return asyncio.get_running_loop().run_in_executor(None, upgrade, url)
