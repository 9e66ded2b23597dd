"""A hostile HTTP client against a real `hearth serve`: request heads bounded in size,
header count and time; trickled bodies and WebSocket handshakes cut off; every integer
parameter bounded (422, never a 5xx); the erase endpoint reveals no room slugs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
import websockets

from tests.conftest import make_room
from tests.support.client import Member, admin_token, new_user
from tests.support.hostile import hostile_cluster, memory
from tests.support.servers import SCALE, Cluster, ServerProcess

MIB = 1024 * 1024
HEAD_SECONDS = 2.0  # request_head_seconds and request_body_seconds in hearth-hostile.toml


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = hostile_cluster(tmp_path_factory.mktemp("hostile"))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def server(hostile: Cluster) -> ServerProcess:
    return hostile.servers[0]


@pytest.fixture(scope="module")
async def boss(hostile: Cluster) -> Member:
    return await admin_token(hostile.servers[0].base, hostile.admin)


async def _closed_after(reader: asyncio.StreamReader, limit: float) -> tuple[float, bytes]:
    """Read until the server closes the connection: (seconds it took, what it sent)."""
    start, got = time.monotonic(), b""
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), limit):
            got += chunk
    except ConnectionError:  # reset, or a broken pipe noticed while reading
        pass
    return time.monotonic() - start, got


@pytest.mark.parametrize(
    "line", [b"X-P: a\r\n", b"X-Padding: " + b"a" * 990 + b"\r\n"], ids=["tiny", "long"]
)
async def test_32_mib_of_headers_is_refused_without_costing_memory(
    server: ServerProcess, line: bytes
) -> None:
    """Tiny headers are what cost most: httptools kept every one (about 580 MB for 32 MiB)."""
    assert server.proc is not None
    resident, _ = memory(server.proc.pid)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    sent = 0
    try:
        while sent < 32 * MIB:
            writer.write(line * 64)
            await writer.drain()
            sent += len(line) * 64
    except ConnectionError:
        pass
    _, answer = await _closed_after(reader, 10 * SCALE)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 400") or answer == b""
    assert sent < 32 * MIB  # cut off long before all of it was accepted
    _, peak = memory(server.proc.pid)
    assert peak - resident < 16 * MIB, (resident, peak)
    async with httpx.AsyncClient(base_url=server.base) as http:
        assert (await http.get("/healthz")).status_code == 200


async def test_more_than_100_headers_get_431(server: ServerProcess) -> None:
    many = {f"x-h{i}": "1" for i in range(101)}
    async with httpx.AsyncClient(base_url=server.base) as http:
        r = await http.get("/healthz", headers=many)
        assert r.status_code == 431 and r.json()["error"]["code"] == "too_large"
        few = {f"x-h{i}": "1" for i in range(80)}
        assert (await http.get("/healthz", headers=few)).status_code == 200
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(f"{server.ws_base}/ws/rooms/anything", additional_headers=many)
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize(
    "head",
    [
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
        b"GET /ws/rooms/demo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
    ],
    ids=["request", "websocket handshake"],
)
async def test_a_trickled_request_head_is_cut_off(server: ServerProcess, head: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(head)

    async def trickle() -> None:
        for _ in range(int(30 * SCALE / 0.2)):
            writer.write(b"X")  # one byte of a header name at a time, never the end
            await writer.drain()
            await asyncio.sleep(0.2)

    dripping = asyncio.create_task(trickle())
    took, answer = await _closed_after(reader, 30 * SCALE)
    dripping.cancel()
    writer.close()
    assert answer == b""  # dropped: no request arrived to answer
    assert HEAD_SECONDS - 0.5 <= took <= HEAD_SECONDS + 3 * SCALE


async def test_a_kept_alive_connection_waits_for_its_next_request(server: ServerProcess) -> None:
    """The head timer runs while a head arrives, not while the connection is idle between
    requests (uvicorn's keep-alive, 5 s, governs that)."""
    async with httpx.AsyncClient(base_url=server.base) as http:
        assert (await http.get("/healthz")).status_code == 200
        await asyncio.sleep(HEAD_SECONDS + 1)
        assert (await http.get("/healthz")).status_code == 200


async def test_a_trickled_body_nobody_reads_is_cut_off(server: ServerProcess) -> None:
    """A route that answers without reading the body (here: 401 before anything else) does
    not let the rest of the body hold the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"POST /api/auth/logout HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")

    async def trickle() -> None:
        for _ in range(int(30 * SCALE / 0.2)):
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.2)

    dripping = asyncio.create_task(trickle())
    took, answer = await _closed_after(reader, 30 * SCALE)
    dripping.cancel()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 401")
    assert took <= HEAD_SECONDS + 2 + 3 * SCALE  # request_body_seconds and the grace


async def test_a_trickled_body_gets_408(server: ServerProcess) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 200\r\n\r\n{"username":'
    )
    await writer.drain()
    took, answer = await _closed_after(reader, 30 * SCALE)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"code":"timeout"' in answer
    assert HEAD_SECONDS - 0.5 <= took <= HEAD_SECONDS + 3 * SCALE


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        ("/api/admin/audit", {"before_id": str(2**63)}),
        ("/api/admin/audit", {"before_id": "9" * 40}),
        ("/api/admin/audit", {"before_id": "²"}),
        ("/api/admin/audit", {"limit": "0"}),
        ("/api/rooms/{slug}/transcript", {"after_seq": str(2**63)}),
        ("/api/rooms/{slug}/transcript", {"after_seq": "-1"}),
        ("/api/rooms/{slug}/transcript/export", {"until": "999999999999999"}),
        ("/api/rooms/{slug}/transcript/export", {"since": str(2**62)}),
    ],
)
async def test_integer_query_parameters_are_bounded(
    hostile: Cluster, boss: Member, path: str, bad: dict[str, str]
) -> None:
    base = hostile.servers[0].base
    room = await make_room(base, boss, transcripts="opt_in")
    async with httpx.AsyncClient(base_url=base, headers=boss.headers) as http:
        r = await http.get(path.format(slug=room["slug"]), params=bad)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid", r.text
        edge = {k: str(2**63 - 1) for k in bad if k in ("before_id", "after_seq")}
        if {"since", "until"} & set(bad):
            edge = {"since": "253402300799999", "until": "253402300799999"}
        if edge:  # the largest allowed value is answered
            assert (await http.get(path.format(slug=room["slug"]), params=edge)).status_code == 200


@pytest.mark.parametrize("value", [36501, 2**62, 10**30])
async def test_retention_days_is_bounded(hostile: Cluster, boss: Member, value: int) -> None:
    base = hostile.servers[0].base
    room = await make_room(base, boss)
    async with httpx.AsyncClient(base_url=base, headers=boss.headers) as http:
        r = await http.patch(f"/api/admin/rooms/{room['slug']}", json={"retention_days": value})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid"
        r = await http.patch(f"/api/admin/rooms/{room['slug']}", json={"retention_days": 36500})
        assert r.status_code == 200 and r.json()["room"]["retention_days"] == 36500


async def test_erasing_ones_words_reveals_no_slugs(hostile: Cluster, boss: Member) -> None:
    base = hostile.servers[0].base
    room = await make_room(base, boss, access="members")  # one the member cannot even enter
    member = await new_user(base)
    async with httpx.AsyncClient(base_url=base, headers=member.headers) as http:
        there = await http.delete(f"/api/rooms/{room['slug']}/transcript/mine")
        missing = await http.delete("/api/rooms/no-such-room-at-all/transcript/mine")
    assert there.status_code == missing.status_code == 200
    assert there.content == missing.content == b'{"deleted":0}'
