"""What an HTTP request that fails unexpectedly gets: `internal` (500) for a bug,
`unavailable` (503) when a dependency failed, nothing at all for a client that went away.

One log line each, from here: a bug with its traceback at ERROR, a dependency failure at
WARNING with the exception's type only (a driver's message can quote the statement and its
parameters), a client that disconnected mid-request at INFO without a traceback. Nothing
is raised on to the server, which would log a second traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from starlette.requests import ClientDisconnect, HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..language import translate
from .errors import dependency_failed, json_response, reader_language

__all__ = ["Failures"]

log = logging.getLogger("hearth.http")


class Failures:
    """Turns exceptions no route handled into the contract's error shape."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] != "http":
            return self.app(scope, receive, send)  # handed through, as in SecurityHeaders
        return self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        method, path = scope.get("method", ""), scope.get("path", "")
        try:
            await self.app(scope, receive, sending)
            return
        except ClientDisconnect:
            log.info("client disconnected during %s %s", method, path)
            return
        except Exception as exc:
            if dependency_failed(exc):
                log.warning("%s %s: a dependency failed (%s)", method, path, type(exc).__name__)
                code, status, text = "unavailable", 503, "a dependency is unavailable; try again"
            else:
                log.error("%s %s failed", method, path, exc_info=exc)
                code, status, text = "internal", 500, "the server failed; this is a bug"
        if started:  # too late for an answer: the client sees the connection end
            return
        text = translate(text, reader_language(HTTPConnection(scope)))
        await json_response({"error": {"code": code, "message": text}}, status)(
            scope, receive, send
        )
