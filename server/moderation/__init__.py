"""Moderation: hooks every message passes, facilitator actions, flags, reports, held
messages, mutes and the waiting room. It plugs into the rooms from outside (`setup.py`);
the rooms never import it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker

from ..broker.base import Counters
from ..config import Limits
from ..rooms.ports import RoomsPort
from ..sealing import Sealer
from ..store.engine import DbSession
from .actions import Actions
from .door import Door
from .effects import ModEvents
from .frames import Hands, Reports
from .hooks import HookRunner
from .mutes import Mutes
from .reasons import Reasons
from .review import Review
from .state import ModerationState
from .welcome import Shown

__all__ = ["Moderation"]


class Moderation:
    """The moderation part of one process: shared state, review of messages, actions, and
    the pieces it plugs into the rooms."""

    def __init__(
        self,
        rooms: RoomsPort,
        db: async_sessionmaker[DbSession],
        counters: Counters,
        limits: Limits,
        sealer: Sealer,
        runner: HookRunner,
        reasons: Reasons,
    ) -> None:
        self.state = ModerationState(counters, sealer)
        self.review = Review(rooms, self.state, runner, limits, counters)
        self.reasons = reasons
        self.actions = Actions(rooms, db, self.state, self.review, reasons)
        self.runner = runner
        self.mutes = Mutes(rooms, self.state)
        self.door = Door(rooms, self.state)
        self.events = ModEvents(rooms, self.mutes)
        self.hands = Hands(rooms, self.state)
        self.reports = Reports(self.review)
        self.shown = Shown(self.state, self.review)
