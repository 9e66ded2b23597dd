"""What each process does with a published `mod` event, before passing `moderation` on:
update its caches, close the sockets the action closes, let admitted arrivals in."""

from __future__ import annotations

from typing import Any

import orjson

from ..rooms.hub import Conn, Hub

__all__ = ["apply_mod_event"]


def apply_mod_event(
    hub: Hub,
    mutes: dict[str, dict[str, int | None]],
    room: str,
    header: dict[str, Any],
    payload: str,
    sockets: list[Conn],
) -> None:
    """Apply one `mod` event to this process's sockets in `room`."""
    data = orjson.loads(payload)
    action = header.get("act")
    target = header.get("u")
    for frame_header, frame in data["frames"]:
        hub.route(sockets, frame_header, frame)
    room_mutes = mutes.get(room)
    if room_mutes is not None and target is not None:
        if action == "mute":
            room_mutes[target] = header.get("until")
        elif action == "unmute":
            room_mutes.pop(target, None)
    audience = {
        "a": header.get("aud", "all"),
        "u": target,
        "c": header.get("c"),
        "r": header.get("r"),
    }
    if audience["r"] is None:
        del audience["r"]
    hub.route(sockets, audience, data["moderation"])
    if action == "admit":
        for conn in sockets:
            if conn.user_id == target and conn.waiting:
                conn.extra["admitted"].set()
    close = header.get("close")
    if close:
        code, reason = int(close[0]), str(close[1])
        for conn in sockets:
            if action == "end" or conn.user_id == target:
                conn.stop(code, reason)
