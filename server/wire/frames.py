"""Client frames (PROTOCOL §3): typed models and one decode function, with no I/O.

`decode_client_frame` turns the text of one WebSocket frame into a typed frame or a
`FrameError` value; it never raises for bad input.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated

import msgspec

__all__ = [
    "REACTIONS",
    "AcceptAgreement",
    "AskFacilitator",
    "ClientFrame",
    "Consent",
    "FrameError",
    "Hand",
    "Mod",
    "Ping",
    "React",
    "Report",
    "Send",
    "Typing",
    "decode_client_frame",
]

Ref = Annotated[str, msgspec.Meta(max_length=128)]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]

REACTIONS = frozenset({"nod", "heart", "hug", "clap"})


class _Frame(msgspec.Struct, tag_field="type", frozen=True, kw_only=True):
    ref: Ref | None = None


class Send(_Frame, tag="send", frozen=True):
    body: str


class Typing(_Frame, tag="typing", frozen=True):
    pass


class React(_Frame, tag="react", frozen=True):
    message_id: Id
    reaction: str


class Hand(_Frame, tag="hand", frozen=True):
    raised: bool


class Consent(_Frame, tag="consent", frozen=True):
    recorded: bool


class Report(_Frame, tag="report", frozen=True):
    message_id: Id
    reason: Annotated[str, msgspec.Meta(max_length=1000)] = ""


class Ping(_Frame, tag="ping", frozen=True):
    pass


class AcceptAgreement(_Frame, tag="accept_agreement", frozen=True):
    pass


class AskFacilitator(_Frame, tag="ask_facilitator", frozen=True):
    """A member's private request to talk to a facilitator (PROTOCOL §6)."""

    note: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class Mod(_Frame, tag="mod", frozen=True):
    action: str
    user_id: Id | None = None
    seconds: int | None = None
    reason: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    message_id: Id | None = None
    body: str | None = None
    pin_id: Id | None = None
    flag_id: Id | None = None
    held_id: Id | None = None
    request_id: Id | None = None


ClientFrame = (
    Send | Typing | React | Hand | Consent | Report | Ping | AcceptAgreement | AskFacilitator | Mod
)

_decoder = msgspec.json.Decoder(ClientFrame)


@dataclass(frozen=True, slots=True)
class FrameError:
    """A frame that could not be accepted: becomes an `error` frame with this code."""

    code: str
    message: str
    ref: str | None = None
    kind: str | None = None  # the frame's `type`, when it has one that is text


def _refused(code: str, message: str, text: str | bytes) -> FrameError:
    """A `FrameError` with what can still be read of the frame (its `ref` and `type`),
    read once. The standard library's parser, because it is the lenient one: it still reads
    the `ref` of a frame whose body holds a lone surrogate escape (msgspec and orjson refuse
    the whole text), and the error frame must echo that `ref` (PROTOCOL §3)."""
    try:
        obj = json.loads(text)
    except (ValueError, TypeError, RecursionError):  # RecursionError: deeply nested arrays
        return FrameError(code, message)
    if not isinstance(obj, dict):
        return FrameError(code, message)
    ref, kind = obj.get("ref"), obj.get("type")
    if not (isinstance(ref, str) and len(ref) <= 128 and _is_utf8(ref)):
        ref = None
    return FrameError(code, message, ref, kind if isinstance(kind, str) else None)


def _is_utf8(text: str) -> bool:
    """False for text holding a lone surrogate, which no error frame could carry."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def decode_client_frame(text: str | bytes) -> ClientFrame | FrameError:
    """Decode one client frame; bad input becomes a `FrameError` (code `invalid`)."""
    try:
        frame = _decoder.decode(text)
    except msgspec.ValidationError as exc:
        return _refused("invalid", _describe(str(exc)), text)
    except msgspec.DecodeError:
        return _refused("invalid", "frame is not valid JSON text", text)
    except UnicodeEncodeError:  # a str holding a lone surrogate
        return _refused("invalid", "frame is not valid Unicode text", text)
    except RecursionError:  # nested deeper than msgspec follows (an unknown field's value)
        return _refused("invalid", "frame is nested too deeply", text)
    decoded: ClientFrame = frame
    return decoded


def _describe(error: str) -> str:
    if "Expected `object`" in error and "$" not in error:
        return "frame must be a JSON object"
    if "Invalid value" in error and "$.type" in error:
        return "unknown frame type"
    if "Object missing required field `type`" in error:
        return "frame has no type"
    return error
