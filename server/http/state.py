"""What the routes share: built once by the lifespan, kept on `app.state.hearth`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from ..accounts.passwords import Passwords
from ..accounts.sessions import SessionKeeper
from ..accounts.throttle import Throttle
from ..broker.base import Backplane
from ..config import Settings
from ..rooms.live import Rooms
from ..store.engine import DbSession

if TYPE_CHECKING:
    from .parts import Parts

__all__ = ["Hearth"]


@dataclass(slots=True)
class Hearth:
    """The process's services."""

    settings: Settings
    engine: AsyncEngine
    db: async_sessionmaker[DbSession]
    backplane: Backplane
    rooms: Rooms
    passwords: Passwords
    throttle: Throttle
    sessions: SessionKeeper
    extras: dict[str, Any]
    parts: Parts | None = None  # what plugs into the rooms (moderation, transcripts...)
