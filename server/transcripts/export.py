"""A session's transcript as a download: Markdown for people, JSON for programs. Pure.

Both start by saying which room and period they cover and that only the messages of members
who consented to be recorded are in them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from ..rooms.settings import RoomView
from .markdown import escape_line, quote_block

__all__ = ["CONSENT_NOTICE", "as_json", "as_markdown", "file_name"]

CONSENT_NOTICE = (
    "Only the messages of members who consented to be recorded are included; "
    "the words of others were never stored."
)


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def file_name(room: RoomView, since: int, until: int, extension: str) -> str:
    """`hearth-<slug>-<since>-<until>.<extension>` (slugs are a-z 0-9 -: safe in a header)."""
    return f"hearth-{room.slug}-{since}-{until}.{extension}"


def as_markdown(
    room: RoomView,
    since: int,
    until: int,
    messages: list[dict[str, Any]],
    exported_by: str,
    exported_at: int,
) -> str:
    """The transcript as Markdown; everything members wrote is shown literally."""
    head = [
        f"# Transcript: {escape_line(room.title)}",
        "",
        f"- Room: {escape_line(room.title)} (`{room.slug}`)",
        f"- Period: {_when(since)} to {_when(until)}",
        f"- Exported: {_when(exported_at)} by {escape_line(exported_by)}",
        f"- Messages: {len(messages)}",
        f"- {CONSENT_NOTICE}",
        "",
        "---",
    ]
    parts = ["\n".join(head)]
    for message in messages:
        author = message["author"]
        line = (
            f"**{escape_line(str(author.get('display_name', '')))}** "
            f"({escape_line(str(author.get('role', 'member')))}), "
            f"{_when(int(message['ts']))}, seq {int(message['seq'])}"
        )
        parts.append(line + "\n\n" + quote_block(str(message["body"])))
    if not messages:
        parts.append("_No recorded messages in this period._")
    return "\n\n".join(parts) + "\n"


def as_json(
    room: RoomView,
    since: int,
    until: int,
    messages: list[dict[str, Any]],
    exported_by: str,
    exported_at: int,
) -> bytes:
    """The transcript as JSON: a header object and the §3 `message`s, bodies as sent."""
    return orjson.dumps(
        {
            "room": {"slug": room.slug, "title": room.title},
            "period": {"since": since, "until": until},
            "exported_at": exported_at,
            "exported_by": exported_by,
            "notice": CONSENT_NOTICE,
            "messages": messages,
        },
        option=orjson.OPT_INDENT_2,
    )
