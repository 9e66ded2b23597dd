"""Revision 0004 (PROTOCOL §7) on SQLite and PostgreSQL: existing users speak English,
existing rooms get the Spanish 988 notice, and the revision goes down again cleanly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from server.rooms.settings import DEFAULT_CRISIS_RESOURCES, DEFAULT_CRISIS_RESOURCES_ES
from server.store.engine import make_engine
from server.store.schema import alembic_config
from tests.support.client import unique
from tests.support.pg import async_url, create_database, drop_database

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(params=["sqlite", "postgresql"])
async def url(request: pytest.FixtureRequest, tmp_path: object) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/{unique('db-')}.db"
        return
    name = await create_database()
    try:
        yield async_url(name)
    finally:
        await drop_database(name)


async def _migrate(url: str, revision: str, down: bool = False) -> None:
    step = command.downgrade if down else command.upgrade
    await asyncio.to_thread(step, alembic_config(url), revision)


async def test_existing_users_and_rooms_get_their_language_defaults(url: str) -> None:
    before = ScriptDirectory.from_config(alembic_config(url)).get_revision("0004").down_revision
    assert isinstance(before, str)
    await _migrate(url, before)
    engine = make_engine(url)
    try:
        async with engine.begin() as db:
            await db.execute(
                text(
                    "INSERT INTO users (id, username, display_name, password_hash, is_admin,"
                    " created_at) VALUES ('u1', 'rosa', 'Rosa', 'h', false, 0)"
                )
            )
            await db.execute(
                text(
                    "INSERT INTO rooms (id, slug, title, description, agreement_version, access,"
                    " transcripts, transcript_readers, slow_mode_seconds, max_message_chars,"
                    " resume_window_seconds, locked, crisis_resources, extra, created_at) VALUES"
                    " ('r1', 'martes', 'Martes', '', 0, 'open', 'off', 'facilitators', 0, 2000,"
                    " 300, false, :crisis, '{}', 0)"
                ),
                {"crisis": DEFAULT_CRISIS_RESOURCES},
            )
        await _migrate(url, "0004")
        async with engine.connect() as db:
            language = (await db.execute(text("SELECT language FROM users"))).scalar_one()
            spanish = (await db.execute(text("SELECT crisis_resources_es FROM rooms"))).scalar_one()
        assert language == "en"
        assert spanish == DEFAULT_CRISIS_RESOURCES_ES
        await _migrate(url, before, down=True)
        async with engine.connect() as db:
            assert (await db.execute(text("SELECT username FROM users"))).scalar_one() == "rosa"
            with pytest.raises(Exception, match="language"):
                await db.execute(text("SELECT language FROM users"))
    finally:
        await engine.dispose()
