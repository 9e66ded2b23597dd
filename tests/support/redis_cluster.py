"""A three-master Redis Cluster on free ports in a temp dir, started and stopped by PID."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from .servers import SCALE, free_port

__all__ = ["RedisClusterNodes", "running_nodes"]

BUS_OFFSET = 10000  # a cluster node also listens on port + 10000 for its peers


def _command(client: redis.Redis, *args: Any) -> Any:
    """`client.execute_command(*args)`: redis-py leaves that method unannotated."""
    execute: Callable[..., Any] = client.execute_command
    return execute(*args)


def _cluster_port() -> int:
    """A free port whose bus port (+10000, so at most 65535) is free too."""
    while True:
        port = free_port()
        if port + BUS_OFFSET > 65535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + BUS_OFFSET))
            except OSError:
                continue
        return port


@dataclass
class RedisClusterNodes:
    """Three `redis-server --cluster-enabled yes` masters joined by `redis-cli --cluster create`."""

    workdir: Path
    ports: list[int] = field(default_factory=lambda: [_cluster_port() for _ in range(3)])
    procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def start_node(self, port: int) -> None:
        """Start (or restart, with its saved cluster config and no data) the node on `port`."""
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (scripts/services.sh installs it)"
        self.procs[port] = subprocess.Popen(
            [
                binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--cluster-enabled", "yes",
                "--cluster-config-file", str(self.workdir / f"nodes-{port}.conf"),
                "--cluster-node-timeout", "2000", "--dir", str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=port)
        try:
            deadline = time.monotonic() + 10 * SCALE
            while time.monotonic() < deadline:
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    time.sleep(0.05)
        finally:
            client.close()
        raise RuntimeError(f"cluster node on {port} did not start")

    def start(self) -> RedisClusterNodes:
        for port in self.ports:
            self.start_node(port)
        cli = shutil.which("redis-cli")
        assert cli, "redis-cli is not installed"
        subprocess.run(
            [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=60 * SCALE,
        )
        self.wait_ok()
        return self

    def wait_ok(self) -> None:
        """Wait until every node reports the cluster state ok (all slots served)."""
        deadline = time.monotonic() + 30 * SCALE
        while time.monotonic() < deadline:
            if all(self._state(port) == "ok" for port in self.ports):
                return
            time.sleep(0.1)
        raise RuntimeError("redis cluster did not reach state ok")

    def _state(self, port: int) -> str:
        client = redis.Redis(port=port, socket_timeout=1)
        try:
            info = _command(client, "CLUSTER INFO")
        except redis.RedisError:
            return "down"
        finally:
            client.close()
        state = info.get("cluster_state", "unknown")  # redis-py parses CLUSTER INFO
        return state.decode() if isinstance(state, bytes) else str(state)

    def owner_of(self, key: str) -> int:
        """The port of the master serving `key`'s slot."""
        client = redis.Redis(port=self.ports[0])
        try:
            slot = int(_command(client, "CLUSTER KEYSLOT", key))
            for start, end, master, *_ in _command(client, "CLUSTER SLOTS"):
                if int(start) <= slot <= int(end):
                    return int(master[1])
        finally:
            client.close()
        raise LookupError(key)

    def move_slot(self, key: str, to_port: int) -> None:
        """Move `key`'s slot, with its keys, to the master on `to_port` (as a reshard does)."""
        clients = {port: redis.Redis(port=port, decode_responses=True) for port in self.ports}
        try:
            src_port = self.owner_of(key)
            src, dst = clients[src_port], clients[to_port]
            ids = {port: str(_command(c, "CLUSTER MYID")) for port, c in clients.items()}
            slot = int(_command(src, "CLUSTER KEYSLOT", key))
            _command(dst, "CLUSTER SETSLOT", slot, "IMPORTING", ids[src_port])
            _command(src, "CLUSTER SETSLOT", slot, "MIGRATING", ids[to_port])
            while keys := _command(src, "CLUSTER GETKEYSINSLOT", slot, 100):
                _command(src, "MIGRATE", "127.0.0.1", to_port, "", 0, 5000, "KEYS", *keys)
            others = [p for p in self.ports if p not in (to_port, src_port)]
            for port in (to_port, src_port, *others):
                _command(clients[port], "CLUSTER SETSLOT", slot, "NODE", ids[to_port])
        finally:
            for client in clients.values():
                client.close()

    def kill(self, port: int) -> None:
        """Kill one master's process (SIGKILL: no goodbye to the cluster)."""
        proc = self.procs.pop(port)
        proc.kill()
        proc.wait()

    def stop(self) -> None:
        for port in list(self.procs):
            self.kill(port)


@contextlib.contextmanager
def running_nodes(workdir: Path) -> Iterator[RedisClusterNodes]:
    """A started three-master cluster in `workdir`, stopped (by PID) on leaving."""
    nodes = RedisClusterNodes(workdir)
    try:
        yield nodes.start()
    finally:
        nodes.stop()
