"""What each process does with a published `mod` event, before passing `moderation` on:
update its caches, close the sockets the action closes, let admitted arrivals in.

Registered as the rooms' control listener for `mod` events (`setup.py`)."""

from __future__ import annotations

import msgspec

from ..rooms.hub import Conn, Header
from ..rooms.ports import RoomsPort
from .mutes import Mutes

__all__ = ["ModEvents", "ModPayload", "encode_mod_payload"]


class ModPayload(msgspec.Struct, frozen=True, gc=False):
    """A `mod` control event's payload: the frames the action publishes with it (each with
    its header) and its `moderation` echo, all encoded frames."""

    frames: list[tuple[Header, str]]
    moderation: str


_decoder = msgspec.json.Decoder(ModPayload)


def encode_mod_payload(payload: ModPayload) -> str:
    """The payload as the text a `mod` event carries."""
    return msgspec.json.encode(payload).decode()


class ModEvents:
    """Applies `mod` events to this process's sockets."""

    def __init__(self, rooms: RoomsPort, mutes: Mutes) -> None:
        self._rooms = rooms
        self._mutes = mutes

    def __call__(self, room: str, header: Header, payload: str, sockets: list[Conn]) -> None:
        """Apply one `mod` event to this process's sockets in `room`."""
        data = _decoder.decode(payload)
        action = header.data.get("act")
        target = header.user
        if action in ("mute", "unmute"):
            self._mutes.changed(room, str(action), target, header.data.get("until"))
        for frame_header, frame in data.frames:
            self._rooms.route(sockets, frame_header, frame)
        # The `moderation` echo goes to the event's audience; the actor's copy gets its `ref`.
        self._rooms.route(
            sockets, msgspec.structs.replace(header, kind="frame"), data.moderation
        )
        if action == "admit":
            for conn in sockets:
                if conn.user_id == target and conn.waiting and conn.admitted is not None:
                    conn.admitted.set()
        close = header.data.get("close")
        if close:
            code, reason = int(close[0]), str(close[1])
            for conn in sockets:
                if action == "end" or conn.user_id == target:
                    conn.stop(code, reason)
