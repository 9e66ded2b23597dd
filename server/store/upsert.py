"""`INSERT ... ON CONFLICT` for the configured database (PostgreSQL or SQLite): a write that
several processes may race on in one statement and one round trip."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from .engine import DbSession

__all__ = ["Prepared", "insert", "write_unless_refused"]


def _is_postgresql(db: DbSession) -> bool:
    return db.get_bind().dialect.name == "postgresql"


def insert(db: DbSession, model: Any) -> Any:
    """An insert into `model`'s table that knows `on_conflict_do_*` on `db`'s database."""
    return postgresql.insert(model) if _is_postgresql(db) else sqlite.insert(model)


class Prepared:
    """One upsert built once for each database (with bound parameters), for a write on a
    hot path: building a statement costs more than running a cached one."""

    def __init__(self, build: Callable[[Callable[[Any], Any]], Any]) -> None:
        """`build(insert)` builds the statement from the database's `insert`."""
        self._postgresql = build(postgresql.insert)
        self._sqlite = build(sqlite.insert)

    def on(self, db: DbSession) -> Any:
        """The statement for `db`'s database."""
        return self._postgresql if _is_postgresql(db) else self._sqlite


async def write_unless_refused(db: DbSession, prepared: Prepared, params: dict[str, Any]) -> bool:
    """Run `prepared` with `params` on `db` and commit: True; False (rolled back) if the
    database refused the row (an integrity error: a row it names is gone meanwhile)."""
    try:
        await db.execute(prepared.on(db), params)
        await db.commit()
    except IntegrityError:
        await db.rollback()
        return False
    return True
