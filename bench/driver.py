"""The runner's side of the load generators: starts `loadgen.py` workers, deals out rooms, merges
what they measured.

Rooms are dealt to workers whole (room i to worker i mod W), and each room's members
alternate between the two server ports, so every room crosses processes.
"""

from __future__ import annotations

import math
import os
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from procs import Child, Children, cpu_by_pid, cpu_delta, machine_cpu_seconds

__all__ = ["Conn", "PhaseResult", "Workers", "percentile"]

BENCH = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Conn:
    """One socket to open: which server, which room, whose token."""

    url: str
    room: str
    token: str | None = None
    alt: str | None = None  # `storm`: where this socket reopens when its server stops


@dataclass
class PhaseResult:
    """One measured phase, merged over all workers."""

    rate: float  # messages per second per room
    duration: float
    rooms: int
    sent: int
    planned: int
    expected: int
    received: int
    latencies_us: list[int]
    order_anomalies: int
    recorded: int  # copies marked `recorded: true`
    errors: dict[str, int]
    send_failures: int
    max_send_lag_ms: float
    slowest_at_s: float | None = None  # when the slowest copy was sent, from the phase start
    cpu: dict[str, float] = field(default_factory=dict)  # seconds, by process group
    wall_s: float = 0.0  # how long the CPU was counted
    retried_because: float | None = None  # other work's busy cores in a first, discarded try

    @property
    def other_cores_busy(self) -> float:
        """Cores busy with work outside this benchmark, on average, while it was counted."""
        return self.cpu.get("other", 0.0) / self.wall_s if self.wall_s else 0.0

    @property
    def delivery(self) -> float:
        return self.received / self.expected if self.expected else 0.0

    @property
    def deliveries_per_s(self) -> float:
        return self.received / self.duration

    @property
    def loadgen_kept_up(self) -> bool:
        return self.sent >= 0.97 * self.planned

    def latency_ms(self, q: float) -> float | None:
        return percentile(self.latencies_us, q) / 1000 if self.latencies_us else None

    def summary(self) -> dict[str, Any]:
        """The figures of this phase, JSON-ready (latencies in ms, CPU per 1,000 deliveries)."""
        cpu = dict(self.cpu)
        cpu["server_redis"] = cpu.get("server", 0.0) + cpu.get("redis", 0.0)
        per_k = {
            name: round(1e6 * seconds / self.received, 3) if self.received else None
            for name, seconds in cpu.items()
            if name != "other"
        }
        return {
            "rate_per_room": self.rate,
            "duration_s": self.duration,
            "rooms": self.rooms,
            "sent": self.sent,
            "planned": self.planned,
            "expected": self.expected,
            "received": self.received,
            "delivery": round(self.delivery, 6),
            "deliveries_per_s": round(self.deliveries_per_s, 1),
            "latency_ms": {
                "p50": _r(self.latency_ms(50)),
                "p95": _r(self.latency_ms(95)),
                "p99": _r(self.latency_ms(99)),
                "max": _r(self.latency_ms(100)),
            },
            "cpu_s": {k: round(v, 3) for k, v in cpu.items()},
            "cpu_wall_s": round(self.wall_s, 2),
            "other_cores_busy": round(self.other_cores_busy, 2),
            "retried_because_other_cores_busy": self.retried_because,
            "cpu_ms_per_1k_deliveries": per_k,
            "slowest_sent_at_s": self.slowest_at_s,
            "order_anomalies": self.order_anomalies,
            "recorded_copies": self.recorded,
            "errors": self.errors,
            "send_failures": self.send_failures,
            "max_send_lag_ms": self.max_send_lag_ms,
            "loadgen_kept_up": self.loadgen_kept_up,
        }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def percentile(values: list[int], q: float) -> float:
    """The q-th percentile (nearest rank) of `values`, which it sorts in place."""
    if not values:
        return math.nan
    values.sort()
    rank = max(1, math.ceil(q / 100 * len(values)))
    return float(values[min(rank, len(values)) - 1])


class Workers:
    """W load-generator processes, spoken to over pipes, one JSON line each way."""

    def __init__(self, children: Children, count: int, tag: str, client: str = "lean") -> None:
        self.children = children
        self.procs: list[Child] = []
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        for i in range(count):
            self.procs.append(
                children.spawn(
                    f"{tag}-loadgen{i}",
                    [sys.executable, str(BENCH / "loadgen.py"), "--client", client],
                    env=env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                )
            )

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def close(self) -> None:
        """Ask every worker to quit, then stop it by PID whatever it answered."""
        for proc in self.procs:
            try:
                assert proc.popen.stdin is not None
                proc.popen.stdin.write(b'{"cmd":"quit"}\n')
                proc.popen.stdin.flush()
                proc.popen.stdin.close()
            except (BrokenPipeError, OSError, ValueError):
                pass
        for proc in self.procs:
            try:
                proc.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            self.children.stop(proc, grace=2)
        self.procs = []

    def call(self, messages: list[dict[str, Any]], timeout: float) -> list[dict[str, Any]]:
        """Send message i to worker i, wait for all replies (in worker order)."""
        replies: dict[int, dict[str, Any]] = {}
        sel = selectors.DefaultSelector()
        buffers: dict[int, bytes] = {}
        for i, (proc, msg) in enumerate(zip(self.procs, messages, strict=True)):
            assert proc.popen.stdin is not None and proc.popen.stdout is not None
            proc.popen.stdin.write(orjson.dumps(msg) + b"\n")
            proc.popen.stdin.flush()
            sel.register(proc.popen.stdout, selectors.EVENT_READ, i)
            buffers[i] = b""
        deadline = time.monotonic() + timeout
        try:
            while len(replies) < len(self.procs):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"load generator gave no answer in {timeout:.0f} s")
                for key, _ in sel.select(timeout=min(left, 1.0)):
                    i = key.data
                    chunk = os.read(key.fd, 1 << 20)
                    if not chunk:
                        raise RuntimeError(
                            f"load generator {i} exited; see {self.procs[i].log}"
                        )
                    buffers[i] += chunk
                    if buffers[i].endswith(b"\n"):
                        replies[i] = orjson.loads(buffers[i])
                        sel.unregister(key.fileobj)
        finally:
            sel.close()
        return [replies[i] for i in range(len(self.procs))]

    def connect(
        self, conns: list[Conn], consent: bool = False, timeout: float = 180
    ) -> dict[str, Any]:
        """Open these sockets, each room whole on one worker; wait for every `welcome`."""
        per_worker: list[list[dict[str, Any]]] = [[] for _ in self.procs]
        rooms = sorted({c.room for c in conns})
        owner = {room: i % len(self.procs) for i, room in enumerate(rooms)}
        for c in conns:
            spec = {"url": c.url, "room": c.room, "token": c.token, "alt": c.alt}
            per_worker[owner[c.room]].append(spec)
        replies = self.call(
            [{"cmd": "connect", "conns": specs, "consent": consent, "concurrency": 32}
             for specs in per_worker],
            timeout,
        )
        failures: dict[str, int] = {}
        consents: dict[str, int] = {}
        for r in replies:
            for k, v in r["failures"].items():
                failures[k] = failures.get(k, 0) + v
            for k, v in r["consents"].items():
                consents[k] = consents.get(k, 0) + v
        return {
            "connected": sum(r["connected"] for r in replies),
            "failed": sum(r["failed"] for r in replies),
            "failures": failures,
            "consents": consents,
            "seconds": max(r["seconds"] for r in replies),
        }

    def storm(
        self, phase_id: str, rate: float, duration: float, drain: float,
        during: Callable[[float], None],
    ) -> dict[str, Any]:
        """Talk in every room for `duration` s while `during(start_at)` runs in a thread (it
        stops a server); movers reopen on the other. Merged reports of the workers."""
        start_at = time.time() + 0.5
        msg = {"cmd": "storm", "phase": phase_id, "rate": rate, "duration": duration,
               "start_at": start_at, "drain": drain}
        thread = threading.Thread(target=during, args=(start_at,), daemon=True)
        thread.start()
        try:
            replies = self.call([msg] * len(self.procs), timeout=duration + drain + 120)
        finally:
            thread.join(timeout=duration + drain + 60)
        merged: dict[str, Any] = {}
        for key in ("movers", "back", "not_back", "gaps_announced"):
            merged[key] = sum(r[key] for r in replies)
        for key in ("missing_copies", "missing_copies_of_movers", "repeated_copies",
                    "members_whole"):
            values = [r[key] for r in replies if r[key] is not None]
            merged[key] = sum(values) if values else None
        backs = [r["back_s"] for r in replies if r["back_s"] is not None]
        merged["back_s"] = max(backs) if backs else None
        reopen_us = [int(1000 * ms) for r in replies for ms in r["reopen_ms"]]
        for q in (50, 99):
            merged[f"reopen_p{q}_ms"] = _r(percentile(reopen_us, q) / 1000) if reopen_us else None
        merged["seqs_checked"] = any(r["seqs_checked"] for r in replies)
        merged["failures"] = [r["failures"] for r in replies if r["failures"]]
        merged["errors"] = [r["errors"] for r in replies if r["errors"]]
        return merged

    def disconnect(self) -> dict[str, Any]:
        """Close every socket; report closes the server initiated and late copies."""
        replies = self.call([{"cmd": "close"}] * len(self.procs), timeout=120)
        closes: dict[str, int] = {}
        errors: dict[str, int] = {}
        for r in replies:
            for k, v in r["unexpected_closes"].items():
                closes[k] = closes.get(k, 0) + v
            for k, v in r["errors"].items():
                errors[k] = errors.get(k, 0) + v
        return {
            "closed": sum(r["closed"] for r in replies),
            "unexpected_closes": closes,
            "late_copies": sum(r["stale"] for r in replies),
            "errors": errors,
        }

    def phase(
        self,
        phase_id: str,
        rate: float,
        duration: float,
        rooms: int,
        cpu_groups: dict[str, Callable[[], list[int]]],
        drain: float = 3.0,
    ) -> PhaseResult:
        """Send `rate` messages/s in every room for `duration` s; measure the copies."""
        groups = dict(cpu_groups, loadgen=lambda: self.pids)
        before = {name: cpu_by_pid(pids()) for name, pids in groups.items()}
        machine_before = machine_cpu_seconds()
        wall_before = time.monotonic()
        start_at = time.time() + 0.3
        msg = {
            "cmd": "phase",
            "phase": phase_id,
            "rate": rate,
            "duration": duration,
            "start_at": start_at,
            "drain": drain,
        }
        replies = self.call([msg] * len(self.procs), timeout=duration + drain + 60)
        after = {name: cpu_by_pid(pids()) for name, pids in groups.items()}
        cpu = {name: cpu_delta(before[name], after[name]) for name in groups}
        # CPU the machine spent on anything but this benchmark: other people's work.
        cpu["other"] = max(0.0, machine_cpu_seconds() - machine_before - sum(cpu.values()))
        wall = time.monotonic() - wall_before
        slowest = max(replies, key=lambda r: r["max_latency_us"])
        slowest_at = (
            round(slowest["max_sent_ns"] / 1e9 - start_at, 2)
            if slowest["max_latency_us"] >= 0
            else None
        )
        latencies: list[int] = []
        errors: dict[str, int] = {}
        for r in replies:
            latencies.extend(r["latencies_us"])
            for k, v in r["errors"].items():
                errors[k] = errors.get(k, 0) + v
        return PhaseResult(
            rate=rate,
            duration=duration,
            rooms=rooms,
            sent=sum(r["sent"] for r in replies),
            planned=sum(r["planned"] for r in replies),
            expected=sum(r["expected"] for r in replies),
            received=sum(r["received"] for r in replies),
            latencies_us=latencies,
            order_anomalies=sum(r["order_anomalies"] for r in replies),
            recorded=sum(r["recorded"] for r in replies),
            slowest_at_s=slowest_at,
            errors=errors,
            send_failures=sum(sum(r["send_failures"].values()) for r in replies),
            max_send_lag_ms=max(r["max_send_lag_ms"] for r in replies),
            cpu=cpu,
            wall_s=wall,
        )
