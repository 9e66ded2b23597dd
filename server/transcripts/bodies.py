"""Transcript rows and `message` frames: sealing a draft's body into a row, opening a row
into the §3 `message` shape. The body is bound to its room and message id, so a sealed body
moved to another row does not open. Pure."""

from __future__ import annotations

from typing import Any

from ..rooms.sending import Draft
from ..sealing import Sealer
from ..store.models import RecordedMessage

__all__ = ["open_message", "sealed_row"]


def _context(room_id: str, message_id: str) -> bytes:
    return f"hearth-transcript/{room_id}/{message_id}".encode()


def sealed_row(sealer: Sealer, room_id: str, draft: Draft, stored_at: int) -> dict[str, Any]:
    """The `recorded_messages` row of a draft, body sealed, not yet numbered."""
    key_id, sealed = sealer.seal_bytes(draft.body, _context(room_id, draft.id))
    return {
        "room_id": room_id,
        "message_id": draft.id,
        "seq": None,
        "epoch": None,
        "author_id": draft.conn.user_id,
        "author": draft.conn.participant(),
        "key_id": key_id,
        "body_sealed": sealed,
        "ts": draft.ts,
        "stored_at": stored_at,
    }


def open_message(sealer: Sealer, row: RecordedMessage, slug: str) -> dict[str, Any]:
    """The §3 `message` of a numbered row; raises if its key is gone or the data is wrong."""
    body = sealer.open_bytes(row.key_id, row.body_sealed, _context(row.room_id, row.message_id))
    return {
        "type": "message",
        "id": row.message_id,
        "seq": row.seq,
        "room": slug,
        "author": row.author,
        "body": body,
        "ts": row.ts,
        "recorded": True,
    }
