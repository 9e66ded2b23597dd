"""Server frames (PROTOCOL §3), encoded once to JSON text. Pure.

A `message` frame is built as a prefix and a suffix around its `seq`, so whoever assigns the
number (the room log, in Redis or in memory) can finish the frame without decoding it.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = [
    "MESSAGE_PREFIX",
    "encode",
    "error_frame",
    "message_suffix",
    "with_ref",
]

MESSAGE_PREFIX = '{"type":"message","seq":'


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


def message_suffix(
    message_id: str,
    room: str,
    author: dict[str, Any],
    body: str,
    ts: int,
    recorded: bool,
) -> str:
    """Everything of a `message` frame after its seq: `MESSAGE_PREFIX + seq + suffix`."""
    rest = orjson.dumps(
        {
            "id": message_id,
            "room": room,
            "author": author,
            "body": body,
            "ts": ts,
            "recorded": recorded,
        }
    )
    return "," + rest[1:].decode()


def with_ref(frame: str, ref: str) -> str:
    """The same frame with `ref` added, for the one socket whose frame caused it."""
    return frame[:-1] + ',"ref":' + orjson.dumps(ref).decode() + "}"
