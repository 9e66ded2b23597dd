"""The store on SQLite and PostgreSQL: migrations, the repositories, password hashing, the
schema check at start-up, and one end-to-end run on PostgreSQL with Redis (PROTOCOL §1)."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from server.accounts.passwords import Passwords
from server.accounts.sessions import SessionKeeper
from server.config import Settings
from server.rooms.settings import RoomView
from server.store import audit as audit_store
from server.store import entries
from server.store import rooms as room_store
from server.store import users as user_store
from server.store.callers import room_caller
from server.store.engine import DbSession, make_engine, make_sessions, without_transaction
from server.store.models import Base, User
from server.store.schema import SchemaState, alembic_config, schema_state
from server.transcripts import store as transcript_store
from tests.conftest import SHARED_REDIS, make_room
from tests.support.client import PASSWORD, WS, admin_token, new_user, unique
from tests.support.pg import async_url, create_database, drop_database
from tests.support.servers import HEARTH, ROOT, SCALE, Cluster, ServerProcess, hearth_cli

pytestmark = pytest.mark.timeout(300)

TEST_CONFIG = str(ROOT / "tests" / "support" / "hearth-test.toml")
NewDatabase = Callable[[], Awaitable[str]]


def cli_env(url: str, workdir: Path) -> dict[str, str]:
    """Environment for `hearth` subcommands on database `url`, without Redis."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update({
        "HEARTH_DATABASE_URL": url,
        "HEARTH_SECRET_KEY": secrets.token_urlsafe(32),
        "HEARTH_CONFIG": TEST_CONFIG,
        "HEARTH_TEST_CWD": str(workdir),
    })
    return env


def head_revision(url: str) -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None
    return head


async def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def stored_revision(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
            return [r[0] for r in rows]
    finally:
        await engine.dispose()


# -- fixtures: one fresh database per backend, more on demand -------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def new_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[NewDatabase]:
    """Makes empty databases of this backend; PostgreSQL ones are dropped afterwards."""
    backend: str = request.param
    folder = tmp_path_factory.mktemp(f"store-{backend}")
    made: list[str] = []

    async def make() -> str:
        if backend == "sqlite":
            path = folder / f"{unique('db-')}.db"
            return f"sqlite+aiosqlite:///{path}"
        name = await create_database()
        made.append(name)
        return async_url(name)

    yield make
    for name in made:
        await drop_database(name)


@pytest.fixture(scope="module")
async def migrated(new_database: NewDatabase, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database brought to the newest schema by `hearth migrate`."""
    url = await new_database()
    hearth_cli(cli_env(url, tmp_path_factory.mktemp("migrate")), "migrate")
    return url


@pytest.fixture
async def sessions(migrated: str) -> AsyncIterator[async_sessionmaker[DbSession]]:
    engine = make_engine(migrated)
    yield make_sessions(engine)
    await engine.dispose()


async def a_user(sessions: async_sessionmaker[DbSession], prefix: str = "st") -> Any:
    async with sessions() as db:
        user = await user_store.create_user(db, unique(prefix), "Someone", "not-a-hash")
    assert user is not None
    return user


async def _ids_not_in(sessions: async_sessionmaker[DbSession], ids: list[str]) -> list[str]:
    """Those of `ids` no longer stored."""
    async with sessions() as db:
        found = await user_store.session_times(db, ids)
    return [i for i in ids if i not in found]


async def a_room(sessions: async_sessionmaker[DbSession], **settings: Any) -> RoomView:
    async with sessions() as db:
        view = await room_store.create_room(
            db, RoomView(id="", slug=unique("st-"), title="Store room", **settings))
    assert view is not None
    return view


# -- migrations ------------------------------------------------------------------------------


async def test_migrate_creates_every_table_and_is_idempotent(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    url = await new_database()
    assert await schema_state(url) == SchemaState.EMPTY
    env = cli_env(url, tmp_path)
    result = hearth_cli(env, "migrate")
    expected = set(Base.metadata.tables) | {"alembic_version"}
    assert {"users", "sessions", "rooms", "room_roles", "audit_log"} <= expected
    assert await table_names(url) == expected
    assert await stored_revision(url) == [head_revision(url)]
    assert await schema_state(url) == SchemaState.CURRENT
    assert "current" in result.stdout

    # Again: nothing to do, nothing broken, data kept.
    engine = make_engine(url)
    try:
        async with make_sessions(engine)() as db:
            assert await user_store.create_user(db, "keeper", "Keeper", "h") is not None
    finally:
        await engine.dispose()
    hearth_cli(env, "migrate")
    assert await table_names(url) == expected
    assert await stored_revision(url) == [head_revision(url)]
    engine = make_engine(url)
    try:
        async with make_sessions(engine)() as db:
            kept = await user_store.user_by_username(db, "keeper")
            assert kept is not None and kept.display_name == "Keeper"
    finally:
        await engine.dispose()


async def _migrated_names(
    url: str, names_in: Callable[[Any, str], list[Any]]
) -> dict[str, set[str]]:
    """For every table the models declare: the names `names_in(inspector, table)` lists
    (its columns, its indexes) in the migrated database at `url`."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda c: {
                name: {item["name"] for item in names_in(inspect(c), name)}
                for name in Base.metadata.tables
            })
    finally:
        await engine.dispose()


async def test_migrated_columns_match_the_models(migrated: str) -> None:
    columns = await _migrated_names(migrated, lambda found, name: found.get_columns(name))
    for name, table in Base.metadata.tables.items():
        assert columns[name] == {c.name for c in table.columns}, name


async def test_migrated_indexes_match_the_models(migrated: str) -> None:
    """Every index the models declare (the partial one of unnumbered transcript rows too) is
    what the migrations made, on both databases."""
    found = await _migrated_names(migrated, lambda found, name: found.get_indexes(name))
    for name, table in Base.metadata.tables.items():
        declared = {str(index.name) for index in table.indexes}
        assert declared <= found[name], (name, declared - found[name])
    assert "ix_recorded_unnumbered" in found["recorded_messages"]


async def test_serve_refuses_an_outdated_schema(new_database: NewDatabase, tmp_path: Path) -> None:
    url = await new_database()
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(
                "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('old')"))
    finally:
        await engine.dispose()
    assert await schema_state(url) == SchemaState.OUTDATED
    env = cli_env(url, tmp_path)
    started = time.monotonic()
    done = subprocess.run(
        [HEARTH, "serve", "--host", "127.0.0.1", "--port", "0"], env=env, cwd=tmp_path,
        capture_output=True, text=True, timeout=60 * SCALE,
    )
    assert done.returncode != 0, done
    assert "hearth migrate" in done.stderr + done.stdout, done
    assert time.monotonic() - started < 30 * SCALE
    # It touched nothing: no tables were made behind the operator's back.
    assert await table_names(url) == {"alembic_version"}
    assert await stored_revision(url) == ["old"]


async def test_serve_migrates_an_empty_database(new_database: NewDatabase, tmp_path: Path) -> None:
    url = await new_database()
    server = ServerProcess(cli_env(url, tmp_path), tmp_path / "serve.log")
    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.base) as http:
            r = await http.get("/healthz")
            assert r.status_code == 200, r.text
            assert r.json() == {"status": "ok", "protocol": 1, "broker": "memory",
                                "database": "ok"}
            r = await http.post("/api/auth/register",
                                json={"username": unique("fresh"), "password": PASSWORD})
            assert r.status_code == 201, r.text
    finally:
        server.stop()
    assert await stored_revision(url) == [head_revision(url)]
    assert set(Base.metadata.tables) <= await table_names(url)


# -- users and sessions -------------------------------------------------------------------------


async def test_users(sessions: async_sessionmaker[DbSession]) -> None:
    username = unique("usr")
    async with sessions() as db:
        user = await user_store.create_user(db, username, "Ana", "hash-1")
        assert user is not None
        assert isinstance(user.id, str) and user.id
        assert user.is_admin is False
        user_id = user.id
        # The same username again: None, and the session stays usable (its rollback expires
        # what it had loaded, so only ids read before are used below).
        assert await user_store.create_user(db, username, "Other", "hash-2") is None
        admin = await user_store.create_user(db, unique("adm"), "Boss", "hash-3", is_admin=True)
        assert admin is not None and admin.is_admin is True
    async with sessions() as db:
        found = await user_store.user_by_username(db, username)
        assert found is not None
        assert (found.id, found.display_name, found.password_hash) == (user_id, "Ana", "hash-1")
        assert await user_store.user_by_username(db, username.upper()) is None  # pre-folded
        assert await user_store.user_by_username(db, unique("nobody")) is None
        by_id = await user_store.user_by_id(db, user_id)
        assert by_id is not None and by_id.username == username
        assert await user_store.user_by_id(db, "0" * 16) is None
        many = await user_store.users_by_ids(db, [user_id, admin.id, "missing"])
        assert set(many) == {user_id, admin.id}
        assert many[admin.id].username == admin.username
        assert await user_store.users_by_ids(db, []) == {}
        await user_store.set_password(db, found, "hash-new", is_admin=True)
    async with sessions() as db:
        again = await user_store.user_by_username(db, username)
        assert again is not None
        assert (again.password_hash, again.is_admin) == ("hash-new", True)


async def test_sessions(sessions: async_sessionmaker[DbSession]) -> None:
    user = await a_user(sessions)
    other = await a_user(sessions)
    token_hash, other_hash = secrets.token_hex(32), secrets.token_hex(32)
    async with sessions() as db:
        session = await user_store.create_session(db, user.id, token_hash, 12 * 3_600_000)
        await user_store.create_session(db, other.id, other_hash, 12 * 3_600_000)
        assert session.user_id == user.id
        assert session.expires_at - session.created_at == 12 * 3_600_000
        assert session.last_seen_at == session.created_at
        expired = await user_store.create_session(db, user.id, secrets.token_hex(32), -1)
    async with sessions() as db:
        found = await user_store.session_user(db, token_hash)
        assert found is not None
        assert found[0].id == session.id and found[1].id == user.id
        mate = await user_store.session_user(db, other_hash)
        assert mate is not None and mate[1].id == other.id
        assert await user_store.session_user(db, secrets.token_hex(32)) is None
        assert await user_store.session_user(db, expired.token_hash) is None
        await user_store.delete_session(db, session.id)
    async with sessions() as db:
        assert await user_store.session_user(db, token_hash) is None
        assert await user_store.session_user(db, other_hash) is not None  # untouched


# -- rooms --------------------------------------------------------------------------------------


async def test_session_keeper_on_an_injected_clock(
    sessions: async_sessionmaker[DbSession],
) -> None:
    """Idle and absolute ends, activity written on the beat, revocation and the per-user
    bound, with the keeper's clock moved by hand (defaults: 60 min idle, 12 h at most)."""
    user, other = await a_user(sessions), await a_user(sessions)
    async with sessions() as db:
        busy = await user_store.create_session(db, user.id, secrets.token_hex(32), 12 * 3_600_000)
        idle = await user_store.create_session(db, user.id, secrets.token_hex(32), 12 * 3_600_000)
        theirs = await user_store.create_session(
            db, other.id, secrets.token_hex(32), 12 * 3_600_000
        )
    start = busy.created_at
    clock = [start]
    closed: list[set[str]] = []
    announced: list[str] = []
    local = {busy.id, idle.id, theirs.id}  # sessions with sockets on "this process"

    def close(ended: set[str]) -> None:
        closed.append(ended)
        local.difference_update(ended)

    async def announce(session_id: str) -> None:
        announced.append(session_id)

    keeper = SessionKeeper(
        Settings(), sessions, lambda: local, close, announce, clock=lambda: clock[0]
    )
    minute = 60_000
    clock[0] = start + 50 * minute
    keeper.touch(busy.id)
    assert keeper.ends_at(busy) == start + 110 * minute  # counted before it is written
    await keeper.beat()
    assert closed == []
    clock[0] = start + 70 * minute
    await keeper.beat()  # idle: the one untouched since login ends, on this beat
    assert closed == [{idle.id, theirs.id}]
    async with sessions() as db:
        assert set(await user_store.sessions_of(db, user.id)) == {busy.id}
        found = await user_store.session_times(db, [busy.id])
    assert found == {busy.id: (busy.expires_at, start + 50 * minute)}
    for _ in range(11):  # busy every hour: still ends at its absolute end
        clock[0] += 59 * minute
        keeper.touch(busy.id)
        await keeper.beat()
    assert closed[1:] == []
    clock[0] = busy.expires_at
    await keeper.beat()
    assert closed[1:] == [{busy.id}]
    # Ending sessions deletes them and tells the other processes; the bound keeps the newest.
    async with sessions() as db:
        made = [
            await user_store.create_session(db, other.id, secrets.token_hex(32), 3_600_000)
            for _ in range(4)
        ]
    await keeper.bound(other.id, 2)
    async with sessions() as db:
        kept = await user_store.sessions_of(db, other.id)
    assert len(kept) == 2 and len(announced) == 2
    assert set(kept) | set(announced) == {m.id for m in made}
    assert set(announced) == set(await _ids_not_in(sessions, [m.id for m in made]))



async def test_rooms(sessions: async_sessionmaker[DbSession]) -> None:
    view = await a_room(sessions, retention_days=None, agreement="Be kind.",
                        extra={"blocked_terms": ["spam"]})
    assert view.id
    assert view.retention_days is None
    async with sessions() as db:
        duplicate = RoomView(id="", slug=view.slug, title="Another")
        assert await room_store.create_room(db, duplicate) is None
        assert await room_store.room_by_slug(db, view.slug) == view
        assert await room_store.room_by_slug(db, unique("none-")) is None
    defaults = await a_room(sessions)
    async with sessions() as db:
        stored = await room_store.room_by_slug(db, defaults.slug)
        assert stored is not None
        assert stored.public() == RoomView(id="", slug=defaults.slug,
                                           title="Store room").public()
        assert stored.retention_days == 30
    changed = replace(view, title="Renamed", locked=True, retention_days=7, agreement=None,
                      agreement_version=2, slow_mode_seconds=60,
                      extra={"blocked_terms": ["spam", "scam"], "contact_details": "hold"})
    async with sessions() as db:
        await room_store.save_room(db, changed)
    async with sessions() as db:
        assert await room_store.room_by_slug(db, view.slug) == changed
        await room_store.save_room(db, replace(changed, retention_days=None))
    async with sessions() as db:
        again = await room_store.room_by_slug(db, view.slug)
        assert again is not None and again.retention_days is None
        listed = await room_store.list_rooms(db)
        slugs = [r.slug for r in listed]
        assert slugs == sorted(slugs)
        assert {view.slug, defaults.slug} <= set(slugs)


async def test_roles(sessions: async_sessionmaker[DbSession]) -> None:
    room, other_room = await a_room(sessions), await a_room(sessions)
    user, other = await a_user(sessions), await a_user(sessions)
    async with sessions() as db:
        assert await room_store.role_of(db, room.id, user.id) is None
        assert await room_store.set_role(db, room.id, user.id, "member") is None
        assert await room_store.set_role(db, other_room.id, user.id, "facilitator") is None
        assert await room_store.set_role(db, room.id, other.id, "member") is None
    async with sessions() as db:
        assert await room_store.role_of(db, room.id, user.id) == "member"
        assert await room_store.roles_of_user(db, user.id) == {
            room.id: "member", other_room.id: "facilitator"}
        assert await room_store.set_role(db, room.id, user.id, "facilitator") == "member"
    async with sessions() as db:
        assert await room_store.role_of(db, room.id, user.id) == "facilitator"
        assert await room_store.set_role(db, room.id, user.id, None) == "facilitator"
    async with sessions() as db:
        assert await room_store.role_of(db, room.id, user.id) is None
        assert await room_store.set_role(db, room.id, user.id, None) is None
        assert await room_store.roles_of_user(db, user.id) == {other_room.id: "facilitator"}
        assert await room_store.role_of(db, room.id, other.id) == "member"


async def test_bans(sessions: async_sessionmaker[DbSession]) -> None:
    room, other_room = await a_room(sessions), await a_room(sessions)
    user, facilitator = await a_user(sessions), await a_user(sessions)
    async with sessions() as db:
        assert await room_store.is_banned(db, room.id, user.id) is False
        await room_store.ban(db, room.id, user.id, facilitator.id, "spam")
        await room_store.ban(db, room.id, user.id, facilitator.id, "again")  # idempotent
    async with sessions() as db:
        assert await room_store.is_banned(db, room.id, user.id) is True
        assert await room_store.is_banned(db, other_room.id, user.id) is False
        assert await room_store.is_banned(db, room.id, facilitator.id) is False
        await room_store.unban(db, room.id, user.id)
        await room_store.unban(db, room.id, user.id)  # idempotent
    async with sessions() as db:
        assert await room_store.is_banned(db, room.id, user.id) is False


async def test_agreements(sessions: async_sessionmaker[DbSession]) -> None:
    room, other_room = await a_room(sessions), await a_room(sessions)
    user, other = await a_user(sessions), await a_user(sessions)
    async with sessions() as db:
        assert await room_store.accepted_version(db, room.id, user.id) is None
        await room_store.accept_agreement(db, room.id, user.id, 1)
    async with sessions() as db:
        assert await room_store.accepted_version(db, room.id, user.id) == 1
        await room_store.accept_agreement(db, room.id, user.id, 3)
    async with sessions() as db:
        assert await room_store.accepted_version(db, room.id, user.id) == 3
        assert await room_store.accepted_version(db, other_room.id, user.id) is None
        assert await room_store.accepted_version(db, room.id, other.id) is None


async def test_consents_stored_read_and_withdrawn(
    sessions: async_sessionmaker[DbSession],
) -> None:
    room = await a_room(sessions, transcripts="opt_in")
    other_room = await a_room(sessions, transcripts="opt_in")
    off = await a_room(sessions)
    user, other = await a_user(sessions), await a_user(sessions)
    async with sessions() as db:
        assert await transcript_store.consent_of(db, room.id, user.id) is False
        assert await transcript_store.set_consent_if_recording(db, room.id, user.id, True)
        assert await transcript_store.set_consent_if_recording(db, room.id, other.id, True)
        assert await transcript_store.set_consent_if_recording(db, other_room.id, user.id, True)
        # A room that keeps no transcript stores no consent.
        assert not await transcript_store.set_consent_if_recording(db, off.id, user.id, True)
    async with sessions() as db:
        assert await transcript_store.consent_of(db, room.id, user.id) is True
        assert await transcript_store.consent_of(db, off.id, user.id) is False
        assert await transcript_store.set_consent_if_recording(db, room.id, user.id, False)
    async with sessions() as db:
        assert await transcript_store.consent_of(db, room.id, user.id) is False
        assert await transcript_store.set_consent_if_recording(db, room.id, user.id, True)
        await room_store.withdraw_all_consents(db, room.id)
    async with sessions() as db:
        assert await transcript_store.consent_of(db, room.id, user.id) is False
        assert await transcript_store.consent_of(db, room.id, other.id) is False
        assert await transcript_store.consent_of(db, other_room.id, user.id) is True


async def test_entry_facts_agree_with_the_single_reads(
    sessions: async_sessionmaker[DbSession],
) -> None:
    """Entering reads role, ban and agreement in one round trip; each matches its own read."""
    room, other_room = await a_room(sessions), await a_room(sessions)
    user, facilitator = await a_user(sessions), await a_user(sessions)

    async def both() -> tuple[tuple[str | None, bool, int | None], tuple[Any, ...]]:
        async with sessions() as db:
            facts = await room_store.entry_facts(db, room.id, user.id)
            single = (
                await room_store.role_of(db, room.id, user.id),
                await room_store.is_banned(db, room.id, user.id),
                await room_store.accepted_version(db, room.id, user.id),
            )
        return facts, single

    assert (await both())[0] == (None, False, None)
    async with sessions() as db:
        await room_store.set_role(db, room.id, user.id, "facilitator")
        await room_store.accept_agreement(db, room.id, user.id, 4)
        await db.commit()
        await room_store.ban(db, room.id, user.id, facilitator.id, None)
        # Facts of other rooms and people must not leak in.
        await room_store.set_role(db, other_room.id, facilitator.id, "member")
        await room_store.accept_agreement(db, other_room.id, user.id, 9)
        await db.commit()
    facts, single = await both()
    assert facts == single == ("facilitator", True, 4)
    async with sessions() as db:
        await room_store.unban(db, room.id, user.id)
        await room_store.set_role(db, room.id, user.id, None)
    facts, single = await both()
    assert facts == single == (None, False, 4)
    async with sessions() as db:
        assert await room_store.entry_facts(db, other_room.id, facilitator.id) == (
            "member", False, None)


async def test_a_room_caller_agrees_with_the_single_reads(
    sessions: async_sessionmaker[DbSession],
) -> None:
    """A socket's handshake reads its session, user and facts in the room in one statement;
    each matches its own read, other rooms and people do not leak in, and whether the user
    facilitates anywhere is read only for staff without TOTP."""
    room, other_room = await a_room(sessions), await a_room(sessions)
    user, other = await a_user(sessions), await a_user(sessions)
    token, other_token = secrets.token_hex(32), secrets.token_hex(32)
    async with sessions() as db:
        session = await user_store.create_session(db, user.id, token, 3_600_000)
        await user_store.create_session(db, other.id, other_token, 3_600_000)
        expired = await user_store.create_session(db, user.id, secrets.token_hex(32), -1)

    async def read(token_hash: str, room_id: str = room.id) -> Any:
        async with sessions() as db:
            return await room_caller(db, token_hash, room_id)

    found = await read(token)
    assert found is not None and found.session.id == session.id and found.user.id == user.id
    assert (found.facts, found.facilitates, found.entered) == ((None, False, None), False, False)
    assert await read(secrets.token_hex(32)) is None
    assert await read(expired.token_hash) is None
    assert (await read(token, "")).facts == (None, False, None)  # no such room
    async with sessions() as db:
        await room_store.set_role(db, other_room.id, user.id, "facilitator")
        await room_store.accept_agreement(db, room.id, user.id, 4)
        await db.commit()
        await room_store.ban(db, room.id, user.id, other.id, None)
        await entries.record_first_entry(db, room.id, user.id, 1)
        await room_store.set_role(db, room.id, other.id, "member")
        await entries.record_first_entry(db, other_room.id, other.id, 1)
    found = await read(token)
    async with sessions() as db:
        single = await room_store.entry_facts(db, room.id, user.id)
        assert found.facilitates is await user_store.facilitates_any(db, user.id) is True
    assert found.facts == single == (None, True, 4) and found.entered
    assert (await read(token, other_room.id)).facts == ("facilitator", False, None)
    mate = await read(other_token)
    assert (mate.facts, mate.facilitates, mate.entered) == (("member", False, None), False, False)
    async with sessions() as db:
        row = await db.get(User, user.id)
        assert row is not None
        row.totp_enabled = True  # enrolled: the facilitator fact decides nothing
        await db.commit()
    assert (await read(token)).facilitates is False
    async with sessions() as db:
        row = await db.get(User, user.id)
        assert row is not None
        row.disabled = True
        await db.commit()
    assert await read(token) is None


# -- audit ----------------------------------------------------------------------------------------


async def test_a_checkout_without_transaction_leaves_the_next_one_transactional(
    migrated: str,
) -> None:
    """`without_transaction` (autocommit: no BEGIN, no COMMIT) lasts for its own checkout:
    the same pooled connection then runs the next session's statements in a transaction
    again, which a rollback undoes."""
    from sqlalchemy import select

    from server.store.models import User

    engine = make_engine(migrated, pool_size=1)
    sessions = make_sessions(engine)
    name = unique("tx")
    try:
        async with sessions() as db:
            await without_transaction(db)
            assert await db.scalar(text("SELECT 1")) == 1
        async with sessions() as db:
            db.add(User(id=unique("u"), username=name, display_name="Tx", password_hash="x",
                        created_at=0))
            await db.flush()
            await db.rollback()
        async with sessions() as db:
            await without_transaction(db)
            found = await db.scalar(select(User).where(User.username == name))
        assert found is None
    finally:
        await engine.dispose()


async def test_checkout_replaces_a_closed_connection_and_pings_only_idle_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pool's cheap pre-ping (store/engine.py): a connection whose backend was
    terminated is replaced at checkout without an error; one in steady use is not pinged;
    one idle longer than PING_AFTER_IDLE is."""
    import asyncpg

    from server.store import engine as engine_module
    from tests.support.pg import PG_ADMIN_DSN

    name = await create_database()
    engine = make_engine(async_url(name), pool_size=1)
    pings: list[object] = []
    dialect = engine.sync_engine.dialect
    real_ping = dialect.do_ping

    def counted(dbapi_conn: Any) -> bool:
        pings.append(dbapi_conn)
        return bool(real_ping(dbapi_conn))

    monkeypatch.setattr(dialect, "do_ping", counted)
    pid = "SELECT pg_backend_pid()"
    try:
        async with engine.connect() as conn:
            first = await conn.scalar(text(pid))
        for _ in range(3):  # steady use: no ping, the same backend
            async with engine.connect() as conn:
                assert await conn.scalar(text(pid)) == first
        assert pings == []
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", first)
        finally:
            await admin.close()
        await asyncio.sleep(0.2)  # the server closed it; the loop has seen the end
        async with engine.connect() as conn:  # no error: replaced at checkout, no ping
            replaced = await conn.scalar(text(pid))
        assert replaced != first
        assert pings == []
        monkeypatch.setattr(engine_module, "PING_AFTER_IDLE", 0.0)
        await asyncio.sleep(0.01)
        async with engine.connect() as conn:
            assert await conn.scalar(text(pid)) == replaced
        assert len(pings) == 1
    finally:
        await engine.dispose()
        await drop_database(name)


async def test_audit_entries(sessions: async_sessionmaker[DbSession]) -> None:
    slug, other_slug = unique("aud-"), unique("aud-")
    actor = ("a1", "alice")
    async with sessions() as db:
        await audit_store.write_entry(db, actor, "room.create", slug)
        await audit_store.write_entry(db, actor, "room.update", slug,
                                      details={"changes": {"locked": [False, True],
                                                           "title": ["Old", "Ünïcode ✓"]}})
        await audit_store.write_entry(db, actor, "lock", other_slug)
        await audit_store.write_entry(db, actor, "mute", slug, ("b2", "bob"),
                                      {"seconds": 60, "reason": None})
    async with sessions() as db:
        entries = await audit_store.list_entries(db, slug, 10, None)
        assert [e.action for e in entries] == ["mute", "room.update", "room.create"]
        views = [audit_store.entry_view(e) for e in entries]
        mute, update, create = views
        assert mute["target"] == {"id": "b2", "username": "bob"}
        assert mute["details"] == {"seconds": 60, "reason": None}
        assert mute["actor"] == {"id": "a1", "username": "alice"}
        assert mute["room"] == slug
        assert isinstance(mute["id"], str)
        assert int(mute["id"]) > int(update["id"]) > int(create["id"])
        assert update["details"]["changes"] == {"locked": [False, True],
                                                "title": ["Old", "Ünïcode ✓"]}
        assert "target" not in create and create["details"] == {}
        assert abs(create["ts"] - time.time() * 1000) < 60_000

        page = await audit_store.list_entries(db, slug, 2, None)
        assert [e.action for e in page] == ["mute", "room.update"]
        rest = await audit_store.list_entries(db, slug, 2, page[-1].id)
        assert [e.action for e in rest] == ["room.create"]
        everything = await audit_store.list_entries(db, None, 500, None)
        actions = [(e.room_slug, e.action) for e in everything]
        assert actions.index((slug, "mute")) < actions.index((other_slug, "lock"))
        assert actions.index((other_slug, "lock")) < actions.index((slug, "room.update"))
        ids = [e.id for e in everything]
        assert ids == sorted(ids, reverse=True)


# -- argon2id -------------------------------------------------------------------------------------


async def test_argon2id_hash_and_verify() -> None:
    passwords = Passwords(time_cost=1, memory_kib=8192)
    stored = await passwords.hash("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert "m=8192,t=1" in stored
    assert stored != await passwords.hash("correct horse battery")  # salted
    assert await passwords.verify(stored, "correct horse battery") == (True, None)
    assert await passwords.verify(stored, "correct horse battery!") == (False, None)
    assert await passwords.verify(stored, "") == (False, None)
    assert await passwords.verify(None, "correct horse battery") == (False, None)
    assert await passwords.verify("not-a-hash", "correct horse battery") == (False, None)
    assert await passwords.verify(stored, "x" * 129) == (False, None)


async def test_argon2id_rehash_when_parameters_change() -> None:
    old = Passwords(time_cost=1, memory_kib=8192)
    new = Passwords(time_cost=2, memory_kib=8192)
    stored = await old.hash("correct horse battery")
    ok, rehashed = await new.verify(stored, "correct horse battery")
    assert ok is True
    assert rehashed is not None and rehashed != stored
    assert rehashed.startswith("$argon2id$") and "t=2" in rehashed
    assert await new.verify(rehashed, "correct horse battery") == (True, None)
    # A wrong password is never rehashed.
    assert await new.verify(stored, "wrong horse battery") == (False, None)


# -- end to end on PostgreSQL and Redis -----------------------------------------------------------


@pytest.fixture
async def pg_cluster(tmp_path: Path) -> AsyncIterator[tuple[Cluster, str]]:
    import redis

    client = redis.Redis.from_url(f"{SHARED_REDIS}/15")
    client.flushdb()
    client.close()
    name = await create_database()
    cluster = Cluster(workdir=tmp_path, database_url=async_url(name),
                      redis_url=f"{SHARED_REDIS}/15", processes=1)
    try:
        cluster.start()
        yield cluster, async_url(name)
    finally:
        cluster.stop()
        await drop_database(name)


async def test_end_to_end_on_postgresql_with_redis(pg_cluster: tuple[Cluster, str]) -> None:
    cluster, url = pg_cluster
    server = cluster.servers[0]
    async with httpx.AsyncClient(base_url=server.base) as http:
        r = await http.get("/healthz")
        assert r.json() == {"status": "ok", "protocol": 1, "broker": "redis",
                            "database": "ok", "redis": "ok"}

    # `hearth create-admin` made the admin; it signs in.
    admin = await admin_token(server.base, cluster.admin)
    assert admin.user["is_admin"] is True
    room = await make_room(server.base, admin)
    ana = await new_user(server.base, "ana", display_name="Ana")
    ben = await new_user(server.base, "ben")
    ws_ana, _ = await WS.enter(server.ws_base, room["slug"], ana)
    ws_ben, welcome = await WS.enter(server.ws_base, room["slug"], ben)
    try:
        assert welcome["room"]["slug"] == room["slug"]
        await ws_ana.send({"type": "send", "body": "hello over postgres", "ref": "r1"})
        got = await ws_ben.next("message", 5.0)
        assert got["body"] == "hello over postgres"
        assert got["author"]["id"] == ana.id and got["author"]["display_name"] == "Ana"
        assert got["room"] == room["slug"] and "ref" not in got
        mine = await ws_ana.next("message", 5.0)
        assert mine["ref"] == "r1" and mine["id"] == got["id"] and mine["seq"] == got["seq"]
        await ws_ben.send({"type": "send", "body": "hi Ana"})
        assert (await ws_ana.next("message", 5.0))["body"] == "hi Ana"
    finally:
        await ws_ana.close()
        await ws_ben.close()

    # `hearth create-admin` on an existing user promotes it and resets its password.
    hearth_cli(cluster.env, "create-admin", ben.username, stdin="a brand new passphrase\n")
    async with httpx.AsyncClient(base_url=server.base) as http:
        r = await http.post("/api/auth/login",
                            json={"username": ben.username, "password": PASSWORD})
        assert r.status_code == 401, r.text
        r = await http.post("/api/auth/login",
                            json={"username": ben.username, "password": "a brand new passphrase"})
        assert r.status_code == 200, r.text
        assert r.json()["user"]["is_admin"] is True

    # A hash made with other parameters is replaced at the next login.
    engine = make_engine(url)
    try:
        sessions = make_sessions(engine)
        old_hash = await Passwords(time_cost=2, memory_kib=8192).hash("an older passphrase")
        async with sessions() as db:
            user = await user_store.create_user(db, unique("old"), "Old", old_hash)
        assert user is not None
        async with httpx.AsyncClient(base_url=server.base) as http:
            r = await http.post("/api/auth/login", json={"username": user.username,
                                                         "password": "an older passphrase"})
            assert r.status_code == 200, r.text
        async with sessions() as db:
            fresh = await user_store.user_by_username(db, user.username)
        assert fresh is not None
        assert fresh.password_hash != old_hash
        assert fresh.password_hash.startswith("$argon2id$")
        assert "m=8192,t=1" in fresh.password_hash  # the server's (test) parameters
        assert await Passwords(time_cost=1, memory_kib=8192).verify(
            fresh.password_hash, "an older passphrase") == (True, None)
    finally:
        await engine.dispose()
