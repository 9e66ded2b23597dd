"""What the handler of a facilitator action answers (PROTOCOL §3): `Done`, what it did, or a
`Refuse`; the checks of a `mod` frame's fields answer with the `Refuse` themselves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..rooms.hub import Conn, Header
from ..rooms.settings import RoomView
from ..store.models import User
from ..wire.errors import Refuse
from ..wire.frames import Mod

__all__ = ["TO_ALL", "Done", "Handler", "Outcome", "need", "seconds"]

TO_ALL = Header(audience="all")  # the header of a frame an action publishes to everyone


@dataclass(slots=True)
class Done:
    """What an action did: fields of its `moderation` echo, frames published with it
    (header, frame), details for the audit log only, and fields of its `mod` event."""

    fields: dict[str, Any] = field(default_factory=dict)
    frames: list[tuple[Header, str]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    event: dict[str, Any] = field(default_factory=dict)


Outcome = Done | Refuse
# One action: the actor, the room, the frame and the person it is on (checked already).
Handler = Callable[[Conn, RoomView, Mod, User | None], Awaitable[Outcome]]


def need(value: str | None, name: str) -> str | Refuse:
    """The field's value, or the refusal of a frame that lacks it."""
    if value is None:
        return Refuse("invalid", f"missing field: {name}")
    return value


def seconds(value: int | None, required: bool, high: int) -> int | Refuse:
    """A number of seconds from 1 to `high` (0 when it may be left out and is), or the
    refusal of one that is missing or out of range."""
    if value is None:
        if required:
            return Refuse("invalid", "missing field: seconds")
        return 0
    if not 1 <= value <= high:
        return Refuse("invalid", f"seconds must be from 1 to {high}")
    return value
