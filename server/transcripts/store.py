"""Repository of the transcript: recorded rows and the consents that let them be written.

Numbered rows (those with a seq) are the transcript; unnumbered ones are on their way (the
transcript places those already published by the room log, `transcript.py`), or left behind
by a send that failed after storing (see `orphans.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, select, update

from ..store.engine import DbSession
from ..store.ids import now_ms
from ..store.models import ConsentRecord, RecordedMessage, Room

__all__ = [
    "consent_of",
    "consenting",
    "erase_author",
    "erase_messages",
    "insert_rows",
    "message_row",
    "number_rows",
    "page",
    "period",
    "set_consent_if_recording",
    "unnumbered",
    "unnumbered_in",
    "write_batch",
]

_TABLE = cast(Table, RecordedMessage.__table__)


async def consent_of(db: DbSession, room_id: str, user_id: str) -> bool:
    """Whether the user consents to be recorded in the room (false until given)."""
    row = await db.get(ConsentRecord, (room_id, user_id))
    return bool(row and row.recorded)


async def consenting(db: DbSession, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (room id, user id) pairs whose user consents in a room that records now.

    On PostgreSQL the consent rows are share-locked until commit, so a withdrawal that
    commits after this read waits for the rows written with it (it comes after them)."""
    wanted = set(pairs)
    if not wanted:
        return set()
    lists = {
        "rooms": sorted({room for room, _ in wanted}),
        "users": sorted({user for _, user in wanted}),
    }
    rows = (await db.execute(_CONSENTING, lists)).all()
    return {(room, user) for room, user in rows} & wanted


# Built once, the lists bound at execution: an `in_` over values built per call leaves
# SQLAlchemy's cloned bind parameters in reference cycles (garbage for the cyclic collector
# on every recorded batch).
_CONSENTING = (
    select(ConsentRecord.room_id, ConsentRecord.user_id)
    .join(Room, Room.id == ConsentRecord.room_id)
    .where(
        ConsentRecord.recorded.is_(True),
        Room.transcripts == "opt_in",
        ConsentRecord.room_id.in_(bindparam("rooms", expanding=True)),
        ConsentRecord.user_id.in_(bindparam("users", expanding=True)),
    )
    .with_for_update(read=True, of=ConsentRecord)
)


async def set_consent_if_recording(
    db: DbSession, room_id: str, user_id: str, recorded: bool
) -> bool:
    """Store a user's consent and commit; False (nothing stored) if the room does not record.

    The room row is share-locked (PostgreSQL), so switching the room to `off`, which then
    withdraws all consents, cannot interleave and leave this consent behind."""
    mode = (
        await db.execute(
            select(Room.transcripts).where(Room.id == room_id).with_for_update(read=True)
        )
    ).scalar_one_or_none()
    if mode != "opt_in":
        await db.rollback()
        return False
    row = await db.get(ConsentRecord, (room_id, user_id))
    if row is None:
        db.add(
            ConsentRecord(room_id=room_id, user_id=user_id, recorded=recorded, updated_at=now_ms())
        )
    else:
        row.recorded, row.updated_at = recorded, now_ms()
    await db.commit()
    return True


async def insert_rows(db: DbSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert sealed rows (one statement for the batch); the caller commits."""
    if rows:
        await db.execute(_TABLE.insert(), list(rows))


async def number_rows(db: DbSession, numbers: Sequence[tuple[str, str, int, str]]) -> None:
    """Set (room id, message id) → (seq, epoch) of published rows; the caller commits."""
    if not numbers:
        return
    statement = (
        update(_TABLE)
        .where(
            _TABLE.c.room_id == bindparam("b_room"),
            _TABLE.c.message_id == bindparam("b_message"),
        )
        .values(seq=bindparam("b_seq"), epoch=bindparam("b_epoch"))
    )
    params = [
        {"b_room": room, "b_message": message, "b_seq": seq, "b_epoch": epoch}
        for room, message, seq, epoch in numbers
    ]
    await db.execute(statement, params)


async def write_batch(
    db: DbSession, rows: Sequence[dict[str, Any]], numbers: Sequence[tuple[str, str, int, str]]
) -> set[str]:
    """The group writer's batch, portably: number `numbers`, insert the `rows` whose authors
    consent, commit; the message ids inserted (`batch_pg.py` does it in one statement)."""
    await number_rows(db, numbers)
    allowed = await consenting(db, ((r["room_id"], r["author_id"]) for r in rows))
    kept = [r for r in rows if (r["room_id"], r["author_id"]) in allowed]
    await insert_rows(db, kept)
    await db.commit()
    return {r["message_id"] for r in kept}


async def page(
    db: DbSession, room_id: str, after_seq: int, limit: int, since: int | None = None
) -> list[RecordedMessage]:
    """The first `limit` numbered rows after `after_seq` (sent at `since` ms or later, if
    given), oldest first."""
    query = (
        select(RecordedMessage)
        .where(
            RecordedMessage.room_id == room_id,
            RecordedMessage.seq.is_not(None),
            RecordedMessage.seq > after_seq,
            RecordedMessage.ts >= (since or 0),
        )
        .order_by(RecordedMessage.seq, RecordedMessage.id)
        .limit(limit)
    )
    return list((await db.execute(query)).scalars())


async def period(
    db: DbSession, room_id: str, since: int, until: int, limit: int
) -> list[RecordedMessage]:
    """Numbered rows with `since` ≤ ts ≤ `until`, oldest first, at most `limit`."""
    query = (
        select(RecordedMessage)
        .where(
            RecordedMessage.room_id == room_id,
            RecordedMessage.seq.is_not(None),
            RecordedMessage.ts >= since,
            RecordedMessage.ts <= until,
        )
        .order_by(RecordedMessage.seq, RecordedMessage.id)
        .limit(limit)
    )
    return list((await db.execute(query)).scalars())


async def message_row(db: DbSession, room_id: str, message_id: str) -> RecordedMessage | None:
    """The row of one message, numbered or not."""
    query = select(RecordedMessage).where(
        RecordedMessage.room_id == room_id, RecordedMessage.message_id == message_id
    )
    return (await db.execute(query)).scalar_one_or_none()


async def unnumbered_in(db: DbSession, room_id: str, limit: int) -> list[RecordedMessage]:
    """At most `limit` rows of one room still without a seq, oldest first (the partial index
    of unnumbered rows finds them: a few on their way, and those `orphans.py` will settle)."""
    query = (
        select(RecordedMessage)
        .where(RecordedMessage.seq.is_(None), RecordedMessage.room_id == room_id)
        .order_by(RecordedMessage.id)
        .limit(limit)
    )
    return list((await db.execute(query)).scalars())


async def erase_messages(db: DbSession, room_id: str, message_ids: Sequence[str]) -> int:
    """Delete these messages' rows and commit; how many there were."""
    if not message_ids:
        return 0
    result = await db.execute(
        delete(RecordedMessage).where(
            RecordedMessage.room_id == room_id, RecordedMessage.message_id.in_(message_ids)
        )
    )
    await db.commit()
    return int(getattr(result, "rowcount", 0) or 0)


async def erase_author(db: DbSession, room_id: str, author_id: str) -> list[str]:
    """Delete every row of one author in a room and commit; the message ids deleted."""
    result = await db.execute(
        delete(RecordedMessage)
        .where(RecordedMessage.room_id == room_id, RecordedMessage.author_id == author_id)
        .returning(RecordedMessage.message_id)
    )
    ids = [str(message_id) for message_id in result.scalars()]
    await db.commit()
    return ids


async def unnumbered(db: DbSession, stored_before: int, limit: int) -> list[tuple[int, str, str]]:
    """(row id, room slug, message id) of at most `limit` rows stored before `stored_before`
    (ms) and still without a seq, in every room at once (the partial index of unnumbered
    rows finds them)."""
    rows = await db.execute(
        select(RecordedMessage.id, Room.slug, RecordedMessage.message_id)
        .join(Room, Room.id == RecordedMessage.room_id)
        .where(
            RecordedMessage.seq.is_(None),
            func.coalesce(RecordedMessage.stored_at, RecordedMessage.ts) < stored_before,
        )
        .order_by(RecordedMessage.id)
        .limit(limit)
    )
    return [(int(row_id), str(slug), str(message_id)) for row_id, slug, message_id in rows.all()]
