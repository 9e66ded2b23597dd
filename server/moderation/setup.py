"""Builds a process's moderation part from the settings and plugs it into the rooms from
outside, the way the transcript part does: its pipeline steps, its frames, the mute check,
what `welcome` shows, its control events, the door checks and the waiting room."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker

from ..broker.base import Counters
from ..config import Settings
from ..rooms.ports import RoomsPort
from ..sealing import Sealer, derive_key
from ..store.engine import DbSession
from ..wire.frames import Hand, Mod, Report
from . import Moderation
from .builtin import CrisisLanguage, load_phrases
from .hooks import runner_from_config
from .reasons import Reasons

__all__ = ["MOD_EVENT", "build_moderation", "plug_in"]

MOD_EVENT = "mod"  # the control events of facilitator actions (effects.py)


def build_moderation(
    settings: Settings,
    rooms: RoomsPort,
    db: async_sessionmaker[DbSession],
    counters: Counters,
) -> Moderation:
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
    return Moderation(rooms, db, counters, settings.limits, sealer, runner, reasons)


def plug_in(moderation: Moderation, rooms: RoomsPort) -> None:
    """Register moderation with the rooms."""
    rooms.pipeline.place("mute", moderation.mutes)
    rooms.pipeline.place("moderation", moderation.review)
    hooks = rooms.hooks
    hooks.door_checks.append(moderation.door.cooling)
    hooks.admission_gates.append(moderation.door.waiting_room)
    hooks.socket_left.append(moderation.door.left)
    hooks.you_fields.append(moderation.mutes.you_fields)
    hooks.welcome_fields.append(moderation.shown.welcome_fields)
    hooks.arrivals.append(moderation.shown.after_welcome)
    hooks.frame_handlers[Hand] = moderation.hands
    hooks.frame_handlers[Report] = moderation.reports
    hooks.frame_handlers[Mod] = moderation.actions.handle
    hooks.refused.append(moderation.review.refused)
    hooks.control_listeners[MOD_EVENT] = moderation.events
    hooks.emptied.append(moderation.mutes.forget_room)
    hooks.interrupted.append(moderation.mutes.forget_all)
