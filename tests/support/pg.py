"""Throw-away PostgreSQL databases for tests, on the local server (trust auth)."""

from __future__ import annotations

import os
import uuid

import asyncpg

__all__ = ["PG_ADMIN_DSN", "async_url", "create_database", "drop_database", "set_connections"]

PG_ADMIN_DSN = os.environ.get("HEARTH_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def async_url(name: str) -> str:
    """The SQLAlchemy async URL of database `name` on the test server."""
    rest = PG_ADMIN_DSN.split("://", 1)[1].rsplit("/", 1)[0]
    return f"postgresql+asyncpg://{rest}/{name}"


async def create_database() -> str:
    """Create an empty database with a fresh name; returns the name."""
    name = f"hearth_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


async def drop_database(name: str) -> None:
    """Drop a database made by `create_database`, ending any connections still open to it."""
    assert name.startswith("hearth_test_"), name
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def set_connections(name: str, allowed: bool) -> None:
    """Let database `name` take connections again, or refuse them and end those it has:
    the database is down for its users while the server stays up."""
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
            )
    finally:
        await conn.close()
