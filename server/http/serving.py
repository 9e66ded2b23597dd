"""Serving the app under uvicorn, with a shutdown that keeps the contract's promises.

uvicorn's own shutdown closes WebSockets with 1012, which the contract reserves for
"numbering restarted" (a client then forgets its resume position). Before handing over to
it, Hearth stops listening, closes its sockets with 1001 (going away: reconnect and
resume), letting a frame in hand finish so that an in-flight recorded write completes, and
clears this process's presence at once (each socket's departure is announced as it closes).
"""

from __future__ import annotations

import socket

import uvicorn
from starlette.applications import Starlette

from .state import Hearth

__all__ = ["DRAIN_SECONDS", "HearthServer"]

DRAIN_SECONDS = 3.0  # then uvicorn's own graceful timeout; the process exits within seconds


class HearthServer(uvicorn.Server):
    """uvicorn's server with Hearth's drain before its shutdown."""

    def __init__(self, config: uvicorn.Config, app: Starlette) -> None:
        super().__init__(config)
        self._app = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:  # stop accepting first: nobody enters a closing process
            server.close()
        hearth: Hearth | None = getattr(self._app.state, "hearth", None)
        if hearth is not None:
            await hearth.rooms.drain(DRAIN_SECONDS)
        await super().shutdown(sockets)
