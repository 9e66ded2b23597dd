"""Operations from outside (README, Operations): `/metrics` scraped from a real process after
real traffic, JSON and text log lines from real processes, `--log-level`, and clients that
hang up mid-request. Two processes share a private Redis (restarted by one test): one writes
JSON lines at the default level and serves metrics on a port of its own, the other writes
text at `--log-level info`."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import make_room
from tests.support.client import PASSWORD, WS, admin_token, new_user, unique
from tests.support.redis_server import PrivateRedis
from tests.support.servers import ROOT, SCALE, Cluster, ServerProcess, free_port

SETTINGS = """
[server]
presence_ttl_seconds = 3

[accounts]
password_hash_time_cost = 1
password_hash_memory_kib = 8192

[limits]
login_failures_per_user = 2
login_failures_per_address = 100000
logins_per_minute_per_address = 100000
registrations_per_minute_per_address = 100000

[moderation]
hooks = ["crisis", "tests.support.hooks:explodes", "tests.support.hooks:sleeps"]
hook_timeout_seconds = 0.3
fail_open = ["tests.support.hooks:sleeps"]
"""


class Ops:
    """The module's processes: `json` (metrics, JSON lines, default level) and `text`."""

    def __init__(
        self, cluster: Cluster, text: ServerProcess, redis: PrivateRedis, port: int, text_port: int
    ) -> None:
        self.cluster, self.text, self.redis = cluster, text, redis
        self.metrics_port, self.text_metrics_port = port, text_port

    @property
    def json(self) -> ServerProcess:
        return self.cluster.servers[0]

    def scrape(self, port: int | None = None) -> str:
        port = port or self.metrics_port
        r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5 * SCALE)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/plain")
        return r.text


@pytest.fixture(scope="module")
def ops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ops]:
    workdir = tmp_path_factory.mktemp("ops")
    metrics_port = free_port()
    json_config, text_config = workdir / "json.toml", workdir / "text.toml"
    json_config.write_text(
        SETTINGS + f'\n[logging]\nformat = "json"\n\n[metrics]\nport = {metrics_port}\n'
    )
    text_config.write_text(SETTINGS + '\n[logging]\nformat = "text"\nlevel = "error"\n')
    redis = PrivateRedis().start()
    cluster = Cluster(
        workdir=workdir,
        database_url=f"sqlite+aiosqlite:///{workdir / 'hearth.db'}",
        redis_url=redis.url,
        processes=1,
        config=str(json_config),
        extra_env={"PYTHONPATH": str(ROOT)},
    )
    text_metrics_port = free_port()
    text = ServerProcess(
        {},
        workdir / "text.log",
        # The command line wins over the file's `error`, and turns metrics on for this one.
        args=("--log-level", "info", "--metrics-port", str(text_metrics_port)),
    )
    ops = Ops(cluster, text, redis, metrics_port, text_metrics_port)
    try:
        cluster.start()
        text.env = {**cluster.env, "HEARTH_CONFIG": str(text_config)}
        text.start()
        yield ops
    finally:
        text.stop()
        cluster.stop()
        ops.redis.stop()  # the one running now (a test restarts it)


def samples(scrape: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape by (name, sorted labels)."""
    found = {}
    for family in text_string_to_metric_families(scrape):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(scrape: str, name: str, **labels: str) -> float:
    return samples(scrape).get((name, tuple(sorted(labels.items()))), 0.0)


def room_id(ops: Ops, slug: str) -> str:
    """The room's id (not in the API's room object), from the database."""
    with sqlite3.connect(ops.cluster.workdir / "hearth.db") as db:
        (found,) = db.execute("SELECT id FROM rooms WHERE slug = ?", (slug,)).fetchone()
    return str(found)


async def say(ws: WS, body: str, ref: str | None = None) -> None:
    await ws.send({"type": "send", "body": body, **({"ref": ref} if ref else {})})


async def test_metrics_count_real_traffic_on_their_own_port_and_name_nobody(ops: Ops) -> None:
    base = ops.json.base
    admin = await admin_token(base, ops.cluster.admin)
    room = await make_room(base, admin, transcripts="opt_in")
    slug = room["slug"]
    a, b = await new_user(base, "metric-a"), await new_user(base, "metric-b")
    before = ops.scrape()
    wa, _ = await WS.enter(ops.json.ws_base, slug, a)
    wb, _ = await WS.enter(ops.json.ws_base, slug, b)
    await wa.send({"type": "consent", "recorded": True, "ref": "c"})
    await wa.next("consent", ref="c")
    words = [unique("metric words ") for _ in range(3)]
    for body in words:  # recorded (a consented), each delivered to both sockets
        await say(wa, body)
        await wb.next("message", body=body)
    await say(wb, "slowpoke " + words[0], "slow")  # the sleeping hook times out (fails open)
    await wa.next("message", body="slowpoke " + words[0])
    await say(wb, "boom " + words[1], "boom")  # the raising hook fails closed: `rejected`
    assert (await wb.next("error", ref="boom"))["code"] == "rejected"
    await say(wb, "x" * 5000, "long")  # over the room's max_message_chars: `too_long`
    assert (await wb.next("error", ref="long"))["code"] == "too_long"
    await wb.send({"type": "send", "ref": "nobody"})  # no body: `invalid`
    assert (await wb.next("error", ref="nobody"))["code"] == "invalid"
    async with httpx.AsyncClient(base_url=base) as http:
        for _ in range(3):  # the third is throttled (login_failures_per_user = 2)
            r = await http.post("/api/auth/login", json={"username": a.username, "password": "no"})
        assert r.status_code == 429
        public = await http.get("/metrics")
    assert public.status_code == 404  # never on the port members use

    after = ops.scrape()
    assert value(after, "hearth_sockets") == 2 and value(after, "hearth_rooms") == 1

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("hearth_deliveries_total") >= 8  # 4 messages × 2 sockets
    assert grew("hearth_send_seconds_count") >= 6
    assert grew("hearth_sends_refused_total", code="rejected") == 1
    assert grew("hearth_sends_refused_total", code="too_long") == 1
    assert grew("hearth_sends_refused_total", code="invalid") == 1
    assert grew("hearth_hook_seconds_count", hook="crisis") >= 5
    assert grew("hearth_hook_timeouts_total", hook="tests.support.hooks:sleeps") == 1
    assert grew("hearth_hook_timeouts_total", hook="tests.support.hooks:explodes") == 0
    assert grew("hearth_recorder_batch_rows_count") >= 1
    assert grew("hearth_recorder_batch_rows_sum") >= 3
    assert grew("hearth_recorder_commit_seconds_count") >= 1
    assert grew("hearth_throttled_total", kind="login") == 1
    for private in (a.username, b.username, a.id, slug, room_id(ops, slug), *words, "slowpoke"):
        assert private not in after

    for ws in (wa, wb):
        await ws.close()


def json_lines(server: ServerProcess) -> list[dict[str, object]]:
    lines = [line for line in server.log().splitlines() if line.strip()]
    assert lines
    return [json.loads(line) for line in lines]  # every line is one JSON object


async def test_json_lines_carry_ids_and_never_a_body(ops: Ops) -> None:
    base = ops.json.base
    admin = await admin_token(base, ops.cluster.admin)
    room = await make_room(base, admin)
    member = await new_user(base, "json-logs")
    ws, _ = await WS.enter(ops.json.ws_base, room["slug"], member)
    secret = unique("boom json-secret ")
    await say(ws, secret, "s")  # the raising hook logs a warning, in this socket's task
    assert (await ws.next("error", ref="s"))["code"] == "rejected"
    await say(ws, unique("an everyday json-secret "), "t")
    await ws.next("message")
    await ws.close()
    deadline = time.monotonic() + 5 * SCALE
    while not [e for e in json_lines(ops.json) if "explodes" in str(e["event"])]:
        assert time.monotonic() < deadline, "the hook's failure was not logged"
        await asyncio.sleep(0.1)
    events = json_lines(ops.json)
    for event in events:
        assert {"ts", "level", "logger", "event"} <= set(event)
        assert event["level"] in ("warning", "error", "critical")  # the default level
    failed = [e for e in events if "tests.support.hooks:explodes failed" in str(e["event"])]
    assert failed[-1]["room_id"] == room_id(ops, room["slug"])
    assert failed[-1]["user_id"] == member.id
    log = ops.json.log()
    assert "json-secret" not in log
    # uvicorn's per-connection lines are at info: not written at the default level.
    assert "connection open" not in log and "[accepted]" not in log


TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) \S+: ")


async def test_text_lines_at_log_level_info_show_connections_but_no_body(ops: Ops) -> None:
    base = ops.text.base
    admin = await admin_token(base, ops.cluster.admin)
    room = await make_room(base, admin)
    member = await new_user(base, "text-logs")
    ws, _ = await WS.enter(ops.text.ws_base, room["slug"], member)
    secret = unique("boom text-secret ")
    await say(ws, secret, "s")
    await ws.next("error", ref="s")
    # `--metrics-port`: this process's own figures, on its own port.
    assert value(ops.scrape(ops.text_metrics_port), "hearth_sockets") == 1
    await ws.close()
    deadline = time.monotonic() + 5 * SCALE
    while "tests.support.hooks:explodes failed" not in ops.text.log():
        assert time.monotonic() < deadline, "the hook's failure was not logged"
        await asyncio.sleep(0.1)
    log = ops.text.log()
    assert "[accepted]" in log and "connection open" in log  # uvicorn's, at info
    assert "text-secret" not in log
    for line in log.splitlines():
        traceback = line.startswith(("Traceback", "  ")) or line.endswith("(message withheld)")
        assert TEXT_LINE.match(line) or traceback, line


def hang_up(port: int, request: bytes, wait: float = 0.0) -> None:
    """Send `request` and close the socket before any answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        time.sleep(wait)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


async def test_a_client_that_hangs_up_mid_request_is_no_error(ops: Ops) -> None:
    member = await new_user(ops.text.base, "hangs-up")
    marks = {server.port: len(server.log()) for server in (ops.text, ops.json)}
    body = json.dumps({"username": member.username, "password": PASSWORD}).encode()
    for server in (ops.text, ops.json):
        head = (
            "POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\n"
        )
        # Half the body promised by Content-Length, then gone.
        partial = f"{head}Content-Length: {len(body) + 500}\r\n\r\n".encode() + body[:10]
        await asyncio.to_thread(hang_up, server.port, partial, 0.2)
        # A whole request (argon2 takes a while), gone before the answer.
        whole = f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body
        await asyncio.to_thread(hang_up, server.port, whole)
    deadline = time.monotonic() + 5 * SCALE
    while "client disconnected during POST /api/auth/login" not in ops.text.log():
        assert time.monotonic() < deadline, "the hang-up was not noticed"
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0 * SCALE)  # the whole request's login finishes meanwhile
    for server in (ops.text, ops.json):
        assert (await asyncio.to_thread(httpx.get, server.base + "/healthz")).status_code == 200
        log = server.log()[marks[server.port] :]
        assert "Traceback" not in log and " ERROR " not in log and '"level":"error"' not in log
        assert PASSWORD not in log


def test_the_settings_refuse_metrics_on_every_interface_and_unknown_levels(
    tmp_path: Path,
) -> None:
    from server.config import Settings, load_settings

    def load(text: str) -> Settings:
        path = tmp_path / "h.toml"
        path.write_text(text)
        return load_settings({"HEARTH_CONFIG": str(path), "HEARTH_SECRET_KEY": "k" * 32})

    for bad in (
        '[metrics]\nhost = "0.0.0.0"\nport = 9464\n',
        '[metrics]\nhost = "::"\nport = 9464\n',
        "[metrics]\nport = 0\n",
        "[metrics]\nport = 70000\n",
        '[metrics]\nport = "9464"\n',
        '[metrics]\npath = "/m"\n',
        '[logging]\nlevel = "loud"\n',
        '[logging]\nformat = "xml"\n',
    ):
        with pytest.raises(ValueError):
            load(bad)
    settings = load('[metrics]\nport = 9464\n\n[logging]\nlevel = "INFO"\nformat = "json"\n')
    assert (settings.metrics_host, settings.metrics_port) == ("127.0.0.1", 9464)
    assert (settings.log_level, settings.log_format) == ("info", "json")
    default = load("")
    assert default.metrics_port is None and default.log_level == "warning"


async def test_a_redis_restart_counts_a_reconnect(ops: Ops) -> None:
    """Last in the module: the processes' next Redis calls may meet a stale connection."""
    before = value(ops.scrape(), "hearth_redis_reconnects_total")
    ops.redis.stop()
    await asyncio.sleep(0.5)
    ops.redis = PrivateRedis(port=ops.redis.port).start()
    deadline = time.monotonic() + 20 * SCALE
    while value(ops.scrape(), "hearth_redis_reconnects_total") < before + 1:
        assert time.monotonic() < deadline, "no reconnect counted"
        await asyncio.sleep(0.2)
