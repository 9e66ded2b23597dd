"""Identities at rest: who waits in an approval room and who is present (display names),
the `ref`s clients choose, whom failed sign-ins were for, and the reasons facilitators give
for a ban or removal are sealed (or only digested) in Redis and in the database, as words
are (README Guarantees, Hostile input)."""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.conftest import make_room
from tests.support.client import WS, admin_token, new_user
from tests.support.pg import async_url, create_database, drop_database
from tests.support.servers import Cluster
from tests.support.transcripts import phrase
from tests.test_transcripts_private import DumpingRedis, _pg_dsn

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def dumping_redis() -> Iterator[DumpingRedis]:
    server = DumpingRedis(Path(tempfile.mkdtemp(prefix="hearth-identities-"))).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def sealed_cluster(dumping_redis: DumpingRedis) -> AsyncIterator[tuple[Cluster, str]]:
    """One process on a fresh PostgreSQL database and the dumping Redis."""
    name = await create_database()
    workdir = Path(tempfile.mkdtemp(prefix="hearth-identities-pg-"))
    cluster = Cluster(
        workdir=workdir, database_url=async_url(name), redis_url=dumping_redis.url, processes=1
    )
    await asyncio.to_thread(cluster.start)
    yield cluster, name
    await asyncio.to_thread(cluster.stop)
    await drop_database(name)


async def test_identities_stay_off_postgresql_and_redis_disks(
    sealed_cluster: tuple[Cluster, str], dumping_redis: DumpingRedis
) -> None:
    cluster, name = sealed_cluster
    s0 = cluster.servers[0]
    admin = await admin_token(s0.base, cluster.admin)
    title = phrase("title canary")[:60]
    waiting_room = await make_room(s0.base, admin, access="approval", title=title)
    open_room = await make_room(s0.base, admin)
    waiting_name, present_name = phrase("waiting")[:60], phrase("present")[:60]
    ref = phrase("ref")[:100]
    ban_reason, remove_reason = phrase("ban reason"), phrase("remove reason")

    # Someone knocks; the facilitator sees who.
    waiter = await new_user(s0.base, display_name=waiting_name)
    knocking = await WS.open(s0.ws_base, waiting_room["slug"], waiter)
    await knocking.next("waiting")
    boss, _ = await WS.enter(s0.ws_base, waiting_room["slug"], admin)
    assert (await boss.next("knock"))["user"]["display_name"] == waiting_name
    # Someone is present and sends with a ref of their choosing.
    present = await new_user(s0.base, display_name=present_name)
    here, _ = await WS.enter(s0.ws_base, open_room["slug"], present)
    await here.send({"type": "send", "body": "hello", "ref": ref})
    await here.next("message", ref=ref)
    # A ban and a removal, with reasons.
    banned, removed = await new_user(s0.base), await new_user(s0.base)
    mod, _ = await WS.enter(s0.ws_base, open_room["slug"], admin)
    gone, _ = await WS.enter(s0.ws_base, open_room["slug"], removed)
    for action, who, reason in (("ban", banned, ban_reason), ("remove", removed, remove_reason)):
        await mod.send({"type": "mod", "action": action, "user_id": who.id, "reason": reason})
        assert (await mod.next("moderation", action=action))["reason"] == reason
    # A failed sign-in is counted (throttle) without naming whom it was for.
    failing = "who" + uuid.uuid4().hex
    async with httpx.AsyncClient(base_url=s0.base) as http:
        refused = await http.post(
            "/api/auth/login", json={"username": failing, "password": "not the password"}
        )
        assert refused.status_code == 401
    async with httpx.AsyncClient(base_url=s0.base, headers=admin.headers) as http:
        entries = (await http.get("/api/admin/audit", params={"room": open_room["slug"]})).json()
    reasons = {e["action"]: e["details"].get("reason") for e in entries["entries"]}
    assert reasons["ban"] == ban_reason and reasons["remove"] == remove_reason

    client = redis.Redis(port=dumping_redis.port)
    try:
        canary = phrase("redis canary")
        client.set("test:canary", canary)
        assert client.save()
    finally:
        client.close()
    rdb = (dumping_redis.folder / "hearth.rdb").read_bytes()
    assert canary.encode() in rdb and open_room["slug"].encode() in rdb
    for secret in (
        waiting_name,
        present_name,
        ref,
        ban_reason,
        remove_reason,
        waiter.username,
        failing,
    ):
        assert secret.encode() not in rdb, secret

    dump = subprocess.run(
        ["pg_dump", "--data-only", _pg_dsn(name)], capture_output=True, check=True, timeout=60
    ).stdout
    assert title.encode() in dump  # the dump shows what is stored in the clear
    for secret in (ban_reason, remove_reason, ref):
        assert secret.encode() not in dump, secret
    for ws in (knocking, boss, here, mod, gone):
        await ws.close()
