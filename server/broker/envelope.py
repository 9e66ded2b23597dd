"""What crosses between processes: one publication per room event, a typed envelope.

A publication is one JSON document, `Publication`: the room's numbering (`epoch`, `seq`:
set on numbered messages only), a `Header` saying what the event is and who receives its
frame, and the frame itself, carried as `msgspec.Raw`: encoded once by the sender, passed
on as it is, never re-encoded. Publications are internal (never the client contract), so
fields keep short wire names to stay small on the hot path: every message to every process.

A numbered message's publication is assembled by the room log as it numbers the message
(in one Lua script for Redis, so numbering and publishing stay one step): `numbered_publication`
is that layout, which the script repeats; a contract test holds both to it.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

__all__ = [
    "Audience",
    "Header",
    "Kind",
    "Publication",
    "decode_publication",
    "encode_header",
    "encode_publication",
    "numbered_publication",
    "room_channel",
    "room_of_channel",
]

# Who receives a frame: everyone; everyone but `user`; facilitators; facilitators and
# `user`; `user` only; the one socket `conn`.
Audience = Literal["all", "others", "mods", "mods_user", "user", "conn"]
# A frame to pass on; a numbered message; an event for the process itself (settings, access
# re-checks, plugged-in parts' events). `numbered` ("these seqs are in the transcript") is
# published only by processes of versions that held deliveries for it: still decoded (a
# rolling deploy runs both), never acted on.
Kind = Literal["frame", "message", "numbered", "control"]

_ROOM_CHANNEL_PREFIX = "hearth:room:{"


class Header(
    msgspec.Struct,
    frozen=True,
    gc=False,  # no cycles: decoding one per publication skips the collector's tracking
    omit_defaults=True,
    rename={
        "kind": "k",
        "audience": "a",
        "user": "u",
        "conn": "c",
        "ref": "r",
        "event": "ev",
        "data": "d",
    },
):
    """What a publication is and who receives its frame."""

    kind: Kind = "frame"
    audience: Audience = "all"
    user: str | None = None  # the user the audience names (`others`, `user`, `mods_user`)
    conn: str | None = None  # the socket that caused it: receives the frame with `ref`
    ref: str | None = None  # the client's `ref`, for `conn`'s copy only
    event: str = ""  # `control`: which event (`room`, `recheck`, or a part's: `mod`...)
    data: dict[str, Any] = {}  # `control`: the event's own small fields


class Publication(
    msgspec.Struct,
    frozen=True,
    gc=False,
    omit_defaults=True,
    rename={"epoch": "e", "seq": "s", "header": "h", "frame": "f"},
):
    """One publication on a room's channel. Field order is the layout the room log's
    script writes (`numbered_publication`)."""

    epoch: str = ""  # numbered messages: the room's numbering
    seq: int = 0  # numbered messages: the message's place in it
    header: Header = Header()
    frame: msgspec.Raw = msgspec.Raw(b"{}")  # the frame (or the control event's payload)

    def frame_text(self) -> str:
        """The frame as the text sockets are sent."""
        return str(self.frame, "utf-8")


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Publication)


def room_channel(slug: str) -> str:
    """The pub/sub channel of a room, hash-tagged into the slot of the room's keys."""
    return f"{_ROOM_CHANNEL_PREFIX}{slug}}}"


def room_of_channel(channel: str) -> str:
    """The room slug of a room's channel."""
    return channel.removeprefix(_ROOM_CHANNEL_PREFIX).removesuffix("}")


def encode_publication(header: Header, frame: str | bytes) -> bytes:
    """A publication of an already-encoded frame (not a numbered message)."""
    return _encoder.encode(Publication(header=header, frame=msgspec.Raw(frame)))


def encode_header(header: Header) -> bytes:
    """The header alone, for the room log to place in a numbered message's publication."""
    return _encoder.encode(header)


def numbered_publication(epoch: str, seq: int, header: bytes | str, frame: str) -> str:
    """A numbered message's publication, as the room log writes it (in Lua for Redis:
    `redis_log._APPEND` concatenates the same pieces). `epoch` is hex and `seq` a number,
    so neither needs escaping; `header` and `frame` are encoded JSON."""
    head = header if isinstance(header, str) else header.decode()
    return f'{{"e":"{epoch}","s":{seq},"h":{head},"f":{frame}}}'


def decode_publication(data: str | bytes) -> Publication:
    """Decode one publication (once per publication per process)."""
    return _decoder.decode(data)
