"""Sessions and attendance rows on SQLite and PostgreSQL: one writer wins every race
(opening, ending, stays), and stays add up (PROTOCOL §5). Stays and first entries written
as sockets enter share batches (`store/batched.py`): fewer transactions than callers, each
caller with its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import async_sessionmaker

from server.broker.memory import memory_backplane
from server.ops.dependencies import dependency_failed
from server.rooms.hub import Conn, Header, Hub
from server.rooms.settings import RoomView
from server.sessions import records
from server.sessions.book import SessionBook
from server.store import entries
from server.store import rooms as room_store
from server.store import users as user_store
from server.store.batched import Batched
from server.store.engine import DbSession, make_engine, make_sessions
from server.store.models import GroupSession, RoomEntry
from tests.support.client import unique
from tests.support.pg import async_url, create_database, drop_database, set_connections
from tests.support.servers import hearth_cli
from tests.test_storage import cli_env


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    folder = tmp_path_factory.mktemp(f"sessions-{request.param}")
    name = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{folder / 'hearth.db'}"
    else:
        name = await create_database()
        url = async_url(name)
    hearth_cli(cli_env(url, Path(folder)), "migrate")
    yield url
    if name is not None:
        await drop_database(name)


@pytest.fixture
async def db(database: str) -> AsyncIterator[async_sessionmaker[DbSession]]:
    engine = make_engine(database)
    yield make_sessions(engine)
    await engine.dispose()


async def a_room(db: async_sessionmaker[DbSession]) -> RoomView:
    async with db() as s:
        view = await room_store.create_room(s, RoomView(id="", slug=unique("ss-"), title="G"))
    assert view is not None
    return view


async def a_user(db: async_sessionmaker[DbSession]) -> str:
    async with db() as s:
        user = await user_store.create_user(s, unique("ss"), "Someone", "not-a-hash")
    assert user is not None
    return str(user.id)


async def test_one_of_many_openers_wins(db: async_sessionmaker[DbSession]) -> None:
    room = await a_room(db)

    async def open_one() -> object:
        async with db() as s:
            return await records.open_session(s, room.id, "arrival", 1000)

    opened = [r for r in await asyncio.gather(*(open_one() for _ in range(6))) if r is not None]
    assert len(opened) == 1
    async with db() as s:
        row = await records.current(s, room.id)
        assert row is not None
        ended = await asyncio.gather(
            *(_end(db, row.id, by) for by in ("facilitator", "idle", "idle"))
        )
        assert sorted(ended) == [False, False, True]


async def _end(db: async_sessionmaker[DbSession], session_id: int, by: str) -> bool:
    async with db() as s:
        return await records.end_session(s, session_id, by, 2000)


async def test_a_scheduled_start_opens_once(db: async_sessionmaker[DbSession]) -> None:
    room = await a_room(db)
    async with db() as s:
        first = await records.open_session(s, room.id, "schedule", 1000, slot_at=1000)
        assert first is not None
        assert await records.end_session(s, first.id, "facilitator", 1500)
        assert await records.open_session(s, room.id, "schedule", 1600, slot_at=1000) is None
        assert await records.open_session(s, room.id, "facilitator", 1700) is not None


async def test_stays_add_up_and_each_ends_once(db: async_sessionmaker[DbSession]) -> None:
    room = await a_room(db)
    ana, ben = await a_user(db), await a_user(db)
    async with db() as s:
        row = await records.open_session(s, room.id, "arrival", 0)
        assert row is not None
        session_id = row.id

    async def ensure(user: str, at: int) -> None:
        async with db() as s:
            await records.ensure_stay(s, session_id, user, "member", at)

    async def close(user: str, at: int) -> bool:
        async with db() as s:
            return await records.close_stay(s, session_id, user, at)

    await asyncio.gather(ensure(ana, 1000), ensure(ana, 1000))  # two processes at once
    await ensure(ana, 5000)  # a second socket: the stay goes on
    assert sorted(await asyncio.gather(close(ana, 11_000), close(ana, 11_000))) == [False, True]
    await ensure(ana, 20_000)
    await ensure(ben, 21_000)
    assert await close(ana, 25_000)
    async with db() as s:
        assert await records.end_session(s, session_id, "facilitator", 30_000)
        rows = await records.attendance_of(s, session_id)
        views = [records.attendance_view(a, u, 99_000) for a, u in rows]
        listed = await records.list_sessions(s, room.id, 10, None)
    assert [v["user"]["id"] for v in views] == [ana, ben]
    assert [v["seconds_present"] for v in views] == [15, 9]  # 10 + 5 s; 9 s until the end
    assert [v["first_joined"] for v in views] == [1000, 21_000]
    assert [v["last_left"] for v in views] == [25_000, 30_000]
    assert [(r.id, n) for r, n in listed] == [(session_id, 2)]


async def test_many_stays_end_in_one_call_and_each_once(
    db: async_sessionmaker[DbSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The upkeep ends every stay a dead process left at once (in statements of at most
    STAYS_AT_ONCE users); a stay ended already, or never begun, is not counted again."""
    monkeypatch.setattr(records, "STAYS_AT_ONCE", 2)  # three statements for five users
    room = await a_room(db)
    users = [await a_user(db) for _ in range(5)]
    async with db() as s:
        row = await records.open_session(s, room.id, "arrival", 0)
        assert row is not None
        for at, user in enumerate(users[:4]):
            await records.ensure_stay(s, row.id, user, "member", 1000 * (at + 1))
        assert await records.close_stay(s, row.id, users[0], 6000)
    async with db() as s:
        assert await records.close_stays(s, row.id, [], 9000) == 0
        assert await records.close_stays(s, row.id, users, 9000) == 3  # users 1-3 ran
        assert await records.close_stays(s, row.id, users, 9500) == 0
        rows = await records.attendance_of(s, row.id)
        views = {
            v["user"]["id"]: v for v in (records.attendance_view(a, u, 99_000) for a, u in rows)
        }
    assert [views[u]["seconds_present"] for u in users[:4]] == [5, 7, 6, 5]
    assert all(views[u]["last_left"] == 9000 for u in users[1:4])
    assert users[4] not in views


async def test_a_departure_closes_the_stay_in_its_rooms_open_session_only(
    db: async_sessionmaker[DbSession],
) -> None:
    room, other = await a_room(db), await a_room(db)
    ana = await a_user(db)
    async with db() as s:
        assert not await records.close_stay_in_room(s, room.slug, ana, 500)  # none open
        here = await records.open_session(s, room.id, "arrival", 0)
        there = await records.open_session(s, other.id, "arrival", 0)
        assert here is not None and there is not None
        here_id, there_id = here.id, there.id
    async with db() as s:
        await records.ensure_stay(s, here_id, ana, "member", 1000)
    async with db() as s:
        await records.ensure_stay(s, there_id, ana, "member", 1000)
    async with db() as s:
        assert await records.close_stay_in_room(s, room.slug, ana, 4000)
    async with db() as s:
        assert not await records.close_stay_in_room(s, room.slug, ana, 5000)  # ended once
        assert await records.end_session(s, here_id, "facilitator", 6000)
        ended = await records.attendance_of(s, here_id)
        running = await records.attendance_of(s, there_id)
    assert [(a.present_ms, a.last_left, a.stay_started) for a, _ in ended] == [(3000, 4000, None)]
    assert [a.stay_started for a, _ in running] == [1000]  # the other room's stay goes on


# -- the open session as a process remembers it ------------------------------------------------


def _conn(room: str, n: int) -> Conn:
    return Conn(f"c{n}", room, f"u{n}", f"u{n}", "U", False, "member", "s", 16)


async def test_the_open_session_is_read_once_while_the_room_has_local_sockets(
    db: async_sessionmaker[DbSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A storm of entries into a room reads its open session once: `session` events keep
    it true while the process has sockets there (and its pub/sub connection holds); outside
    such a stretch, or when an event crosses a read, it reads the database again."""
    view = await a_room(db)
    plane = memory_backplane()
    hub = Hub(plane.pubsub, lambda *_: None, lambda *_: None)
    rooms = SimpleNamespace(db=db, hub=hub, backplane=plane, publish=None)
    book = SessionBook(rooms)  # type: ignore[arg-type]
    reads: list[str] = []
    read = records.current
    during_read: list[Callable[[], None]] = []

    async def counted(s: DbSession, room_id: str) -> GroupSession | None:
        reads.append(room_id)
        found = await read(s, room_id)
        while during_read:
            during_read.pop()()
        return found

    monkeypatch.setattr(records, "current", counted)

    def event(row: GroupSession, ended_at: int | None = None) -> Callable[[], None]:
        session = {**records.session_view(row, view.slug), "ended_at": ended_at}
        frame = orjson.dumps({"type": "session", "session": session}).decode()
        return lambda: book.on_event(view.slug, Header(kind="control"), frame, [])

    async with db() as s:
        row = await records.open_session(s, view.id, "arrival", 1000)
    assert row is not None
    opened = records.session_view(row, view.slug)
    assert [await book.open_now(view) for _ in range(2)] == [opened, opened]
    assert len(reads) == 2  # no local socket: nothing keeps a remembered session true
    first = _conn(view.slug, 1)
    await hub.attach(first)
    assert [await book.open_now(view) for _ in range(3)] == [opened] * 3
    assert len(reads) == 3  # one read for the stretch
    async with db() as s:
        assert await records.end_session(s, row.id, "facilitator", 2000)
    event(row, 2000)()  # the ending's event: known without a read
    ended = await book.open_now(view)
    assert ended is None and len(reads) == 3
    hub.backplane_interrupted()  # events may have been lost
    assert await book.open_now(view) is None and len(reads) == 4
    await hub.detach(first)
    await hub.attach(_conn(view.slug, 2))  # a new stretch: the lingering room heard nothing
    assert await book.open_now(view) is None and len(reads) == 5
    async with db() as s:
        again = await records.open_session(s, view.id, "arrival", 3000)
    assert again is not None
    during_read.append(event(again))  # an event crosses the next read
    await book.refresh()  # nothing read by a refresh is trusted
    assert await book.open_now(view) == records.session_view(again, view.slug)
    assert len(reads) == 6
    assert await book.open_now(view) == records.session_view(again, view.slug)
    assert len(reads) == 7  # the crossed read was not trusted: read again, now trusted
    assert await book.open_now(view) == records.session_view(again, view.slug)
    assert len(reads) == 7
    await hub.close()


async def an_open_session(db: async_sessionmaker[DbSession], room: RoomView) -> int:
    async with db() as s:
        row = await records.open_session(s, room.id, "arrival", 0)
    assert row is not None
    return row.id


async def test_concurrent_entries_share_transactions_and_every_row_is_right(
    db: async_sessionmaker[DbSession],
) -> None:
    room = await a_room(db)
    session_id = await an_open_session(db, room)
    users = [await a_user(db) for _ in range(40)]
    stays, first = records.stays_in_batches(db), entries.first_entries_in_batches(db)
    try:
        # Every user enters at once; the first one with a second socket (a twin in a batch).
        calls = [stays.write(records.stay_row(session_id, u, "member", 1000)) for u in users]
        calls += [first.write(entries.first_entry_row(room.id, u, 1000)) for u in users]
        calls += [stays.write(records.stay_row(session_id, users[0], "member", 1500))]
        calls += [first.write(entries.first_entry_row(room.id, users[0], 1500))]
        assert await asyncio.gather(*calls) == [True] * 82
        assert stays.batches <= 2 and first.batches <= 2
    finally:
        await stays.close()
        await first.close()
    async with db() as s:
        views = [
            records.attendance_view(a, u, 3000)
            for a, u in await records.attendance_of(s, session_id)
        ]
        kept = [await entries.first_entered_at(s, room.id, u) for u in users]
    assert sorted(v["user"]["id"] for v in views) == sorted(users)
    assert {(v["first_joined"], v["seconds_present"], v["role"]) for v in views} == {
        (1000, 2, "member")
    }
    assert kept == [1000] * 40


async def test_a_refused_row_fails_only_its_caller(db: async_sessionmaker[DbSession]) -> None:
    room = await a_room(db)
    session_id = await an_open_session(db, room)
    users = [await a_user(db) for _ in range(4)]
    stays, first = records.stays_in_batches(db), entries.first_entries_in_batches(db)
    try:
        gone = records.stay_row(session_id + 1000, users[0], "member", 1000)  # no such session
        rows = [records.stay_row(session_id, u, "member", 1000) for u in users]
        written = await asyncio.gather(*map(stays.write, [rows[0], rows[1], gone, *rows[2:]]))
        assert written == [True, True, False, True, True]
        nobody = entries.first_entry_row(room.id, "no-such-user", 1000)
        rows = [entries.first_entry_row(room.id, u, 1000) for u in users]
        assert await asyncio.gather(*map(first.write, [nobody, *rows])) == [False] + [True] * 4
        assert await stays.write(gone) is False  # alone as well
    finally:
        await stays.close()
        await first.close()
    async with db() as s:
        assert len(await records.attendance_of(s, session_id)) == 4
        assert [await entries.first_entered_at(s, room.id, u) for u in users] == [1000] * 4


async def test_a_batch_when_the_database_is_down_fails_every_caller_and_the_next_works(
    database: str, db: async_sessionmaker[DbSession]
) -> None:
    if not database.startswith("postgresql"):
        return  # SQLite is a file in the process, not a server that can be down
    room = await a_room(db)
    session_id = await an_open_session(db, room)
    users = [await a_user(db) for _ in range(6)]
    stays = records.stays_in_batches(db)
    name = database.rsplit("/", 1)[1]
    try:
        await set_connections(name, False)
        try:
            rows = [records.stay_row(session_id, u, "member", 1000) for u in users]
            failed = await asyncio.gather(*map(stays.write, rows[:3]), return_exceptions=True)
        finally:
            await set_connections(name, True)
        assert all(isinstance(e, Exception) and dependency_failed(e) for e in failed), failed
        assert await asyncio.gather(*map(stays.write, rows[3:])) == [True] * 3
    finally:
        await stays.close()
    async with db() as s:
        present = {u.id for _, u in await records.attendance_of(s, session_id)}
    assert present == set(users[3:])


async def test_closing_writes_what_waits_and_a_later_row_is_written_alone(
    db: async_sessionmaker[DbSession],
) -> None:
    room = await a_room(db)
    users = [await a_user(db) for _ in range(6)]
    first = entries.first_entries_in_batches(db)
    first_rows = [entries.first_entry_row(room.id, u, 1000) for u in users]
    waiting = [asyncio.create_task(first.write(row)) for row in first_rows[:5]]
    await asyncio.sleep(0)  # queued, not written yet
    await first.close()
    async with db() as s:  # written by the close
        assert [await entries.first_entered_at(s, room.id, u) for u in users[:5]] == [1000] * 5
    assert await asyncio.gather(*waiting) == [True] * 5
    assert await first.write(first_rows[5])
    async with db() as s:
        assert await entries.first_entered_at(s, room.id, users[5]) == 1000


async def test_callers_past_the_bound_wait_for_room(db: async_sessionmaker[DbSession]) -> None:
    room = await a_room(db)
    users = [await a_user(db) for _ in range(7)]
    first = Batched(db, lambda _: insert(RoomEntry), "bounded", max_rows=10, max_waiting=3)
    try:
        rows = [{"room_id": room.id, "user_id": u, "first_entered_at": 1000} for u in users]
        assert await asyncio.gather(*map(first.write, rows)) == [True] * 7
        assert first.batches >= 3  # never more than 3 rows waiting
    finally:
        await first.close()


async def test_concurrent_departures_share_transactions_and_end_each_stay_once(
    db: async_sessionmaker[DbSession],
) -> None:
    """A drain ends a thousand stays at once: departures share batches, each ends the stay
    in its room's open session only, a departure twice (two processes) counts once, and one
    from a room with no open session ends nothing."""
    rooms = [await a_room(db) for _ in range(2)]
    idle_room = await a_room(db)
    sessions = [await an_open_session(db, room) for room in rooms]
    users = [await a_user(db) for _ in range(30)]
    async with db() as s:
        for session_id in sessions:
            for user in users:
                await records.ensure_stay(s, session_id, user, "member", 1000)
    departures = records.departures_in_batches(db)
    try:
        calls = [departures.write(records.departure_row(rooms[0].slug, u, 4000)) for u in users]
        calls += [departures.write(records.departure_row(rooms[0].slug, users[0], 9000))]
        calls += [departures.write(records.departure_row(idle_room.slug, users[1], 4000))]
        assert await asyncio.gather(*calls) == [True] * 32
        assert departures.batches <= 2
    finally:
        await departures.close()
    async with db() as s:
        ended = [
            records.attendance_view(a, u, 10_000)
            for a, u in await records.attendance_of(s, sessions[0])
        ]
        running = [
            records.attendance_view(a, u, 10_000)
            for a, u in await records.attendance_of(s, sessions[1])
        ]
    assert {(v["seconds_present"], v["last_left"]) for v in ended} == {(3, 4000)}
    assert {v["seconds_present"] for v in running} == {9}  # still present: counted to now


async def test_a_session_opening_writes_its_present_members_stays_at_once(
    db: async_sessionmaker[DbSession],
) -> None:
    """`ensure_stays` (a session opening with members present): one statement for all; a
    user gone meanwhile is left out, the others are written."""
    room = await a_room(db)
    session_id = await an_open_session(db, room)
    users = [await a_user(db) for _ in range(3)]
    rows = [records.stay_row(session_id, u, "member", 1000) for u in [*users, "gone-user"]]
    async with db() as s:
        await records.ensure_stays(s, rows[:3])
        await records.ensure_stays(s, rows)  # refused as a whole, then one by one
        await records.ensure_stays(s, [])
        found = await records.attendance_of(s, session_id)
        views = [records.attendance_view(a, u, 2000) for a, u in found]
    assert sorted(v["user"]["id"] for v in views) == sorted(users)
    assert {v["first_joined"] for v in views} == {1000}
