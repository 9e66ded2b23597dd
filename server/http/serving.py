"""uvicorn's server, closing Hearth's WebSockets with 1001 before its own shutdown.

uvicorn closes every open WebSocket with 1012 when it shuts down. In Hearth's contract 1012
means "the numbering restarted: enter again" (PROTOCOL §3), so clients would start over and
lose what was said while the process restarted; 1001 tells them to reconnect and resume.
"""

from __future__ import annotations

import socket

import uvicorn
from starlette.applications import Starlette

__all__ = ["GracefulServer"]


class GracefulServer(uvicorn.Server):
    """A uvicorn server whose shutdown first closes room sockets with 1001."""

    def __init__(self, config: uvicorn.Config, app: Starlette) -> None:
        super().__init__(config)
        self._app = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        hearth = getattr(self._app.state, "hearth", None)
        if hearth is not None:
            await hearth.rooms.going_away()
        await super().shutdown(sockets=sockets)
