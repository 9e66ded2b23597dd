"""What a request that fails unexpectedly gets (README, Protocol additions): a bug is 500
`internal`, a failed dependency 503 `unavailable`, each logged once, without the exception's
message (it could quote a body or a secret). The real app, called in process: routes that
raise stand in for a bug and for Redis or the database going away; and the connection loop's
answer to a frame whose handling raised."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import pytest
import redis.exceptions
from prometheus_client import REGISTRY
from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.config import Settings
from server.http.app import create_app
from server.http.ws import _Session
from server.ops.dependencies import dependency_failed
from server.ops.logs import TEXT_FORMAT, JsonLines, TextLines, withheld_traceback
from server.rooms.hub import Conn
from server.wire.frames import Send

SECRET = "hunter2-body-of-a-message"


async def bug(request: Request) -> Response:
    raise KeyError(SECRET)


async def redis_down(request: Request) -> Response:
    raise redis.exceptions.ConnectionError(f"Error 111 connecting; {SECRET}")


async def database_down(request: Request) -> Response:
    raise OperationalError("SELECT body FROM t WHERE x = ?", (SECRET,), OSError("refused"))


async def chained_bug(request: Request) -> Response:
    try:
        int(SECRET)
    except ValueError as exc:
        raise RuntimeError(f"could not read {SECRET}") from exc
    return Response()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(secret_key="k" * 32))
    for path, endpoint in (
        ("/bug", bug),
        ("/redis-down", redis_down),
        ("/database-down", database_down),
        ("/chained-bug", chained_bug),
    ):
        app.router.routes.insert(0, Route(path, endpoint))
    # raise_app_exceptions stays on: nothing may reach the server after our answer.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


def written(caplog: pytest.LogCaptureFixture) -> str:
    """The captured records as both formats would write them."""
    text = TextLines(TEXT_FORMAT)
    return "\n".join(text.format(r) + "\n" + JsonLines().format(r) for r in caplog.records)


@pytest.mark.parametrize("path", ["/bug", "/chained-bug"])
async def test_a_bug_is_500_internal_logged_once_with_its_traceback_but_no_message(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    with caplog.at_level(logging.INFO):
        r = await client.get(path)
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "internal"
    assert r.headers["x-content-type-options"] == "nosniff"  # inside the security headers
    assert SECRET not in r.text
    errors = [rec for rec in caplog.records if rec.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].name == "hearth.http"
    assert errors[0].exc_info is not None
    log = written(caplog)
    assert "Traceback (most recent call last)" in log and "(message withheld)" in log
    assert SECRET not in log


@pytest.mark.parametrize("path", ["/redis-down", "/database-down"])
async def test_a_failed_dependency_stays_503_unavailable(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    with caplog.at_level(logging.INFO):
        r = await client.get(path)
    assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable"
    ours = [rec.levelno for rec in caplog.records if rec.name.startswith("hearth")]
    assert ours == [logging.WARNING]  # once, with no traceback
    assert SECRET not in written(caplog)


async def test_the_contract_errors_are_unchanged(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_which_exceptions_are_a_dependency_failing() -> None:
    assert dependency_failed(redis.exceptions.TimeoutError())
    assert dependency_failed(ConnectionRefusedError())
    assert dependency_failed(TimeoutError())
    assert dependency_failed(OperationalError("s", {}, OSError()))
    assert not dependency_failed(KeyError("x"))
    assert not dependency_failed(ValueError("x"))
    assert not dependency_failed(AttributeError("x"))


def test_a_withheld_traceback_names_every_exception_of_the_chain() -> None:
    try:
        try:
            raise ValueError(SECRET)
        except ValueError as exc:
            raise RuntimeError(SECRET) from exc
    except RuntimeError as exc:
        text = withheld_traceback(exc)
    assert "builtins.ValueError (message withheld)" in text
    assert "builtins.RuntimeError (message withheld)" in text
    assert text.index("ValueError") < text.index("RuntimeError")
    assert SECRET not in text


def refused_count(code: str) -> float:
    return REGISTRY.get_sample_value("hearth_sends_refused_total", {"code": code}) or 0.0


async def test_a_frame_that_hits_a_bug_gets_internal_and_a_failed_dependency_unavailable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The connection loop's answer when handling a frame raises (server/http/ws.py)."""
    conn = Conn(
        id="c1", room="room", user_id="u1", username="someone", display_name="Someone",
        is_admin=False, role="member", session_id="s1", queue_size=8,
    )
    written_frames: list[dict[str, object]] = []

    async def socket_send(text: str) -> None:
        written_frames.append(json.loads(text))

    conn.queue.attach(socket_send, lambda: None)
    session = _Session(SimpleNamespace(settings=Settings()), None, conn)  # type: ignore[arg-type]
    before = refused_count("internal"), refused_count("unavailable")
    with caplog.at_level(logging.INFO):
        session._failed(Send(body=SECRET, ref="bug"), KeyError(SECRET))
        session._failed(Send(body=SECRET, ref="down"), redis.exceptions.ConnectionError(SECRET))
    assert [(f["code"], f["ref"]) for f in written_frames] == [
        ("internal", "bug"),
        ("unavailable", "down"),
    ]
    assert (refused_count("internal"), refused_count("unavailable")) == (
        before[0] + 1,
        before[1] + 1,
    )
    levels = [(r.levelno, r.exc_info is not None) for r in caplog.records]
    assert levels == [(logging.ERROR, True), (logging.WARNING, False)]
    assert SECRET not in written(caplog) and SECRET not in json.dumps(written_frames)
