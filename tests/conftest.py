"""Shared fixtures: one server cluster (two `hearth serve` processes on Redis and SQLite) per
test worker, an admin, and helpers to create rooms."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.client import Member, admin_token, unique
from tests.support.redis_cluster import RedisClusterNodes, running_nodes
from tests.support.redis_server import emptied
from tests.support.servers import Cluster, sqlite_cluster, started

# HEARTH_TEST_REDIS lets parallel checkouts each point their suite at a private redis-server.
SHARED_REDIS = os.environ.get("HEARTH_TEST_REDIS", "redis://127.0.0.1:6379")


def _worker_db() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return 1 + int(worker.removeprefix("gw") or 0)


@pytest.fixture(scope="session")
def cluster(single_redis_cluster: Cluster) -> Cluster:
    """Two processes sharing Redis (a database index of our own) and one SQLite file."""
    return single_redis_cluster


@pytest.fixture(scope="session")
def single_redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The processes behind `cluster` (a module may parametrize `cluster` over backends)."""
    redis_url = emptied(f"{SHARED_REDIS}/{_worker_db()}")
    with started(sqlite_cluster(tmp_path_factory.mktemp("cluster"), redis_url)) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def redis_cluster_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterNodes]:
    """A three-master Redis Cluster of our own (free ports, temp dir), stopped by PID."""
    with running_nodes(tmp_path_factory.mktemp("redis-cluster")) as nodes:
        yield nodes


@pytest.fixture(scope="session")
def sharded_cluster(
    redis_cluster_nodes: RedisClusterNodes, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """Two processes on the three-master Redis Cluster (sharded pub/sub) and one SQLite file."""
    workdir = tmp_path_factory.mktemp("sharded")
    with started(sqlite_cluster(workdir, redis_cluster_nodes.url)) as cluster:
        yield cluster


@pytest.fixture(scope="session")
async def admin(cluster: Cluster) -> Member:
    return await admin_token(cluster.servers[0].base, cluster.admin)


async def make_room(base: str, admin: Member, **settings: Any) -> dict[str, Any]:
    """Create a room with a unique slug and these settings."""
    body = {"slug": unique("r-"), "title": "Test room", **settings}
    async with httpx.AsyncClient(base_url=base, headers=admin.headers) as http:
        r = await http.post("/api/admin/rooms", json=body)
        assert r.status_code == 201, r.text
        room: dict[str, Any] = r.json()["room"]
        return room


@pytest.fixture
async def room(cluster: Cluster, admin: Member) -> dict[str, Any]:
    """A fresh open room."""
    return await make_room(cluster.servers[0].base, admin)


@pytest.fixture
async def http(cluster: Cluster) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=cluster.servers[0].base) as client:
        yield client


@pytest.fixture(autouse=True)
def _garbage_collected_after() -> Iterator[None]:
    """Collect garbage after every test (its own fixtures closed first: autouse fixtures are
    torn down last). A connection a test left open then warns, and fails, in that test's
    teardown, not in whichever later test of the worker the collector happens to run in (a
    fresh-clone run once failed the setup of an innocent test with 126 unclosed Redis
    connections some earlier test had left)."""
    yield
    gc.collect()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests of one module share the module's cluster on one worker.
    for item in items:
        if not any(m.name == "xdist_group" for m in item.iter_markers()):
            item.add_marker(pytest.mark.xdist_group(Path(str(item.fspath)).stem))
