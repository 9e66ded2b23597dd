"""What entering costs the server's CPU in writes, without the benchmark: N concurrent
entries' worth of `record_first_entry` + `ensure_stay` on PostgreSQL, each written alone
(a checkout, a statement and a commit each, as entering did) or in shared batches
(`store/batched.py`, as entering does now); `time.process_time()` per call.

    .venv/bin/python -m bench.entry_writes [--entries 1000] [--at-once 1000] [--rounds 3]
        [--modes direct,batched]

`--at-once 1` is a steady trickle of entries (the `idle` profile), the default a storm.

Uses a throw-away database on the test server (`HEARTH_TEST_PG_DSN`, default database
`test` on 127.0.0.1:5432), migrated, then dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import async_sessionmaker

from server.rooms.settings import RoomView
from server.sessions import records
from server.store import entries
from server.store import rooms as room_store
from server.store.engine import DbSession, make_engine, make_sessions, without_transaction
from server.store.models import User
from tests.support.pg import async_url, create_database, drop_database
from tests.support.servers import hearth_cli
from tests.test_storage import cli_env

Enter = Callable[[str, int, str], Awaitable[object]]
Close = Callable[[], Awaitable[None]]


async def _setup(db: async_sessionmaker[DbSession], n: int) -> tuple[str, int, list[str]]:
    """A room with an open session and `n` users who never entered it."""
    async with db() as s:
        view = await room_store.create_room(
            s, RoomView(id="", slug=f"m-{uuid.uuid4().hex[:8]}", title="M")
        )
        assert view is not None
        row = await records.open_session(s, view.id, "arrival", 1000)
        assert row is not None
        users = [uuid.uuid4().hex for _ in range(n)]
        await s.execute(
            insert(User),
            [
                {
                    "id": u,
                    "username": f"u{u[:16]}",
                    "display_name": "M",
                    "password_hash": "x",
                    "created_at": 1,
                }
                for u in users
            ],
        )
        await s.commit()
    return view.id, row.id, users


def _direct(db: async_sessionmaker[DbSession]) -> tuple[Enter, Close]:
    async def enter(room_id: str, session_id: int, user_id: str) -> None:
        async with db() as s:
            await without_transaction(s)
            await entries.record_first_entry(s, room_id, user_id, 2000)
        async with db() as s:
            await without_transaction(s)
            await records.ensure_stay(s, session_id, user_id, "member", 2000)

    async def close() -> None:
        pass

    return enter, close


def _batched(db: async_sessionmaker[DbSession]) -> tuple[Enter, Close]:
    first, stays = entries.first_entries_in_batches(db), records.stays_in_batches(db)

    async def enter(room_id: str, session_id: int, user_id: str) -> None:
        await first.write(entries.first_entry_row(room_id, user_id, 2000))
        await stays.write(records.stay_row(session_id, user_id, "member", 2000))

    async def close() -> None:
        await first.close()
        await stays.close()

    return enter, close


async def _round(
    db: async_sessionmaker[DbSession],
    make: Callable[..., tuple[Enter, Close]],
    n: int,
    at_once: int,
) -> str:
    room_id, session_id, users = await _setup(db, n)
    enter, close = make(db)
    cpu, wall = time.process_time(), time.perf_counter()
    for start in range(0, n, at_once):
        await asyncio.gather(
            *(enter(room_id, session_id, u) for u in users[start : start + at_once])
        )
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await close()
    per_call = cpu * 1e6 / (2 * n)
    return f"{n} entries, {at_once} at once: {per_call:.0f} µs CPU per call, {wall:.2f} s wall"


async def main(n: int, at_once: int, rounds: int, modes: list[str]) -> None:
    name = await create_database()
    url = async_url(name)
    with tempfile.TemporaryDirectory() as folder:
        hearth_cli(cli_env(url, Path(folder)), "migrate")
    engine = make_engine(url)  # as the app makes it (a pool of 10, 10 more overflowing)
    db = make_sessions(engine)
    makers = {"direct": _direct, "batched": _batched}
    try:
        for mode in modes:  # warm the pool and SQLAlchemy's caches
            await _round(db, makers[mode], 50, 50)
        for i in range(rounds):
            for mode in modes:
                print(
                    f"round {i + 1} {mode:8}",
                    await _round(db, makers[mode], n, at_once),
                    flush=True,
                )
    finally:
        await engine.dispose()
        await drop_database(name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--at-once", type=int, default=0, help="entries a wave (0: all)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modes", default="direct,batched")
    args = parser.parse_args()
    at_once = args.at_once or args.entries
    asyncio.run(main(args.entries, at_once, args.rounds, args.modes.split(",")))
