"""The two systems under test, started and stopped whole: a private Redis plus two server
processes of either the floor (`floor.py`) or Hearth (`hearth serve`).

Hearth also needs its database and accounts: a fresh PostgreSQL database for the whole
benchmark, an admin, the rooms, and users registered once and signed in for every run.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
from procs import Child, Children, descendants, free_port, wait_for_port

__all__ = ["Hearth", "HearthAccounts", "Postgres", "Running", "start_system"]

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_BIN = Path(sys.executable).parent
HEARTH = VENV_BIN / "hearth"
CONFIG = BENCH / "hearth-bench.toml"
# Two benchmarks at once (helpers on one machine) each name their own databases.
DB_NAME = os.environ.get("HEARTH_BENCH_DB", "hearth_bench")
DB_URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DB_NAME}"
# The floors: Starlette + redis.asyncio (as Hearth's stack), and the `websockets` library's
# own server with its broadcast().
FLOORS = {"floor": "floor.py", "wsfloor": "floor_ws.py"}


@dataclass
class Running:
    """One started system: its Redis, its two servers, and how to reach them."""

    name: str
    redis: Child
    redis_port: int
    servers: list[Child]
    ports: list[int]
    children: Children
    more_redis: list[Child] = field(default_factory=list)  # `--cluster`: the other masters

    @property
    def redis_pids(self) -> list[int]:
        """Every redis-server of this system (three masters with `--cluster`)."""
        return [self.redis.pid, *(child.pid for child in self.more_redis)]

    @property
    def server_pids(self) -> list[int]:
        pids = [s.pid for s in self.servers]
        for s in self.servers:
            pids.extend(descendants(s.pid))
        return pids

    def ws_url(self, i: int, room: str) -> str:
        return f"ws://127.0.0.1:{self.ports[i % len(self.ports)]}/ws/rooms/{room}"

    def http_url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i % len(self.ports)]}"

    def check_alive(self) -> None:
        """Raise if a server or Redis died."""
        for child in [self.redis, *self.more_redis, *self.servers]:
            if not child.alive():
                raise RuntimeError(child.exit_text())

    def stop(self) -> None:
        """Stop the servers, then Redis, each by PID."""
        for child in self.servers:
            self.children.stop(child, grace=8)
        for child in [self.redis, *self.more_redis]:
            self.children.stop(child, grace=3)


def _cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free and valid too."""
    while True:
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


def start_redis_cluster(children: Children, tag: str) -> list[tuple[Child, int]]:
    """Three throw-away masters joined into a Redis Cluster (no replicas)."""
    workdir = children.log_dir / f"{tag}-redis-cluster"
    workdir.mkdir(parents=True, exist_ok=True)
    nodes = [
        start_redis(children, f"{tag}-redis{i}", _cluster_port(), [
            "--cluster-enabled", "yes", "--cluster-config-file",
            str(workdir / f"nodes-{i}.conf"), "--dir", str(workdir),
        ])
        for i in range(3)
    ]
    subprocess.run(
        ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{port}" for _, port in nodes),
         "--cluster-replicas", "0", "--cluster-yes"],
        check=True, capture_output=True, timeout=60,
    )
    client = redis.Redis(host="127.0.0.1", port=nodes[0][1])
    deadline = time.monotonic() + 30
    while client.cluster("info").get("cluster_state") != "ok":
        if time.monotonic() > deadline:
            raise TimeoutError("redis cluster not ok after 30 s")
        time.sleep(0.1)
    client.close()
    return nodes


def start_redis(
    children: Children, tag: str, port: int | None = None, extra: list[str] | None = None
) -> tuple[Child, int]:
    """A private, throw-away redis-server on a free port."""
    port = port or free_port()
    child = children.spawn(
        tag if extra else f"{tag}-redis",
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--daemonize", "no", *(extra or [])],
    )
    wait_for_port(port, 10, child)
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    client.close()
    return child, port


def _wait_healthy(child: Child, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(child.exit_text())
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            if r.status_code == 200:
                return
            last = f"{r.status_code} {r.text[:200]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise TimeoutError(f"{child.name} not healthy after {timeout:.0f} s: {last}")


def start_system(
    name: str,
    children: Children,
    tag: str,
    hearth_env: dict[str, str] | None = None,
    cluster: bool = False,
    hearth: Path = HEARTH,
) -> Running:
    """Redis and two servers of `name` ("floor", "wsfloor", "hearth", or "before": another
    `hearth` executable, that of `--before REF`), healthy, or raise.

    `cluster`: a three-master Redis Cluster instead of one Redis. Hearth names all three
    (`redis+cluster://`, sharded pub/sub); the floor, a plain redis.asyncio relay, uses the
    first master with classic PUBLISH/SUBSCRIBE, which a cluster forwards to every node.
    """
    more: list[Child] = []
    if cluster:
        nodes = start_redis_cluster(children, tag)
        (redis_child, redis_port), more = nodes[0], [child for child, _ in nodes[1:]]
        hearth_url = "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for _, port in nodes)
    else:
        redis_child, redis_port = start_redis(children, tag)
        hearth_url = f"redis://127.0.0.1:{redis_port}/0"
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    servers: list[Child] = []
    ports: list[int] = []
    running = Running(name, redis_child, redis_port, servers, ports, children, more)
    try:
        for i in range(2):
            port = free_port()
            if name in FLOORS:
                argv = [sys.executable, str(BENCH / FLOORS[name]), "--port", str(port),
                        "--redis-url", redis_url]
                env = dict(os.environ)
            else:
                argv = [str(hearth), "serve", "--host", "127.0.0.1", "--port", str(port)]
                env = dict(hearth_env or {}, HEARTH_REDIS_URL=hearth_url)
            servers.append(children.spawn(f"{tag}-server{i}", argv, env=env, cwd=ROOT))
            ports.append(port)
        for child, port in zip(servers, ports, strict=True):
            _wait_healthy(child, port, 60)
    except BaseException:
        running.stop()
        raise
    return running


class Postgres:
    """The benchmark's own database on the shared PostgreSQL: created fresh, dropped after."""

    def __init__(self, name: str = DB_NAME) -> None:
        self.name = name

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{self.name}"

    @staticmethod
    def _psql(sql: str) -> None:
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def create(self) -> None:
        self._psql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        self._psql(f"CREATE DATABASE {self.name}")

    def drop(self) -> None:
        self._psql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


def hearth_env(db_url: str = DB_URL, config: Path = CONFIG) -> dict[str, str]:
    """The environment every `hearth` command of this benchmark runs with."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(
        HEARTH_DATABASE_URL=db_url,
        HEARTH_SECRET_KEY=secrets.token_urlsafe(32),
        HEARTH_CONFIG=str(config),
    )
    return env


class Hearth:
    """Hearth's one-time set-up: is it runnable, schema, admin."""

    @staticmethod
    def available() -> tuple[bool, str]:
        """Whether `hearth --help` runs; if not, why."""
        if not HEARTH.exists():
            return False, f"{HEARTH} does not exist (pip install -e . ?)"
        try:
            r = subprocess.run([str(HEARTH), "--help"], capture_output=True, timeout=60, cwd=ROOT)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return False, repr(exc)
        if r.returncode != 0:
            return False, (r.stderr or r.stdout).decode(errors="replace")[-500:]
        return True, ""

    @staticmethod
    def migrate(env: dict[str, str], hearth: Path = HEARTH) -> None:
        subprocess.run([str(hearth), "migrate"], env=env, cwd=ROOT, check=True,
                       capture_output=True, timeout=180)

    @staticmethod
    def create_admin(env: dict[str, str], username: str, password: str,
                     hearth: Path = HEARTH) -> None:
        subprocess.run([str(hearth), "create-admin", username], env=env, cwd=ROOT, check=True,
                       input=(password + "\n").encode(), capture_output=True, timeout=120)


TRANSPORT_RETRIES = 5


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
    """POST a sign-in call (safe to repeat: a second registration is a 409, a second login
    another token), again when the connection broke under it. On a loaded machine uvicorn's
    keep-alive timer can close a pooled connection just as a thread sends on it (the likely
    cause; the server logs showed nothing), and the kernel answers with a reset: one
    `[Errno 104] Connection reset by peer` failed whole meeting-only runs while 2,000 users
    signed in."""
    for attempt in range(TRANSPORT_RETRIES):
        try:
            return client.post(path, json=body)
        except httpx.TransportError:
            if attempt == TRANSPORT_RETRIES - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


@dataclass
class HearthAccounts:
    """Users and rooms of the benchmark in Hearth, kept across runs of one benchmark."""

    admin: str = "benchadmin"
    admin_password: str = field(default_factory=lambda: "adm-" + secrets.token_urlsafe(18))
    password: str = field(default_factory=lambda: "usr-" + secrets.token_urlsafe(18))
    registered: int = 0
    rooms: set[str] = field(default_factory=set)
    tokens: list[str] = field(default_factory=list)

    @staticmethod
    def username(i: int) -> str:
        return f"bench{i:05d}"

    def _login(self, client: httpx.Client, username: str, password: str) -> str:
        for attempt in range(5):
            body = {"username": username, "password": password}
            r = _post(client, "/api/auth/login", body)
            if r.status_code == 429:
                time.sleep(float(r.headers.get("Retry-After", "1")) + attempt)
                continue
            if r.status_code != 200:
                raise RuntimeError(f"login {username}: {r.status_code} {r.text[:300]}")
            return str(r.json()["token"])
        raise RuntimeError(f"login {username}: still throttled")

    def prepare(
        self,
        running: Running,
        users: int,
        rooms: dict[str, dict[str, Any]],
        optional_rooms: dict[str, dict[str, Any]] | None = None,
    ) -> tuple[dict[str, float], dict[str, str]]:
        """Make sure `rooms` exist and `users` users exist and are signed in on `running`.

        A room of `optional_rooms` that cannot be created is reported, not raised: it needs a
        part of Hearth that may not exist yet. Returns (timings, problems by slug).
        """
        timings: dict[str, float] = {}
        problems: dict[str, str] = {}
        clients = [httpx.Client(base_url=running.http_url(i), timeout=60) for i in range(2)]
        try:
            t0 = time.monotonic()
            admin_token = self._login(clients[0], self.admin, self.admin_password)
            auth = {"Authorization": f"Bearer {admin_token}"}
            wanted = [(s, v, False) for s, v in rooms.items()]
            wanted += [(s, v, True) for s, v in (optional_rooms or {}).items()]
            for slug, settings, optional in wanted:
                if slug in self.rooms:
                    continue
                body = {"slug": slug, "title": f"Bench {slug}", **settings}
                r = clients[0].post("/api/admin/rooms", json=body, headers=auth)
                if r.status_code not in (201, 409):
                    problem = f"create room {slug}: {r.status_code} {r.text[:300]}"
                    if not optional:
                        raise RuntimeError(problem)
                    problems[slug] = problem
                    continue
                self.rooms.add(slug)
            timings["rooms_s"] = time.monotonic() - t0

            def register(i: int) -> None:
                client = clients[i % 2]
                body = {"username": self.username(i), "password": self.password}
                for attempt in range(5):
                    r = _post(client, "/api/auth/register", body)
                    if r.status_code == 429:
                        time.sleep(float(r.headers.get("Retry-After", "1")) + attempt)
                        continue
                    if r.status_code not in (201, 409):
                        raise RuntimeError(f"register {i}: {r.status_code} {r.text[:300]}")
                    return
                raise RuntimeError(f"register {i}: still throttled")

            t0 = time.monotonic()
            with ThreadPoolExecutor(16) as pool:
                list(pool.map(register, range(self.registered, users)))
            self.registered = max(self.registered, users)
            timings["register_s"] = time.monotonic() - t0

            t0 = time.monotonic()
            if not self._tokens_valid(clients[1], users):
                with ThreadPoolExecutor(16) as pool:
                    self.tokens = list(
                        pool.map(
                            lambda i: self._login(clients[i % 2], self.username(i), self.password),
                            range(users),
                        )
                    )
            timings["login_s"] = time.monotonic() - t0
        finally:
            for c in clients:
                c.close()
        return {k: round(v, 2) for k, v in timings.items()}, problems

    def _tokens_valid(self, client: httpx.Client, users: int) -> bool:
        if len(self.tokens) < users:
            return False
        for token in (self.tokens[0], self.tokens[users - 1]):
            r = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
            if r.status_code != 200:
                return False
        return True
