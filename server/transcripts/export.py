"""A session's transcript as a download: Markdown for people, JSON for programs. Pure.

Both start by saying which room and period they cover and that only the messages of members
who consented to be recorded are in them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from ..language import translate
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
    language: str = "en",
) -> str:
    """The transcript as Markdown, its header in `language` (the reader's); everything
    members wrote is shown literally."""

    def say(text: str, **values: object) -> str:  # the server's words, then the values
        return translate(text, language).format(**values)

    title = escape_line(room.title)
    head = [
        say("# Transcript: {title}", title=title),
        "",
        say("- Room: {title} (`{slug}`)", title=title, slug=room.slug),
        say("- Period: {since} to {until}", since=_when(since), until=_when(until)),
        say("- Exported: {at} by {who}", at=_when(exported_at), who=escape_line(exported_by)),
        say("- Messages: {count}", count=len(messages)),
        f"- {translate(CONSENT_NOTICE, language)}",
        "",
        "---",
    ]
    parts = ["\n".join(head)]
    for message in messages:
        author = message["author"]
        role = translate(str(author.get("role", "member")), language)
        line = (
            f"**{escape_line(str(author.get('display_name', '')))}** "
            f"({escape_line(role)}), "
            f"{_when(int(message['ts']))}, seq {int(message['seq'])}"
        )
        parts.append(line + "\n\n" + quote_block(str(message["body"])))
    if not messages:
        parts.append(say("_No recorded messages in this period._"))
    return "\n\n".join(parts) + "\n"


def as_json(
    room: RoomView,
    since: int,
    until: int,
    messages: list[dict[str, Any]],
    exported_by: str,
    exported_at: int,
    language: str = "en",
) -> bytes:
    """The transcript as JSON: a header object (its `notice` in `language`) and the §3
    `message`s, bodies as sent."""
    return orjson.dumps(
        {
            "room": {"slug": room.slug, "title": room.title},
            "period": {"since": since, "until": until},
            "exported_at": exported_at,
            "exported_by": exported_by,
            "notice": translate(CONSENT_NOTICE, language),
            "messages": messages,
        },
        option=orjson.OPT_INDENT_2,
    )
