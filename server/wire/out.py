"""Server frames (PROTOCOL §3), encoded once to JSON text. Pure.

A `message` frame is numbered by the room log (in Redis or in memory) as it is published,
so its fields are encoded before its `seq` is known: `message_fields` encodes them once and
`numbered_message` (the one place that joins JSON text, mirrored by the room log's Lua
script) puts the seq in front, without decoding anything.
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

__all__ = [
    "MessageFields",
    "encode",
    "error_frame",
    "message_fields",
    "numbered_message",
    "welcome",
    "with_ref",
]

# What the room log's Lua script writes before a message's seq, too (broker/redis_log.py).
MESSAGE_HEAD = '{"type":"message","seq":'


class MessageFields(msgspec.Struct, frozen=True):
    """A `message` frame's fields after `type` and `seq`, in the contract's order."""

    id: str
    room: str
    author: dict[str, Any]
    body: str
    ts: int
    recorded: bool


_encoder = msgspec.json.Encoder()


def encode(frame: dict[str, Any]) -> str:
    """Encode one frame to JSON text."""
    return orjson.dumps(frame).decode()


def error_frame(
    code: str,
    message: str,
    ref: str | None = None,
    retry_after: float | None = None,
    reason: str | None = None,
) -> str:
    """An `error` frame; `ref`, `retry_after` and `reason` only when given."""
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if reason is not None:
        frame["reason"] = reason
    if ref is not None:
        frame["ref"] = ref
    if retry_after is not None:
        frame["retry_after"] = max(round(retry_after, 3), 0.001)
    return encode(frame)


def message_fields(fields: MessageFields) -> str:
    """A `message` frame's fields, encoded once as a JSON object (see `numbered_message`)."""
    return _encoder.encode(fields).decode()


def numbered_message(seq: int, fields: str) -> str:
    """The `message` frame `{"type":"message","seq":<seq>, …fields}` from the encoded
    `fields` object (`message_fields`). Joined as text: the seq is only known where the
    message is numbered, which must not decode it (the hot path; the Lua script in
    broker/redis_log.py does the same). An older window entry kept as `,…}` reads the same."""
    return f"{MESSAGE_HEAD}{seq},{fields[1:]}"


def with_ref(frame: str, ref: str) -> str:
    """The same frame with `ref` added (last), for the one socket whose frame caused it
    (decoded and encoded again: once per sent frame, for its sender's copy only)."""
    fields: dict[str, Any] = orjson.loads(frame)
    fields["ref"] = ref
    return encode(fields)


def welcome(fields: dict[str, Any], history: list[str]) -> str:
    """The `welcome` frame: `fields` in order, with `history` (already-encoded `message`
    frames, carried as they are, never re-encoded) as its `history` field."""
    return encode({**fields, "history": [orjson.Fragment(text) for text in history]})
