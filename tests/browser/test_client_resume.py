"""The browser client across a server restart: its socket closes (1001), it reconnects on
its own with after_seq and epoch, and what was said meanwhile is filled in once: nothing
missed, nothing twice, and the page says how many messages were filled in.

Its own `hearth serve` with Redis (the resume window outlives the process there), restarted
on the same port; one Redis database index of its own."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import redis
from playwright.async_api import Locator, Page, WebSocketRoute
from playwright.async_api import expect as pw_expect

from tests.support.client import PASSWORD, admin_token, new_user
from tests.support.servers import SCALE, Cluster

from .conftest import NewPage
from .hearth_pages import enter_room, send, sign_in
from .hearth_server import Server

pytestmark = pytest.mark.xdist_group("browser")

REDIS = os.environ.get("HEARTH_TEST_REDIS", "redis://127.0.0.1:6379")
REDIS_DB = 15  # the cluster fixture uses 1 + the xdist worker number


@pytest.fixture(scope="module")
def restartable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One `hearth serve` on SQLite and Redis, which the test may stop and start again."""
    client = redis.Redis.from_url(f"{REDIS}/{REDIS_DB}")
    client.flushdb()
    client.close()
    workdir: Path = tmp_path_factory.mktemp("restart")
    cluster = Cluster(
        workdir=workdir,
        database_url=f"sqlite+aiosqlite:///{workdir / 'hearth.db'}",
        redis_url=f"{REDIS}/{REDIS_DB}",
        processes=1,
    ).start()
    yield cluster
    cluster.stop()


def confirmed(page: Page, text: str) -> Locator:
    return page.locator(".message[data-id]", has=page.locator(".body", has_text=text))


async def test_resume_after_a_server_restart_misses_nothing_and_repeats_nothing(
    restartable: Cluster, new_page: NewPage
) -> None:
    server = restartable.servers[0]
    site = Server(server.base, *restartable.admin, log_path=server.log_path)
    admin = await admin_token(server.base, restartable.admin)
    reader_user, writer_user = (
        await new_user(server.base, "reader"),
        await new_user(server.base, "writer"),
    )
    async with httpx.AsyncClient(base_url=server.base, headers=admin.headers) as http:
        r = await http.post(
            "/api/admin/rooms", json={"slug": "restart-circle", "title": "Restart circle"}
        )
        assert r.status_code == 201, r.text

    # The reader's socket goes through the test, which can keep it from reconnecting.
    routes: list[WebSocketRoute] = []
    hold = False

    async def through_test(route: WebSocketRoute) -> None:
        routes.append(route)
        if hold:
            await route.close(code=1013, reason="the test holds the line")
            return
        upstream = route.connect_to_server()
        route.on_message(upstream.send)
        upstream.on_message(route.send)

    reader = await new_page()
    await reader.route_web_socket(re.compile(r"/ws/rooms/"), through_test)
    await sign_in(reader, site, reader_user.username, PASSWORD)
    await enter_room(reader, site, "restart-circle")
    writer = await new_page()
    await sign_in(writer, site, writer_user.username, PASSWORD)
    await enter_room(writer, site, "restart-circle")
    await send(writer, "before the restart")
    await pw_expect(confirmed(reader, "before the restart")).to_have_count(1)

    hold = True
    server.stop()  # SIGTERM: every socket closes with 1001
    await pw_expect(reader.get_by_role("status").filter(has_text="Reconnecting")).to_have_count(1)
    server.start()
    await send(writer, "while the reader was away, one")
    await send(writer, "while the reader was away, two")
    await pw_expect(confirmed(writer, "while the reader was away")).to_have_count(2)
    held_back = len(routes)
    hold = False
    # The next try comes after the backoff so far (at most 10 s, jittered).
    await pw_expect(reader.locator(".system-note")).to_have_count(1, timeout=(20_000 * SCALE))

    for text in (
        "before the restart",
        "while the reader was away, one",
        "while the reader was away, two",
    ):
        await pw_expect(confirmed(reader, text)).to_have_count(1)
    await pw_expect(reader.locator(".message")).to_have_count(3)
    await pw_expect(reader.locator(".system-note")).to_have_text(
        ["Reconnected. 2 messages were filled in."]
    )
    assert len(routes) > held_back
    query = parse_qs(urlsplit(routes[-1].url).query)
    assert query["after_seq"] == ["1"] and query["epoch"][0], routes[-1].url
    # And the room goes on live.
    await send(reader, "back with you")
    await pw_expect(confirmed(writer, "back with you")).to_have_count(1)
