"""The Starlette application and its lifespan: one place that starts and stops everything."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from ..accounts.passwords import Passwords
from ..accounts.sessions import SessionKeeper
from ..accounts.throttle import Throttle
from ..broker.base import Backplane
from ..broker.select import open_backplane
from ..config import Settings
from ..language import translate
from ..ops.endpoint import serve_metrics
from ..ops.metrics import watch_hub
from ..rooms.limits import UserSockets
from ..rooms.live import Rooms
from ..store.engine import DbSession, make_engine, make_sessions
from . import (
    api_accounts,
    api_admin,
    api_admin_users,
    api_profile,
    api_room_people,
    api_rooms,
    api_sessions,
    api_transcripts,
    second_factor,
)
from .errors import ApiError, error_response, json_response, reader_language
from .failures import Failures
from .parts import Parts
from .security import SecurityHeaders
from .state import Hearth
from .ws import room_socket

__all__ = ["create_app"]

log = logging.getLogger("hearth.app")

STATIC = Path(__file__).resolve().parents[1] / "static"


async def healthz(request: Request) -> Response:
    hearth: Hearth = request.app.state.hearth
    body: dict[str, object] = {
        "status": "ok",
        "protocol": 1,
        "broker": hearth.backplane.pubsub.name,
        "database": "ok",
    }
    try:
        async with hearth.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        body["database"] = "down"
    if hearth.settings.redis_url:
        body["redis"] = "ok" if await hearth.backplane.pubsub.healthy() else "down"
    down = "down" in body.values()
    if down:
        body["status"] = "unavailable"
    return json_response(body, 503 if down else 200)


async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", media_type="text/html")


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc, reader_language(request))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "invalid", 401: "unauthorized", 403: "forbidden"}.get(
        exc.status_code, "invalid"
    )
    message = translate(str(exc.detail), reader_language(request))
    return json_response({"error": {"code": code, "message": message}}, exc.status_code)


def _session_keeper(
    settings: Settings, db: async_sessionmaker[DbSession], rooms: Rooms
) -> SessionKeeper:
    """Session lifetimes, kept to this process's sockets (closing with 4401 those whose
    session ended) and announced to the others through the rooms' control channel."""

    def close(ended: set[str]) -> None:
        for conn in rooms.all_sockets():
            if conn.session_id in ended:
                conn.stop(4401, "session ended: sign in again")

    return SessionKeeper(
        settings,
        db,
        lambda: {c.session_id for c in rooms.all_sockets()},
        close,
        rooms.session_ended,
    )


def _hearth(settings: Settings, backplane: Backplane, engine: AsyncEngine) -> Hearth:
    """The process's services: the rooms and what plugs into them included."""
    db = make_sessions(engine)
    rooms = Rooms(settings, backplane, db)
    parts = Parts.plugged_into(settings, rooms, db)
    return Hearth(
        settings=settings,
        engine=engine,
        db=db,
        backplane=backplane,
        rooms=rooms,
        passwords=Passwords(
            settings.password_time_cost,
            settings.password_memory_kib,
            at_once=settings.password_hashes_at_once,
        ),
        throttle=Throttle(backplane.counters, settings.limits, settings.secret_key),
        sessions=_session_keeper(settings, db, rooms),
        extras={"user_sockets": UserSockets(settings.limits.sockets_per_user)},
        parts=parts,
    )


@contextlib.asynccontextmanager
async def _running(hearth: Hearth) -> AsyncIterator[None]:
    """Start the rooms and their parts; stop them again, in reverse, when the app stops."""
    settings, rooms, parts = hearth.settings, hearth.rooms, hearth.parts
    assert parts is not None
    await parts.transcripts.start()
    await rooms.start()
    hearth.sessions.start()
    await parts.sessions.start()
    hub = rooms.hub
    # Read from the scrape's thread: list() copies the values in one step under the GIL.
    watch_hub(lambda: sum(map(len, list(hub.rooms.values()))), lambda: len(hub.rooms))
    stop_metrics = serve_metrics(settings.metrics_host, settings.metrics_port)
    # What start-up built (modules, tables, caches) lives as long as the process: out of
    # the collector's sight, so that full collections under load do not walk it again.
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        stop_metrics()
        await hearth.sessions.close()
        await parts.sessions.close()
        await rooms.close()
        await parts.transcripts.close()


def create_app(settings: Settings) -> Starlette:
    """The ASGI app for these settings."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        backplane, close_backplane = open_backplane(settings)
        hearth = app.state.hearth = _hearth(settings, backplane, engine)
        try:
            async with _running(hearth):
                yield
        finally:
            await close_backplane()
            await engine.dispose()

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        *api_accounts.routes,
        *api_profile.routes,
        *api_rooms.routes,
        *api_admin.routes,
        *api_admin_users.routes,
        *second_factor.routes,
        *api_transcripts.routes,
        *api_sessions.routes,
        *api_room_people.routes,
        WebSocketRoute("/ws/rooms/{slug}", room_socket),
        Mount("/static", app=StaticFiles(directory=STATIC, check_dir=False), name="static"),
    ]
    return Starlette(
        routes=routes,
        # Failures inside SecurityHeaders: its 500 and 503 answers get the headers too.
        middleware=[Middleware(SecurityHeaders), Middleware(Failures)],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
        lifespan=lifespan,
    )
