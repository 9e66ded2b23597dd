"""What the rooms offer the parts plugged into them (moderation, check-ins): a small
Protocol, so that those parts depend on this and never on the rooms' insides."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from .hooks import RoomHooks
from .hub import Conn, Header
from .sending import SendPipeline
from .settings import RoomView

__all__ = ["RoomsPort"]


class RoomsPort(Protocol):
    """The rooms of this process, as a plugged-in part sees them."""

    @property
    def hooks(self) -> RoomHooks:
        """Where the part registers its callables."""
        ...

    @property
    def pipeline(self) -> SendPipeline:
        """Where the part places its send steps."""
        ...

    async def publish(self, slug: str, header: Header, frame: str) -> None:
        """Publish one frame (or control event) to the room on every process."""
        ...

    async def message(self, view: RoomView, message_id: str) -> dict[str, Any] | None:
        """A message of this room known by id; `body` None once its words are gone."""
        ...

    def live_view(self, view: RoomView) -> RoomView:
        """The room's current settings on this process (`view` if it has no live copy)."""
        ...

    def is_live(self, slug: str) -> bool:
        """Whether this process has sockets in the room (and so follows its events)."""
        ...

    async def settings_changed(self, view: RoomView) -> None:
        """Tell every process a room's settings changed."""
        ...

    async def publish_held(self, view: RoomView, held: dict[str, Any]) -> None:
        """Send an approved held message as its author, through the rest of the pipeline."""
        ...

    async def erase(self, view: RoomView, message_ids: list[str]) -> None:
        """Remove messages from the resume window and every keeper (the transcript)."""
        ...

    async def erase_author(self, view: RoomView, user_id: str) -> list[str]:
        """Remove every kept message of one author in the room; their ids."""
        ...

    async def members(self, slug: str) -> list[dict[str, Any]]:
        """Who is present in the room, on any process."""
        ...

    async def attach(self, conn: Conn) -> None:
        """Let a socket not yet welcomed (a waiting one) receive the room's events."""
        ...

    async def restart_numbering(self, slug: str) -> None:
        """Forget the room's resume window and start its numbering again (`end`)."""
        ...

    def route(self, sockets: Iterable[Conn], header: Header, frame: str) -> None:
        """Queue `frame` for the sockets its header's audience names."""
        ...
