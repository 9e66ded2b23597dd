"""Transcripts on clusters of their own: PostgreSQL with a private Redis (words kept off disk
in a database dump and a Redis dump; a database that fails while members talk), and one
process with a transcript key file and a fast purge interval (rotation, the periodic purge).
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis
from sqlalchemy import select

from server.store.engine import make_engine, make_sessions
from server.store.models import RecordedMessage
from tests.support.client import WS, Member, admin_token, new_user
from tests.support.moderation import patch_room
from tests.support.pg import PG_ADMIN_DSN, async_url, create_database, drop_database
from tests.support.redis_server import PrivateRedis
from tests.support.servers import ROOT, SCALE, Cluster
from tests.support.transcripts import (
    consent,
    opt_in_room,
    phrase,
    recorded_and_not,
    say,
    transcript,
)
from tests.test_transcripts import age_rows

pytestmark = pytest.mark.timeout(300)


def _pg_dsn(name: str) -> str:
    return PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + name


class DumpingRedis(PrivateRedis):
    """A private redis-server whose dumps go to a folder of ours (Redis 7 will not change
    `dir` at run time); it saves only when told to."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def extra_args(self) -> list[str]:
        # Uncompressed, so plain words could not hide from the check.
        return ["--dir", str(self.folder), "--dbfilename", "hearth.rdb",
                "--rdbcompression", "no"]


@pytest.fixture(scope="module")
def private_redis() -> Iterator[DumpingRedis]:
    server = DumpingRedis(Path(tempfile.mkdtemp(prefix="hearth-redis-dump-"))).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def pg_cluster(private_redis: DumpingRedis) -> AsyncIterator[tuple[Cluster, str]]:
    """Two processes on a fresh PostgreSQL database and the private Redis (db 0)."""
    name = await create_database()
    workdir = Path(tempfile.mkdtemp(prefix="hearth-transcripts-pg-"))
    cluster = Cluster(workdir=workdir, database_url=async_url(name), redis_url=private_redis.url)
    await asyncio.to_thread(cluster.start)
    yield cluster, name
    await asyncio.to_thread(cluster.stop)
    await drop_database(name)


async def test_recording_on_postgresql(pg_cluster: tuple[Cluster, str]) -> None:
    cluster, _ = pg_cluster
    s0, s1 = cluster.servers
    admin = await admin_token(s0.base, cluster.admin)
    room = await opt_in_room(s0.base, admin)
    slug = room["slug"]
    alice, bob = await new_user(s0.base), await new_user(s1.base)
    a, _ = await WS.enter(s0.ws_base, slug, alice)
    b, _ = await WS.enter(s1.ws_base, slug, bob)
    await consent(a, True)
    await consent(b, True)
    sent = await asyncio.gather(*(say(ws, phrase(f"pg {i}")) for i, ws in enumerate((a, b))))
    assert all(m["recorded"] for m in sent)
    await consent(b, False)
    assert (await say(b, phrase("bob withdrew")))["recorded"] is False
    kept = await transcript(s1.base, admin, slug, want=2)
    assert sorted(m["id"] for m in kept) == sorted(m["id"] for m in sent)
    assert [m["seq"] for m in kept] == sorted(m["seq"] for m in sent)
    await a.close()
    await b.close()


async def test_words_stay_off_postgresql_and_redis_disks(
    pg_cluster: tuple[Cluster, str], private_redis: DumpingRedis
) -> None:
    cluster, name = pg_cluster
    s0, s1 = cluster.servers
    admin = await admin_token(s0.base, cluster.admin)
    title = phrase("title canary")[:60]
    slug, _, bob, a, b = await recorded_and_not(
        s0, s1, admin, title=title, resume_window_seconds=3600
    )
    recorded, unrecorded = phrase("alice on pg"), phrase("bob on pg")
    assert (await say(a, recorded))["recorded"] is True
    await b.next("message", body=recorded)
    assert (await say(b, unrecorded))["recorded"] is False
    await a.next("message", body=unrecorded)
    assert [m["body"] for m in await transcript(s0.base, admin, slug, want=1)] == [recorded]
    # Both messages are in the resume window now (in Redis, sealed).
    _, welcome = await WS.enter(s1.ws_base, slug, bob, query="after_seq=0")
    assert [m["body"] for m in welcome["history"]] == [recorded, unrecorded]
    await a.close()
    await b.close()

    dump = subprocess.run(
        ["pg_dump", "--data-only", _pg_dsn(name)], capture_output=True, check=True, timeout=60
    ).stdout
    assert title.encode() in dump  # the dump shows what is stored in the clear
    for words in (recorded, unrecorded):
        assert words.encode() not in dump
        assert words.encode().hex().encode() not in dump  # bytea is dumped as hex

    client = redis.Redis(port=private_redis.port)
    try:
        canary = phrase("redis canary")
        client.set("test:canary", canary)
        assert client.save()
    finally:
        client.close()
    rdb = (private_redis.folder / "hearth.rdb").read_bytes()
    assert canary.encode() in rdb and slug.encode() in rdb
    assert recorded.encode() not in rdb and unrecorded.encode() not in rdb
    logs = cluster.logs()
    assert recorded not in logs and unrecorded not in logs


@pytest.fixture(scope="module")
async def failing_cluster(private_redis: DumpingRedis) -> AsyncIterator[tuple[Cluster, str]]:
    """Two processes on a PostgreSQL database of their own, to be made unavailable."""
    name = await create_database()
    workdir = Path(tempfile.mkdtemp(prefix="hearth-transcripts-fail-"))
    redis_url = private_redis.url.rsplit("/", 1)[0] + "/1"
    cluster = Cluster(workdir=workdir, database_url=async_url(name), redis_url=redis_url)
    await asyncio.to_thread(cluster.start)
    yield cluster, name
    await set_connections(name, True)
    await asyncio.to_thread(cluster.stop)
    await drop_database(name)


async def answer(ws: WS, ref: str) -> dict[str, Any]:
    """The `message` or `error` a send with this ref caused."""
    while True:
        frame = await ws.recv(15)
        if frame.get("ref") == ref and frame["type"] in ("message", "error"):
            return frame


async def set_connections(name: str, allowed: bool) -> None:
    """Let the database take connections, or refuse them and end the open ones."""
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                name,
            )
    finally:
        await conn.close()


async def test_a_recorded_message_is_not_sent_when_the_database_fails(
    failing_cluster: tuple[Cluster, str],
) -> None:
    cluster, name = failing_cluster
    s0, s1 = cluster.servers
    admin = await admin_token(s0.base, cluster.admin)
    slug, _, _, a, b = await recorded_and_not(s0, s1, admin)
    first = await say(a, phrase("stored before the failure"))
    assert first["recorded"] is True
    await transcript(s0.base, admin, slug, want=1)

    await set_connections(name, False)
    try:
        lost = phrase("the database is down")
        await a.send({"type": "send", "body": lost, "ref": "down"})
        error = await a.next("error", ref="down", timeout=15)
        assert error["code"] == "unavailable" and "not sent" in error["message"]
        # Bob, who does not consent, still talks: his words need no database.
        unrecorded = await say(b, phrase("bob while the database is down"))
        assert unrecorded["recorded"] is False
        seen_by_alice = await a.next("message", id=unrecorded["id"])
        assert seen_by_alice["recorded"] is False
        assert not [f for f in b.seen if f.get("body") == lost]
        assert not [f for f in a.seen if f.get("type") == "message" and f.get("body") == lost]
    finally:
        await set_connections(name, True)

    # The pool reconnects; the author's retry goes through, recorded.
    frame: dict[str, Any] = {}
    deadline = time.monotonic() + 15 * SCALE
    for attempt in range(100):
        ref = f"retry-{attempt}"
        await a.send({"type": "send", "body": lost, "ref": ref})
        frame = await answer(a, ref)
        if frame["type"] == "message" or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert frame["type"] == "message" and frame["recorded"] is True
    theirs = await b.next("message", id=frame["id"])
    assert theirs["recorded"] is True
    assert not [f for f in b.seen if f.get("body") == lost and f["id"] != frame["id"]]
    kept = await transcript(s1.base, admin, slug, want=2)
    assert [m["id"] for m in kept] == [first["id"], frame["id"]]
    logs = cluster.logs()
    assert "a recorded message was not sent: storing it failed" in logs
    assert lost not in logs
    await a.close()
    await b.close()


# -- one process with a key file and a fast purge ---------------------------------------------


def _key_line(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


@pytest.fixture(scope="module")
def keyed() -> Iterator[tuple[Cluster, Path]]:
    workdir = Path(tempfile.mkdtemp(prefix="hearth-transcripts-keyed-"))
    key_file = workdir / "transcript.key"
    key_file.write_text("# current key first\n" + _key_line("k1") + "\n")
    os.chmod(key_file, 0o600)
    config = workdir / "hearth.toml"
    base = (ROOT / "tests" / "support" / "hearth-test.toml").read_text()
    config.write_text(
        base + f'\n[transcripts]\nkey_file = "{key_file.name}"\npurge_interval_seconds = 1\n'
    )
    cluster = Cluster(
        workdir=workdir,
        database_url=f"sqlite+aiosqlite:///{workdir / 'h.db'}",
        redis_url=None,
        processes=1,
        config=str(config),
    ).start()
    yield cluster, key_file
    cluster.stop()


async def stored_rows(database_url: str) -> list[RecordedMessage]:
    engine = make_engine(database_url)
    try:
        async with make_sessions(engine)() as db:
            return list((await db.execute(select(RecordedMessage))).scalars())
    finally:
        await engine.dispose()


async def test_keys_rotate_and_old_rows_still_open(keyed: tuple[Cluster, Path]) -> None:
    cluster, key_file = keyed
    server = cluster.servers[0]
    admin = await admin_token(server.base, cluster.admin)
    room = await opt_in_room(server.base, admin, retention_days=None)
    slug = room["slug"]
    alice = await new_user(server.base)
    a, _ = await WS.enter(server.ws_base, slug, alice)
    await consent(a, True)
    old = await say(a, phrase("under k1"))
    await transcript(server.base, admin, slug, want=1)
    await a.close()
    assert [r.key_id for r in await stored_rows(cluster.database_url)] == ["k1"]

    key_file.write_text(_key_line("k2") + "\n" + key_file.read_text())
    server.stop()
    await asyncio.to_thread(server.start)
    admin = await admin_token(server.base, cluster.admin)
    a, welcome = await WS.enter(server.ws_base, slug, alice)
    assert welcome["you"]["consent"] is True
    new = await say(a, phrase("under k2"))
    await a.close()
    kept = await transcript(server.base, admin, slug, want=2)
    assert [m["body"] for m in kept] == [old["body"], new["body"]]
    rows = sorted(await stored_rows(cluster.database_url), key=lambda r: r.seq or 0)
    assert [r.key_id for r in rows] == ["k1", "k2"]
    assert "readable by others" not in cluster.logs()


async def test_the_server_purges_on_its_own(keyed: tuple[Cluster, Path], admin_of: Any) -> None:
    cluster, _ = keyed
    server = cluster.servers[0]
    admin: Member = await admin_of(cluster)
    room = await opt_in_room(server.base, admin, retention_days=1)
    slug = room["slug"]
    alice = await new_user(server.base)
    a, _ = await WS.enter(server.ws_base, slug, alice)
    await consent(a, True)
    await say(a, phrase("soon too old"))
    await transcript(server.base, admin, slug, want=1)
    assert await age_rows(cluster.database_url, slug, days=2) == 1
    fresh = await say(a, phrase("fresh"))
    await a.close()
    deadline = time.monotonic() + 10 * SCALE
    while time.monotonic() < deadline:
        kept = await transcript(server.base, admin, slug)
        if [m["id"] for m in kept] == [fresh["id"]]:
            break
        await asyncio.sleep(0.2)
    assert [m["id"] for m in kept] == [fresh["id"]]
    assert "purged 1 recorded messages past their room's retention" in cluster.logs()


@pytest.fixture
def admin_of() -> Any:
    async def sign_in(cluster: Cluster) -> Member:
        return await admin_token(cluster.servers[0].base, cluster.admin)

    return sign_in


async def test_a_patched_retention_is_used_by_the_next_periodic_purge(
    keyed: tuple[Cluster, Path], admin_of: Any
) -> None:
    cluster, _ = keyed
    server = cluster.servers[0]
    admin: Member = await admin_of(cluster)
    room = await opt_in_room(server.base, admin, retention_days=None)
    slug = room["slug"]
    alice = await new_user(server.base)
    a, _ = await WS.enter(server.ws_base, slug, alice)
    await consent(a, True)
    await say(a, phrase("kept forever, then not"))
    await a.close()
    await transcript(server.base, admin, slug, want=1)
    await age_rows(cluster.database_url, slug, days=5)
    await asyncio.sleep(1.5 * SCALE)  # a purge pass or more: nothing of a keep-forever room
    assert len(await transcript(server.base, admin, slug)) == 1
    await patch_room(server.base, admin, slug, retention_days=3)
    deadline = time.monotonic() + 10 * SCALE
    while await transcript(server.base, admin, slug) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert await transcript(server.base, admin, slug) == []
