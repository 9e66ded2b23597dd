"""The transcript's parts on their own: key files and Markdown escaping (pure), then group
commit, the consent cache, erasing and unnumbered rows against real SQLite and PostgreSQL
databases in this process."""

from __future__ import annotations

import asyncio
import base64
import secrets
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from server.broker.base import Append
from server.broker.envelope import Header
from server.broker.memory import memory_backplane
from server.config import Settings, load_settings, transcript_keys
from server.rooms.hub import Conn
from server.rooms.sending import Draft
from server.rooms.settings import RoomView
from server.sealing import Sealer
from server.store import rooms as room_store
from server.store import users as user_store
from server.store.engine import DbSession, make_engine, make_sessions
from server.store.models import RecordedMessage, Room
from server.store.schema import upgrade_in_thread
from server.transcripts import store as transcript_store
from server.transcripts.batches import RowsRefused, batches_for
from server.transcripts.bodies import open_message, sealed_row
from server.transcripts.consent import CONSENT_EVENT, ConsentBook
from server.transcripts.keys import DERIVED_KEY_ID, transcript_sealer
from server.transcripts.markdown import escape_line, quote_block
from server.transcripts.orphans import settle_unnumbered
from server.transcripts.transcript import Transcript
from server.transcripts.writer import GroupWriter
from server.wire.out import MessageFields, message_fields
from tests.support.client import unique
from tests.support.pg import PG_ADMIN_DSN, async_url, create_database, drop_database

pytestmark = pytest.mark.timeout(120)


def key_line(key_id: str, size: int = 32) -> str:
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(size)).decode()}"


# -- pure: key files, sealing, Markdown ------------------------------------------------------


def test_key_file_lines_current_first() -> None:
    one, two = key_line("k2"), key_line("k1")
    keys = transcript_keys(f"# rotated on Tuesday\n\n{one}\n  {two}  \n")
    assert [k for k, _ in keys] == ["k2", "k1"]
    assert keys[0][1] == one.split(":", 1)[1]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# only a comment\n",
        "k1\n",
        key_line("k1", 16),
        key_line("bad id!"),
        f"{key_line('k1')}\n{key_line('k1')}",
        "k1:not base64!",
    ],
    ids=["empty", "comment", "no-key", "short", "bad-id", "twice", "not-base64"],
)
def test_bad_key_files_are_refused(text: str) -> None:
    with pytest.raises(ValueError) as refused:
        transcript_keys(text)
    for line in text.splitlines():  # the error never shows key material
        if ":" in line:
            assert line.split(":", 1)[1] not in str(refused.value)


def test_settings_read_the_key_file_named_by_the_environment(tmp_path: Path) -> None:
    key_file = tmp_path / "t.key"
    key_file.write_text(key_line("k9") + "\n")
    env = {
        "HEARTH_CONFIG": str(tmp_path / "none.toml"),
        "HEARTH_SECRET_KEY": "s" * 32,
        "HEARTH_TRANSCRIPT_KEY_FILE": str(key_file),
    }
    (tmp_path / "none.toml").write_text("")
    settings = load_settings(env)
    assert [k for k, _ in settings.transcript_keys] == ["k9"]
    sealer = transcript_sealer(settings)
    assert sealer.current == "k9"
    # Rows sealed with the secret-derived key, before a key file existed, still open.
    derived = transcript_sealer(Settings(secret_key="s" * 32))
    assert derived.current == DERIVED_KEY_ID
    key_id, sealed = derived.seal_bytes("before the key file")
    assert sealer.open_bytes(key_id, sealed) == "before the key file"
    (tmp_path / "bad.key").write_text("k1:short\n")
    with pytest.raises(ValueError):
        load_settings({**env, "HEARTH_TRANSCRIPT_KEY_FILE": str(tmp_path / "bad.key")})


def test_markdown_escapes_every_construct() -> None:
    assert escape_line("*a* _b_ `c` [d](e) <f> #g !h |i| ~j~ $k$ &l; \\m") == (
        "\\*a\\* \\_b\\_ \\`c\\` \\[d\\]\\(e\\) \\<f\\> \\#g \\!h \\|i\\| \\~j\\~ \\$k\\$ "
        "\\&l; \\\\m"
    )
    assert escape_line("plain, simple; what? 'yes' \"no\" 50% a/b") == (
        "plain, simple; what? 'yes' \"no\" 50% a/b"
    )
    assert escape_line("two\nlines\ttab") == "two lines tab"
    assert escape_line("    four spaces") == "&#32;&#32;&#32;&#32;four spaces"


def test_quote_block_keeps_lines_literal() -> None:
    assert quote_block("one\ntwo\r\n\n  three\rfour\\") == (
        "> one\\\n> two\n>\n> &#32;&#32;three\\\n> four\\\\"
    )
    assert quote_block("") == ">"


def test_a_sealed_body_opens_only_in_its_own_row() -> None:
    sealer = Sealer({"k1": secrets.token_bytes(32)}, "k1")
    conn = Conn("c", "room", "u1", "alice", "Alice", False, "member", "s", 1)
    draft = Draft(conn, RoomView(id="r1", slug="room", title="T"), "my words", None)
    row = RecordedMessage(**sealed_row(sealer, "r1", draft, 0))
    row.seq = 7
    assert b"my words" not in row.body_sealed
    assert open_message(sealer, row, "room")["body"] == "my words"
    moved = RecordedMessage(**sealed_row(sealer, "r1", draft, 0))
    moved.message_id, moved.seq = "another", 8
    moved.body_sealed = row.body_sealed
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag
        open_message(sealer, moved, "room")


# -- against real databases ------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A migrated database of each backend."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'parts.db'}"
        await upgrade_in_thread(url)
        yield url
        return
    name = await create_database()
    url = async_url(name)
    await upgrade_in_thread(url)
    yield url
    await drop_database(name)


@pytest.fixture
async def sessions(database: str) -> AsyncIterator[async_sessionmaker[DbSession]]:
    engine = make_engine(database)
    yield make_sessions(engine)
    await engine.dispose()


@pytest.fixture
async def writer(database: str) -> AsyncIterator[GroupWriter]:
    """A started group writer with the database's own batches."""
    started = GroupWriter(batches_for(database, 10.0))
    await started.start()
    yield started
    await started.close()


async def a_room(db: async_sessionmaker[DbSession], transcripts: str = "opt_in") -> RoomView:
    async with db() as session:
        view = await room_store.create_room(
            session, RoomView(id="", slug=unique("tp-"), title="Parts", transcripts=transcripts)
        )
    assert view is not None
    return view


async def a_user(db: async_sessionmaker[DbSession], consents_in: RoomView | None = None) -> Any:
    async with db() as session:
        user = await user_store.create_user(session, unique("tp"), "Someone", "not-a-hash")
        assert user is not None
        if consents_in is not None:
            assert await transcript_store.set_consent_if_recording(
                session, consents_in.id, user.id, True
            )
    return user


def draft_of(room: RoomView, user: Any, body: str) -> Draft:
    conn = Conn("c", room.slug, user.id, user.username, "Someone", False, "member", "s", 1)
    return Draft(conn, room, body, None)


SEALER = Sealer({"k1": secrets.token_bytes(32)}, "k1")


async def test_group_commit_writes_concurrent_rows_in_few_transactions(
    database: str, sessions: async_sessionmaker[DbSession]
) -> None:
    room = await a_room(sessions)
    yes = [await a_user(sessions, consents_in=room) for _ in range(3)]
    no = await a_user(sessions)
    writer = GroupWriter(batches_for(database, 10.0))
    await writer.start()
    try:
        drafts = [draft_of(room, yes[i % 3], f"words {i}") for i in range(120)]
        drafts += [draft_of(room, no, "not consenting")]
        rows = [sealed_row(SEALER, room.id, d, int(time.time() * 1000)) for d in drafts]
        results = await asyncio.gather(*(writer.store(r) for r in rows))
        assert results == [True] * 120 + [False]
        assert writer.batches <= 3
        before = writer.batches
        await asyncio.gather(
            *(writer.number(room.id, d.id, i + 1, "e1") for i, d in enumerate(drafts[:120]))
        )
        assert writer.batches - before <= 3
    finally:
        await writer.close()
    page = await Transcript(sessions, SEALER, memory_backplane().log).page(room, 0, 500)
    assert [m["body"] for m in page] == [f"words {i}" for i in range(120)]
    assert [m["seq"] for m in page] == list(range(1, 121))
    assert all(m["author"]["id"] != no.id for m in page)


async def test_a_lone_row_does_not_linger_but_a_stream_does(
    database: str, sessions: async_sessionmaker[DbSession]
) -> None:
    room = await a_room(sessions)
    user = await a_user(sessions, consents_in=room)

    def row(body: str) -> dict[str, Any]:
        return sealed_row(SEALER, room.id, draft_of(room, user, body), int(time.time() * 1000))

    # Lingers far longer than the waits: a row or number that lingered would time out.
    slow = GroupWriter(batches_for(database, 10.0), linger=60.0, wait=120)
    await slow.start()
    try:
        alone = row("alone")
        assert await asyncio.wait_for(slow.store(alone), 10.0)
        await asyncio.wait_for(slow.number(room.id, alone["message_id"], 1, "e1"), 10.0)
        assert slow.batches == 2
        # A meeting's pace: each row goes with the number of the message before it. A row
        # and a number are not a stream: neither the pair nor the ones after it linger.
        before = alone
        for seq in range(2, 6):
            message = row(f"message {seq}")
            stored, _ = await asyncio.wait_for(
                asyncio.gather(
                    slow.store(message), slow.number(room.id, before["message_id"], seq - 1, "e1")
                ),
                10.0,
            )
            assert stored
            before = message
        await asyncio.wait_for(slow.number(room.id, before["message_id"], 5, "e1"), 10.0)
        assert slow.batches == 7
    finally:
        await slow.close()
    stream = GroupWriter(batches_for(database, 10.0), linger=1.0)
    await stream.start()
    try:
        # Two at once: a stream. The next row lingers, and the one sent after it comes along.
        assert await asyncio.gather(stream.store(row("one")), stream.store(row("two")))
        assert stream.batches == 1
        first = asyncio.ensure_future(stream.store(row("three")))
        await asyncio.sleep(0.01)
        assert not first.done()
        second = asyncio.ensure_future(stream.store(row("four")))
        assert list(await asyncio.gather(first, second)) == [True, True]
        assert stream.batches == 2
    finally:
        await stream.close()


async def test_one_refused_row_does_not_sink_its_batch(
    sessions: async_sessionmaker[DbSession], writer: GroupWriter
) -> None:
    room = await a_room(sessions)
    user = await a_user(sessions, consents_in=room)
    twin = draft_of(room, user, "first")
    rows = [sealed_row(SEALER, room.id, twin, 1), sealed_row(SEALER, room.id, twin, 1)]
    rows += [sealed_row(SEALER, room.id, draft_of(room, user, "ok"), 1)]
    results = await asyncio.gather(*(writer.store(r) for r in rows), return_exceptions=True)
    assert results[0] is True and results[2] is True
    assert isinstance(results[1], RowsRefused)


async def test_the_writer_writes_again_on_a_fresh_connection_after_losing_its_own(
    database: str, sessions: async_sessionmaker[DbSession], writer: GroupWriter
) -> None:
    room = await a_room(sessions)
    user = await a_user(sessions, consents_in=room)
    first, second = draft_of(room, user, "before"), draft_of(room, user, "after")
    assert await writer.store(sealed_row(SEALER, room.id, first, 1))
    if database.startswith("postgresql"):  # the database ends the writer's backend
        await _end_backends_of(database.rsplit("/", 1)[1])
    assert await writer.store(sealed_row(SEALER, room.id, second, 1))
    await writer.number(room.id, first.id, 1, "e")
    await writer.number(room.id, second.id, 2, "e")
    page = await Transcript(sessions, SEALER, memory_backplane().log).page(room, 0, 10)
    assert [m["body"] for m in page] == ["before", "after"]


async def test_a_batch_the_database_holds_past_the_timeout_fails_alone(
    database: str, sessions: async_sessionmaker[DbSession]
) -> None:
    if not database.startswith("postgresql"):
        return  # SQLite has no statement timeout here; its busy timeout is the engine's
    room = await a_room(sessions)
    user = await a_user(sessions, consents_in=room)
    writer = GroupWriter(batches_for(database, 0.5))
    await writer.start()
    blocker = await asyncpg.connect(database.replace("postgresql+asyncpg", "postgresql"))
    try:
        async with blocker.transaction():  # the batch's share lock on the consent waits
            await blocker.execute(
                "SELECT 1 FROM consents WHERE room_id = $1 AND user_id = $2 FOR UPDATE",
                room.id,
                user.id,
            )
            with pytest.raises(TimeoutError):
                await writer.store(sealed_row(SEALER, room.id, draft_of(room, user, "held"), 1))
        assert await writer.store(sealed_row(SEALER, room.id, draft_of(room, user, "next"), 1))
    finally:
        await blocker.close()
        await writer.close()


async def _end_backends_of(name: str) -> None:
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        ended = await admin.fetchval(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()) AS t",
            name,
        )
        assert ended >= 1
    finally:
        await admin.close()


async def test_the_writer_checks_consent_in_the_database(
    database: str, sessions: async_sessionmaker[DbSession]
) -> None:
    room = await a_room(sessions)
    user = await a_user(sessions, consents_in=room)
    writer = GroupWriter(batches_for(database, 10.0))
    await writer.start()
    try:
        assert await writer.store(sealed_row(SEALER, room.id, draft_of(room, user, "a"), 1))
        async with sessions() as db:
            assert await transcript_store.set_consent_if_recording(db, room.id, user.id, False)
        assert not await writer.store(sealed_row(SEALER, room.id, draft_of(room, user, "b"), 1))
        # A room switched off records nobody, whatever consent is left in the database.
        off = await a_room(sessions)
        async with sessions() as db:  # a consent left from before the room stopped recording
            assert await transcript_store.set_consent_if_recording(db, off.id, user.id, True)
            await db.execute(update(Room).where(Room.id == off.id).values(transcripts="off"))
            await db.commit()
        assert not await writer.store(sealed_row(SEALER, off.id, draft_of(off, user, "c"), 1))
    finally:
        await writer.close()


async def test_consent_is_cached_and_changes_are_announced(
    sessions: async_sessionmaker[DbSession],
) -> None:
    room = await a_room(sessions)
    user = await a_user(sessions)
    announced: list[tuple[str, Header]] = []

    async def publish(slug: str, header: Header, frame: str) -> None:
        announced.append((slug, header))

    now = [1000.0]
    book = ConsentBook(sessions, publish, ttl=60, clock=lambda: now[0])
    assert await book.consents(room, user.id) is False
    async with sessions() as db:  # changed behind the cache's back
        assert await transcript_store.set_consent_if_recording(db, room.id, user.id, True)
    assert await book.consents(room, user.id) is False  # answered without a query
    now[0] += 61
    assert await book.consents(room, user.id) is True  # expired: read again

    assert await book.change(room, user.id, False) is True
    assert await book.consents(room, user.id) is False
    assert announced == [
        (
            room.slug,
            Header(
                kind="control",
                event=CONSENT_EVENT,
                user=user.id,
                data={"room_id": room.id, "p": book.process},
            ),
        )
    ]
    async with sessions() as db:
        assert await transcript_store.consent_of(db, room.id, user.id) is False
        assert await transcript_store.set_consent_if_recording(db, room.id, user.id, True)
    book.on_event(room.slug, announced[0][1], "{}", [])  # its own event: ignored
    assert await book.consents(room, user.id) is False
    elsewhere = {**announced[0][1].data, "p": "another process"}
    book.on_event(room.slug, msgspec.structs.replace(announced[0][1], data=elsewhere), "{}", [])
    assert await book.consents(room, user.id) is True

    off = await a_room(sessions, transcripts="off")
    assert await book.change(off, user.id, True) is False
    async with sessions() as db:
        assert await transcript_store.consent_of(db, off.id, user.id) is False
    assert await book.consents(off, user.id) is False


async def test_erasing_from_the_transcript(
    database: str, sessions: async_sessionmaker[DbSession]
) -> None:
    room = await a_room(sessions)
    alice = await a_user(sessions, consents_in=room)
    bob = await a_user(sessions, consents_in=room)
    writer = GroupWriter(batches_for(database, 10.0))
    await writer.start()
    drafts = [draft_of(room, who, f"m{i}") for i, who in enumerate([alice, bob, alice, bob])]
    try:
        for seq, d in enumerate(drafts, 1):
            assert await writer.store(sealed_row(SEALER, room.id, d, 1))
            await writer.number(room.id, d.id, seq, "e")
    finally:
        await writer.close()
    transcript = Transcript(sessions, SEALER, memory_backplane().log)
    assert (await transcript.message(room, drafts[1].id) or {})["body"] == "m1"
    await transcript.erase(room, [drafts[1].id, "unknown"])
    assert await transcript.message(room, drafts[1].id) is None
    assert sorted(await transcript.erase_author(room, alice.id)) == sorted(
        [drafts[0].id, drafts[2].id]
    )
    assert [m["id"] for m in await transcript.page(room, 0, 10)] == [drafts[3].id]


async def test_a_published_row_not_yet_numbered_is_read_at_its_place(
    database: str, sessions: async_sessionmaker[DbSession]
) -> None:
    """Nobody waits for a recorded message's number: a reader who already has the message
    finds it in the transcript, placed by the room log; a row never published stays out."""
    room = await a_room(sessions)
    user = await a_user(sessions, consents_in=room)
    plane = memory_backplane()
    drafts = [draft_of(room, user, w) for w in ("one", "two", "never sent", "three")]
    writer = GroupWriter(batches_for(database, 10.0))
    await writer.start()
    seqs: dict[str, int] = {}
    try:
        for d in drafts:
            assert await writer.store(sealed_row(SEALER, room.id, d, int(time.time() * 1000)))
            if d.body != "never sent":
                seqs[d.id] = (await plane.log.append(an_append(room, user.id, d))).seq
        await writer.number(room.id, drafts[0].id, seqs[drafts[0].id], "e")  # only "one"
        transcript = Transcript(sessions, SEALER, plane.log)
        page = await transcript.page(room, 0, 10)
        assert [(m["body"], m["seq"]) for m in page] == [("one", 1), ("two", 2), ("three", 3)]
        assert [m["body"] for m in await transcript.page(room, 1, 1)] == ["two"]
        assert [m["body"] for m in await transcript.page(room, 2, 10)] == ["three"]
        assert (await transcript.message(room, drafts[3].id) or {}).get("seq") == 3
        assert await transcript.message(room, drafts[2].id) is None
        everything = await transcript.period(room, 0, int(time.time() * 1000) + 1000)
        assert [m["body"] for m in everything or []] == ["one", "two", "three"]
        # Numbered meanwhile: read once, at the same place.
        for d in (drafts[1], drafts[3]):
            await writer.number(room.id, d.id, seqs[d.id], "e")
        page = await transcript.page(room, 0, 10)
        assert [(m["body"], m["seq"]) for m in page] == [("one", 1), ("two", 2), ("three", 3)]
    finally:
        await writer.close()


def an_append(room: RoomView, author_id: str, draft: Draft) -> Append:
    fields = MessageFields(draft.id, room.slug, {"id": author_id}, draft.body, draft.ts, True)
    return Append(
        room=room.slug,
        message_id=draft.id,
        author_id=author_id,
        fields=message_fields(fields),
        header=Header(kind="message"),
        ref_key=None,
        window_seconds=300,
        known=None,
    )


async def test_unnumbered_rows_are_numbered_or_deleted(
    database: str, sessions: async_sessionmaker[DbSession]
) -> None:
    room = await a_room(sessions)
    user = await a_user(sessions, consents_in=room)
    plane = memory_backplane()
    published, never, recent = (draft_of(room, user, w) for w in ("sent", "lost", "recent"))
    old = int(time.time() * 1000) - 120_000
    writer = GroupWriter(batches_for(database, 10.0))
    await writer.start()
    try:
        for d, stored_at in ((published, old), (never, old), (recent, int(time.time() * 1000))):
            assert await writer.store(sealed_row(SEALER, room.id, d, stored_at))
    finally:
        await writer.close()
    appended = await plane.log.append(
        Append(
            room=room.slug,
            message_id=published.id,
            author_id=user.id,
            fields=message_fields(
                MessageFields(published.id, room.slug, {"id": user.id}, "sent", 0, True)
            ),
            header=Header(kind="message"),
            ref_key=None,
            window_seconds=300,
            known=None,
        )
    )
    numbered, deleted = await settle_unnumbered(sessions, plane.log)
    assert numbered == 1 and deleted >= 1  # other tests' rows here were never published
    async with sessions() as db:
        rows = {
            r.message_id: r
            for r in (
                await db.execute(select(RecordedMessage).where(RecordedMessage.room_id == room.id))
            ).scalars()
        }
    assert set(rows) == {published.id, recent.id}
    assert rows[published.id].seq == appended.seq and rows[recent.id].seq is None
    page = await Transcript(sessions, SEALER, plane.log).page(room, 0, 10)
    assert [m["id"] for m in page] == [published.id]
    async with sessions() as db:  # rows from before stored_at existed are aged by ts
        await db.execute(
            update(RecordedMessage)
            .where(RecordedMessage.message_id == recent.id)
            .values(stored_at=None, ts=old)
        )
        await db.commit()
    assert await settle_unnumbered(sessions, plane.log) == (0, 1)
    async with sessions() as db:
        left = (await db.execute(select(RecordedMessage.message_id))).scalars().all()
    assert published.id in left and recent.id not in left
