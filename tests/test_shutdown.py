"""A server process shutting down closes room sockets with 1001 ("reconnect and resume",
PROTOCOL §3), not uvicorn's 1012, which in the contract means "the numbering restarted:
enter again" and would make every client start over."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_room
from tests.support.client import WS, admin_token, expect_close, new_user
from tests.support.servers import Cluster

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def single(tmp_path: Path) -> Iterator[Cluster]:
    """One process with the in-process broker, stopped by the test."""
    cluster = Cluster(
        workdir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'hearth.db'}",
        redis_url=None,
        processes=1,
    ).start()
    yield cluster
    cluster.stop()


async def test_shutdown_closes_room_sockets_with_1001(single: Cluster) -> None:
    server = single.servers[0]
    admin = await admin_token(server.base, single.admin)
    room = await make_room(server.base, admin)
    member = await new_user(server.base)
    sockets = [(await WS.enter(server.ws_base, room["slug"], who))[0] for who in (member, admin)]
    server.stop()  # SIGTERM
    for ws in sockets:
        code, reason = await expect_close(ws)
        assert code == 1001, (code, reason)
    # A graceful shutdown all the same (uvicorn re-raises SIGTERM once done).
    assert "Application shutdown complete" in server.log(), server.log()[-2000:]
