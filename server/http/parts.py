"""The parts built around the rooms, plugged in from outside: moderation, transcripts,
group sessions and check-ins. Built and started by the app's lifespan (`app.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker

from ..checkins.setup import CheckIns
from ..config import Settings
from ..moderation import Moderation
from ..moderation.setup import build_moderation, plug_in
from ..rooms.live import Rooms
from ..sessions.setup import Sessions
from ..store.engine import DbSession
from ..transcripts.setup import Transcripts

__all__ = ["Parts"]


@dataclass(frozen=True, slots=True)
class Parts:
    """What plugs into the rooms of one process."""

    moderation: Moderation
    transcripts: Transcripts
    sessions: Sessions  # group meetings (the app's `hearth.sessions` are logins)
    check_ins: CheckIns

    @classmethod
    def plugged_into(
        cls, settings: Settings, rooms: Rooms, db: async_sessionmaker[DbSession]
    ) -> Parts:
        """Build every part and register it with the rooms. Moderation first: after
        `welcome`, a facilitator sees who knocks before what the other parts show."""
        moderation = build_moderation(settings, rooms, db, rooms.backplane.counters)
        plug_in(moderation, rooms)
        transcripts = Transcripts(settings, db, rooms)
        transcripts.attach(rooms)
        sessions = Sessions(settings, rooms)
        sessions.attach(rooms, moderation)
        check_ins = CheckIns(settings, rooms, moderation)
        check_ins.attach(rooms)
        return cls(moderation, transcripts, sessions, check_ins)
