"""Repository for the audit log of moderation and settings actions (never message bodies)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from .engine import DbSession
from .ids import now_ms
from .models import AuditEntry

__all__ = ["entry_view", "list_entries", "write_entry"]

# What the server did by itself is stored with an empty actor and shown as `actor: null`.
SERVER_ACTOR = ""


async def write_entry(
    db: DbSession,
    actor: tuple[str, str] | None,
    action: str,
    room: str | None,
    target: tuple[str, str] | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one entry; `actor` and `target` are (id, username); actor None: the server."""
    db.add(
        AuditEntry(
            ts=now_ms(),
            actor_id=actor[0] if actor else SERVER_ACTOR,
            actor_username=actor[1] if actor else SERVER_ACTOR,
            action=action,
            room_slug=room,
            target_id=target[0] if target else None,
            target_username=target[1] if target else None,
            details=details or {},
        )
    )
    await db.commit()


async def list_entries(
    db: DbSession, room: str | None, limit: int, before_id: int | None
) -> list[AuditEntry]:
    """Entries newest first, optionally for one room and before an id."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if room is not None:
        query = query.where(AuditEntry.room_slug == room)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list((await db.execute(query)).scalars())


def entry_view(entry: AuditEntry) -> dict[str, Any]:
    """The contract's `entry` object."""
    view: dict[str, Any] = {
        "id": str(entry.id),
        "ts": entry.ts,
        "actor": (
            None
            if entry.actor_id == SERVER_ACTOR
            else {"id": entry.actor_id, "username": entry.actor_username}
        ),
        "action": entry.action,
        "room": entry.room_slug,
        "details": entry.details,
    }
    if entry.target_id is not None:
        view["target"] = {"id": entry.target_id, "username": entry.target_username}
    return view
