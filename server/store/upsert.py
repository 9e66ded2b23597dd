"""`INSERT ... ON CONFLICT` for the configured database (PostgreSQL or SQLite): a write that
several processes may race on in one statement and one round trip."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from .engine import DbSession

__all__ = ["insert"]


def insert(db: DbSession, model: Any) -> Any:
    """An insert into `model`'s table that knows `on_conflict_do_*` on `db`'s database."""
    bind = db.get_bind()
    if bind.dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)
