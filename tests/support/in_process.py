"""The real app served by uvicorn inside the test's own process and event loop (Hearth's
protocols, middlewares and lifespan, as `hearth serve` builds them), for tests that look at
the server's objects: what one socket's lifetime leaves to the cyclic collector."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from server.cli import _uvicorn_config
from server.config import load_settings
from server.http.app import create_app
from server.http.serving import HearthServer

from .servers import ROOT, SCALE, LocalAddress, hearth_cli

__all__ = ["InProcess", "serving"]


@dataclass
class InProcess(LocalAddress):
    """Where the in-process server answers, and the admin `hearth create-admin` made."""

    port: int
    admin: tuple[str, str]


@contextlib.asynccontextmanager
async def serving(workdir: Path, redis_url: str | None) -> AsyncIterator[InProcess]:
    """The app on a free port of 127.0.0.1 in this event loop, with a migrated SQLite file
    in `workdir`; shut down (Hearth's drain, then uvicorn's) on leaving."""
    admin = ("admin", "admin-password-1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(
        {
            "HEARTH_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'hearth.db'}",
            "HEARTH_SECRET_KEY": secrets.token_urlsafe(32),
            "HEARTH_CONFIG": str(ROOT / "tests" / "support" / "hearth-test.toml"),
            "HEARTH_TEST_CWD": str(workdir),
        }
    )
    if redis_url:
        env["HEARTH_REDIS_URL"] = redis_url
    hearth_cli(env, "migrate")
    hearth_cli(env, "create-admin", admin[0], stdin=admin[1] + "\n")
    settings = load_settings(env)
    app = create_app(settings)
    server = HearthServer(_uvicorn_config(settings, app, "127.0.0.1", 0), app)
    task = asyncio.get_running_loop().create_task(server.serve())
    try:
        async with asyncio.timeout(30 * SCALE):
            while not server.started:
                if task.done():
                    task.result()  # start-up failed: its exception
                    raise RuntimeError("the in-process server stopped while starting")
                await asyncio.sleep(0.02)
        port = int(server.servers[0].sockets[0].getsockname()[1])
        yield InProcess(port, admin)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30 * SCALE)
