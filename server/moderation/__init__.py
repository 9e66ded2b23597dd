"""Moderation: hooks every message passes, facilitator actions, flags, reports, held messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..broker.base import Counters
from ..sealing import Sealer
from .actions import Actions
from .hooks import HookRunner
from .reasons import Reasons
from .review import Review
from .state import ModerationState

if TYPE_CHECKING:
    from ..rooms.live import Rooms

__all__ = ["Moderation"]


class Moderation:
    """The moderation part of one process: shared state, review of messages, actions."""

    def __init__(
        self,
        rooms: Rooms,
        counters: Counters,
        sealer: Sealer,
        runner: HookRunner,
        reasons: Reasons,
    ) -> None:
        self.state = ModerationState(counters, sealer)
        self.review = Review(rooms, self.state, runner)
        self.reasons = reasons
        self.actions = Actions(rooms, self.state, self.review, reasons)
        self.runner = runner
