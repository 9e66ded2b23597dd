"""Seeding rooms from a TOML file (`config/rooms.toml`): creates those missing, never changes
existing ones."""

from __future__ import annotations

import logging
import tomllib

from ..config import Settings
from ..store import rooms as room_store
from ..store.engine import make_engine, make_sessions
from .settings import RoomView, apply_settings, slug_problem

__all__ = ["seed_rooms"]

log = logging.getLogger("hearth.seed")


async def seed_rooms(settings: Settings) -> int:
    """Create the file's rooms that do not exist yet; returns how many were created."""
    assert settings.rooms_file is not None
    data = tomllib.loads(settings.rooms_file.read_text(encoding="utf-8"))
    created = 0
    engine = make_engine(settings.database_url)
    try:
        async with make_sessions(engine)() as db:
            for entry in data.get("rooms", []):
                entry = dict(entry)
                slug = entry.pop("slug", None)
                problem = slug_problem(slug)
                if problem:
                    raise ValueError(f"{settings.rooms_file}: {problem}")
                if await room_store.room_by_slug(db, str(slug)) is not None:
                    continue
                view, _ = apply_settings(RoomView(id="", slug=str(slug), title=""), entry)
                if await room_store.create_room(db, view) is not None:
                    created += 1
                    log.info("seeded room %s", slug)
    finally:
        await engine.dispose()
    return created
