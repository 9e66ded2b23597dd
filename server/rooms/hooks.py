"""What plugs into the rooms, declared in one place.

Rooms know nothing of the parts built around them (moderation, transcripts, sessions,
check-ins): each part's `setup.py` registers its callables here, and the rooms call them at
the points named below. The send pipeline's steps are placed by slot (`sending.py`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..wire.errors import Close, Refuse
from .entering import Gate
from .hub import Conn, ControlHandler
from .settings import RoomView

__all__ = [
    "DoorCheck",
    "FrameHandler",
    "Gate",
    "RefusedListener",
    "Reply",
    "RoomHooks",
]

# What a frame's handler answers the sender's socket alone: frames, or one refusal.
Reply = str | Refuse
FrameHandler = Callable[[Conn, RoomView, Any], Awaitable[Sequence[Reply]]]
# At the handshake: close (e.g. removed, cooling off) or None; given (room, user id, admin).
DoorCheck = Callable[[RoomView, str, bool], Awaitable[Close | None]]
# A send refused: (socket, room, body, refusal); e.g. crisis language must still be heard.
RefusedListener = Callable[[Conn, RoomView, str, Refuse], Awaitable[None]]
PerSocket = Callable[[Conn, RoomView], Awaitable[None]]
Fields = Callable[[Conn, RoomView], Awaitable[dict[str, Any]]]


@dataclass(slots=True)
class RoomHooks:
    """Every registration point of the rooms, in the order a socket meets them."""

    # At the handshake, before the socket is accepted into anything.
    door_checks: list[DoorCheck] = field(default_factory=list)
    # Before the agreement (e.g. a group that has not met yet).
    arrival_gates: list[Callable[[Conn, RoomView], Awaitable[Gate]]] = field(default_factory=list)
    # After the agreement (the waiting room of `approval` rooms).
    admission_gates: list[Callable[[Conn, RoomView], Awaitable[Gate]]] = field(default_factory=list)
    # Just before `welcome`: None, or a close (e.g. a full room).
    entry_checks: list[Callable[[Conn, RoomView], Awaitable[Close | None]]] = field(
        default_factory=list
    )
    # Fields added to `welcome` and to its `you` (after presence is joined).
    welcome_fields: list[Fields] = field(default_factory=list)
    you_fields: list[Fields] = field(default_factory=list)
    # After `welcome` was queued, in registration order.
    arrivals: list[PerSocket] = field(default_factory=list)
    # Handlers of client frame types the rooms do not handle themselves.
    frame_handlers: dict[type, FrameHandler] = field(default_factory=dict)
    # A send refused by a pipeline step.
    refused: list[RefusedListener] = field(default_factory=list)
    # Control events of other kinds (`k`) published to a room.
    control_listeners: dict[str, ControlHandler] = field(default_factory=dict)
    # A socket left (before presence is updated), e.g. a knock withdrawn.
    socket_left: list[Callable[[Conn], Awaitable[None]]] = field(default_factory=list)
    # After a user's last socket left a room (room slug, user id, participant).
    departures: list[Callable[[str, str, dict[str, Any]], Awaitable[None]]] = field(
        default_factory=list
    )
    # This process's last socket in a room left: its caches of the room go.
    emptied: list[Callable[[str], None]] = field(default_factory=list)
    # The pub/sub connection came back: publications meanwhile were lost to this process.
    interrupted: list[Callable[[], None]] = field(default_factory=list)
    # Readers of recorded messages by id; erasers of messages, and of one author's.
    message_readers: list[Callable[[RoomView, str], Awaitable[dict[str, Any] | None]]] = field(
        default_factory=list
    )
    erasers: list[Callable[[RoomView, list[str]], Awaitable[None]]] = field(default_factory=list)
    author_erasers: list[Callable[[RoomView, str], Awaitable[list[str]]]] = field(
        default_factory=list
    )
    # Whether a user consents to recording; storing a consent frame's choice (False if the
    # room keeps no transcript). Without them (no transcript part), nobody consents and a
    # consent frame is refused.
    consent_reader: Callable[[RoomView, str], Awaitable[bool]] | None = None
    consent_writer: Callable[[RoomView, str, bool], Awaitable[bool]] | None = None
    # Before room objects are built for an answer (to refresh shared state).
    room_refreshers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Whether `GET /api/rooms` lists a room the user may enter, given their room role.
    listing_filters: list[Callable[[RoomView, str | None], bool]] = field(default_factory=list)
