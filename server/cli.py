"""`hearth serve | migrate | create-admin | purge` (PROTOCOL §1)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

from .config import Settings, check_log_level, check_port, load_settings
from .ops.logs import configure_logging, hold_early_records

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp

__all__ = ["main"]

log = logging.getLogger("hearth.cli")


def _serve(settings: Settings, host: str, port: int) -> int:
    from .http.app import create_app
    from .http.serving import HearthServer
    from .ops.allocator import return_large_blocks

    return_large_blocks()  # password hashes must not leave their memory behind
    problem = _prepare_database(settings)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    app = create_app(settings)
    HearthServer(_uvicorn_config(settings, app, host, port), app).run()
    return 0


def _prepare_database(settings: Settings) -> str | None:
    """Migrate an empty database and seed the rooms file; what stops serving, if anything."""
    from .store.schema import SchemaState, schema_state, upgrade

    state = asyncio.run(schema_state(settings.database_url))
    if state == SchemaState.EMPTY:
        log.info("empty database: migrating")
        upgrade(settings.database_url)
    elif state == SchemaState.OUTDATED:
        return "the database schema is older than this server: run `hearth migrate`"
    if settings.rooms_file is not None and settings.rooms_file.is_file():
        from .rooms.seed import seed_rooms
        from .sessions.setup import register_settings

        register_settings()  # a seed file may set schedules, entry and capacity

        asyncio.run(seed_rooms(settings))
    return None


def _uvicorn_config(settings: Settings, app: ASGIApp, host: str, port: int) -> uvicorn.Config:
    """uvicorn's configuration: Hearth's limits on requests, headers and frames."""
    import uvicorn

    from .http.connections import AbortableWebSocketProtocol, GuardedH11Protocol, HeaderCount

    limits = settings.limits
    guarded = type(
        "HearthH11Protocol",
        (GuardedH11Protocol,),
        {
            "request_head_seconds": limits.request_head_seconds,
            "request_body_seconds": limits.request_body_seconds,
        },
    )
    return uvicorn.Config(
        HeaderCount(app, limits.max_headers),
        # Said, not guessed: the middlewares hand a socket's call through without a frame of
        # their own, and uvicorn's guess would take such an app for ASGI 2.
        interface="asgi3",
        host=host,
        port=port,
        log_config=None,  # ours (configure_logging): text or JSON lines
        log_level=settings.log_level,
        # h11 (not httptools, which bounds nothing): the request line and headers are read
        # into at most max_header_bytes, within request_head_seconds (connections.py).
        http=guarded,
        ws=AbortableWebSocketProtocol,
        h11_max_incomplete_event_size=limits.max_header_bytes,
        timeout_keep_alive=5,
        ws_max_size=settings.limits.max_frame_bytes,
        ws_per_message_deflate=False,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        # Behind a load balancer: trust its X-Forwarded-For/-Proto (client address for
        # throttles, https for Secure cookies) only from the addresses configured.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=3,
    )


def _create_admin(settings: Settings, username: str) -> int:
    from .admin_account import create_admin

    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    problem = asyncio.run(create_admin(settings, username, password))
    if problem:
        print(problem, file=sys.stderr)
        return 1
    print(f"{username.lower()} is an admin")
    return 0


def _purge(settings: Settings) -> int:
    from .transcripts.retention import purge_expired

    deleted = asyncio.run(purge_expired(settings))
    print(f"purged {deleted} recorded messages")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `hearth` console script."""
    parser = argparse.ArgumentParser(prog="hearth", description="Hearth chat server")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--log-level",
        type=check_log_level,
        help="debug | info | warning | error | critical (default: [logging] level, warning);"
        " uvicorn's per-connection lines are at info",
    )
    serve.add_argument(
        "--metrics-port",
        type=lambda text: check_port(int(text)),
        help="serve /metrics on this port of [metrics] host (default: [metrics] port)",
    )
    sub.add_parser("migrate", help="bring the database schema to the newest revision")
    admin = sub.add_parser("create-admin", help="create or promote an admin (password on stdin)")
    admin.add_argument("username")
    sub.add_parser("purge", help="delete recorded messages past each room's retention")
    args = parser.parse_args(argv)
    hold_early_records()
    try:
        settings = load_settings()
    except Exception:
        configure_logging("info", "text")  # what was said before the refusal, then it
        raise
    if args.command == "serve":
        if args.log_level is not None:
            settings = replace(settings, log_level=args.log_level)
        if args.metrics_port is not None:
            settings = replace(settings, metrics_port=args.metrics_port)
        configure_logging(settings.log_level, settings.log_format)
        return _serve(settings, args.host, args.port)
    configure_logging("info", settings.log_format)  # one-off commands say what they did
    if args.command == "migrate":
        from .store.schema import upgrade

        upgrade(settings.database_url)
        print("database schema is current")
        return 0
    if args.command == "create-admin":
        return _create_admin(settings, args.username)
    return _purge(settings)


if __name__ == "__main__":
    sys.exit(main())
