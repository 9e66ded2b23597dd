"""Security headers on every response and the Origin check for cookie-authenticated calls."""

from __future__ import annotations

from collections.abc import Awaitable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SecurityHeaders", "origin_allowed"]

_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        b"form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    """Adds CSP (no inline scripts, no framing), nosniff and friends to HTTP responses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] != "http":
            # Handed through, not awaited here: a WebSocket's whole life is one call, and a
            # frame of this middleware would stay on every socket's stack.
            return self.app(scope, receive, send)
        return self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in _HEADERS if k not in present]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


def origin_allowed(scope: Scope, allowed: tuple[str, ...]) -> bool:
    """Whether the request's Origin may make cookie-authenticated calls.

    Allowed: the configured origins, or by default the server's own (scheme and Host).
    A missing Origin is refused: browsers always send one on these requests.
    """
    headers = Headers(scope=scope)
    origin = headers.get("origin")
    if not origin:
        return False
    origin = origin.rstrip("/")
    if allowed:
        return origin in allowed
    scheme = scope.get("scheme", "http")
    scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    host = headers.get("host", "")
    return origin == f"{scheme}://{host}"
