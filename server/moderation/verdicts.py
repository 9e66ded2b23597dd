"""The moderation hook interface: what a hook sees and the verdicts it may return.

Modelled on Synapse's module API: a hook is an async callable with a named type; verdicts
are explicit objects, never booleans. Hooks run in configured order; a `Reject` or `Hold`
stops the message, `Flag` lets it through and tells facilitators (several may accumulate).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "Allow",
    "Flag",
    "Hold",
    "Hook",
    "MessageContext",
    "Recognizer",
    "Reject",
    "Verdict",
]


@dataclass(frozen=True, slots=True)
class MessageContext:
    """What a hook sees of a message about to be sent."""

    body: str
    author_id: str
    author_name: str
    role: str  # member, facilitator or admin
    room: str  # the slug
    settings: dict[str, Any]  # the room's public settings, Hearth's additions included
    language: str = "en"  # the author's (PROTOCOL §7): notices to them are in it


@dataclass(frozen=True, slots=True)
class Allow:
    """Let the message through (the default when no hook objects)."""


@dataclass(frozen=True, slots=True)
class Reject:
    """Refuse the message: the author gets error `rejected` with this reason."""

    reason: str


@dataclass(frozen=True, slots=True)
class Hold:
    """Keep the message for review: only facilitators see it until one approves it."""

    reason: str


@dataclass(frozen=True, slots=True)
class Flag:
    """Deliver the message and flag it to facilitators.

    `notice_author`: a private notice for the author (the crisis hook sends resources).
    `protect`: no later Reject or Hold may silence this message (crisis language).
    """

    reason: str
    notice_author: str | None = None
    protect: bool = False


Verdict = Allow | Reject | Hold | Flag

Hook = Callable[[MessageContext], Awaitable[Verdict]]


@runtime_checkable
class Recognizer(Protocol):
    """A hook that can also say, outside the pipeline, whether a body is what it looks for
    (the crisis hook: a refused crisis message must still reach the facilitators)."""

    def matches(self, body: str) -> bool:
        """Whether `body` holds what the hook looks for."""
        ...
