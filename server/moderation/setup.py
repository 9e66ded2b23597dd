"""Builds a process's moderation part from the settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import Settings
from ..sealing import Sealer, derive_key
from . import Moderation
from .builtin import CrisisLanguage, load_phrases
from .hooks import runner_from_config
from .reasons import Reasons

if TYPE_CHECKING:
    from ..rooms.live import Rooms

__all__ = ["build_moderation"]


def build_moderation(settings: Settings, rooms: Rooms) -> Moderation:
    """Moderation with the configured hooks; its shared state sealed with the secret."""
    crisis = CrisisLanguage(
        load_phrases(settings.crisis_phrases_file),
        load_phrases(settings.crisis_phrases_es_file, "crisis_phrases_es.txt"),
    )
    runner = runner_from_config(
        settings.hooks, crisis, settings.hook_timeout_seconds, settings.hooks_fail_open
    )
    sealer = Sealer({"m1": derive_key(settings.secret_key, "moderation-state")}, "m1")
    # Reasons rest in the database (bans, audit log) under a key of their own.
    reasons = Reasons(Sealer({"r1": derive_key(settings.secret_key, "moderation-reasons")}, "r1"))
    moderation = Moderation(rooms, rooms.backplane.counters, sealer, runner, reasons)
    rooms.add_step(moderation.review.step)  # after permissions, before recording
    return moderation
