"""Real `hearth serve` processes for end-to-end tests: started on free ports, stopped by PID."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "ROOT",
    "SCALE",
    "Cluster",
    "ServerProcess",
    "free_port",
    "hearth_cli",
    "sqlite_cluster",
    "started",
]

ROOT = Path(__file__).resolve().parents[2]
HEARTH = str(Path(sys.executable).with_name("hearth"))
SCALE = float(os.environ.get("HEARTH_TEST_TIMEOUT_SCALE", "1"))


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hearth_cli(
    env: dict[str, str], *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run a `hearth` subcommand with `env`; raises if it fails."""
    return subprocess.run(
        [HEARTH, *args],
        env=env,
        input=stdin,
        text=True,
        capture_output=True,
        check=True,
        timeout=120 * SCALE,
        cwd=env.get("HEARTH_TEST_CWD", str(ROOT)),
    )


class LocalAddress:
    """`base` and `ws_base` of a server answering on `port` of 127.0.0.1."""

    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


@dataclass
class ServerProcess(LocalAddress):
    """One `hearth serve` on its own port."""

    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    command: tuple[str, ...] = (HEARTH,)  # e.g. tests/support/clocked_serve.py
    args: tuple[str, ...] = ()  # more `hearth serve` options (e.g. --log-level)

    def start(self) -> None:
        with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [*self.command, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
                + list(self.args),
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.env.get("HEARTH_TEST_CWD", str(ROOT)),
            )
        deadline = time.monotonic() + 30 * SCALE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hearth serve exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"hearth serve did not answer: {self.log_path.read_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=10 * SCALE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Cluster:
    """Several processes sharing one database and (optionally) one Redis."""

    workdir: Path
    database_url: str
    redis_url: str | None
    processes: int = 2
    config: str | None = None
    admin: tuple[str, str] = ("admin", "admin-password-1")
    servers: list[ServerProcess] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. PYTHONPATH for test hooks
    command: tuple[str, ...] = (HEARTH,)  # what runs `serve`

    def start(self) -> Cluster:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
        env.update(
            {
                "HEARTH_DATABASE_URL": self.database_url,
                "HEARTH_SECRET_KEY": secrets.token_urlsafe(32),
                "HEARTH_CONFIG": self.config
                or str(ROOT / "tests" / "support" / "hearth-test.toml"),
                "HEARTH_TEST_CWD": str(self.workdir),
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.redis_url:
            env["HEARTH_REDIS_URL"] = self.redis_url
        env.update(self.extra_env)
        self.env = env
        hearth_cli(env, "migrate")
        hearth_cli(env, "create-admin", self.admin[0], stdin=self.admin[1] + "\n")
        for i in range(self.processes):
            server = ServerProcess(env, self.workdir / f"server-{i}.log", command=self.command)
            server.start()
            self.servers.append(server)
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def logs(self) -> str:
        return "\n".join(s.log() for s in self.servers)


def sqlite_cluster(workdir: Path, redis_url: str | None, **options: Any) -> Cluster:
    """A cluster (not started yet) on a SQLite file in `workdir`; `options` are Cluster's."""
    return Cluster(
        workdir=workdir,
        database_url=f"sqlite+aiosqlite:///{workdir / 'hearth.db'}",
        redis_url=redis_url,
        **options,
    )


@contextlib.contextmanager
def started(cluster: Cluster) -> Iterator[Cluster]:
    """`cluster` started, and stopped (by PID) on leaving, or when starting fails half-way."""
    try:
        yield cluster.start()
    finally:
        cluster.stop()
