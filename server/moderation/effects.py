"""What each process does with a published `mod` event, before passing `moderation` on:
update its caches, close the sockets the action closes, let admitted arrivals in."""

from __future__ import annotations

import msgspec
import orjson

from ..rooms.hub import Conn, Header, Hub

__all__ = ["apply_mod_event"]


def apply_mod_event(
    hub: Hub,
    mutes: dict[str, dict[str, int | None]],
    room: str,
    header: Header,
    payload: str,
    sockets: list[Conn],
) -> None:
    """Apply one `mod` event to this process's sockets in `room`."""
    data = orjson.loads(payload)
    action = header.data.get("act")
    target = header.user
    for frame_header, frame in data["frames"]:
        hub.route(sockets, msgspec.convert(frame_header, Header), frame)
    room_mutes = mutes.get(room)
    if room_mutes is not None and target is not None:
        if action == "mute":
            room_mutes[target] = header.data.get("until")
        elif action == "unmute":
            room_mutes.pop(target, None)
    # The `moderation` echo goes to the event's audience; the actor's copy gets its `ref`.
    hub.route(sockets, msgspec.structs.replace(header, kind="frame"), data["moderation"])
    if action == "admit":
        for conn in sockets:
            if conn.user_id == target and conn.waiting:
                conn.extra["admitted"].set()
    close = header.data.get("close")
    if close:
        code, reason = int(close[0]), str(close[1])
        for conn in sockets:
            if action == "end" or conn.user_id == target:
                conn.stop(code, reason)
