"""The scenarios, each run the same way against the floor and against Hearth.

  idle        N idle sockets: server RSS per socket
  meeting     R rooms x M members, 2 messages/s per room: latency, delivery, CPU per delivery;
              then a capacity ramp on the same sockets
  saturation  10 rooms x 50 members, rate stepped up until p99 > 250 ms or delivery < 99 %
  recorded    meeting with every member consenting in an `opt_in` room (Hearth only)
  storm       R rooms x M members on two processes, rooms talking; one process is stopped
              (SIGTERM) and its members reopen on the other at once, with `after_seq`
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from driver import Conn, PhaseResult, Workers
from procs import cpu_by_pid, cpu_delta, descendants, postgres_pids, rss_bytes, wait_quiet
from profiling import Profiler
from systems import Running

__all__ = ["Context", "Sizes", "idle", "meeting", "saturation", "storm"]


@dataclass(frozen=True)
class Sizes:
    """How big and how long each scenario is."""

    idle_sockets: int = 2000
    idle_room_size: int = 20
    idle_settle_s: float = 5.0
    meeting_rooms: int = 50
    meeting_members: int = 20
    meeting_rate: float = 2.0
    meeting_s: float = 30.0
    sat_rooms: int = 10
    sat_members: int = 50
    sat_rates: tuple[float, ...] = (5, 10, 20, 40, 80, 160, 320, 640)
    sat_step_s: float = 8.0
    capacity_rates: tuple[float, ...] = (5, 10, 20, 40, 80, 160, 320)
    capacity_step_s: float = 5.0
    refine_steps: int = 2  # bisections (geometric) between the last pass and the first failure
    p99_limit_ms: float = 250.0
    delivery_min: float = 0.99
    drain_s: float = 3.0
    storm_rooms: int = 100
    storm_members: int = 20
    storm_rate: float = 0.5  # messages/s per room while the storm runs
    storm_window_s: float = 15.0  # calm before the stop; the storm gets twice this after it

    @classmethod
    def quick(cls) -> Sizes:
        """A smoke run: every path once, small and short (figures are not comparable)."""
        return cls(
            idle_sockets=200,
            idle_settle_s=2.0,
            meeting_rooms=10,
            meeting_members=10,
            meeting_s=6.0,
            sat_rooms=10,
            sat_members=20,
            sat_rates=(10, 40, 160, 640),
            sat_step_s=3.0,
            capacity_rates=(10, 40, 160),
            capacity_step_s=3.0,
            refine_steps=0,
            drain_s=2.0,
            storm_rooms=20,
            storm_members=10,
            storm_window_s=5.0,
        )

    def users_needed(self) -> int:
        return max(
            self.idle_sockets,
            self.meeting_rooms * self.meeting_members,
            self.sat_rooms * self.sat_members,
            self.storm_rooms * self.storm_members,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def idle_rooms(sizes: Sizes) -> list[str]:
    return [f"idle-{i:03d}" for i in range(math.ceil(sizes.idle_sockets / sizes.idle_room_size))]


def meeting_rooms(sizes: Sizes, prefix: str = "meet") -> list[str]:
    return [f"{prefix}-{i:02d}" for i in range(sizes.meeting_rooms)]


def sat_rooms(sizes: Sizes) -> list[str]:
    return [f"sat-{i:02d}" for i in range(sizes.sat_rooms)]


def storm_rooms(sizes: Sizes) -> list[str]:
    return [f"storm-{i:03d}" for i in range(sizes.storm_rooms)]


@dataclass
class Context:
    """What a scenario works with."""

    running: Running
    workers: Workers
    sizes: Sizes
    tokens: list[str] | None  # Hearth: one per user; the floor needs none
    say: Callable[[str, float | None], None]  # progress: text, seconds the step will take
    tag: str
    quiet_cores: float = 0.3
    quiet_wait_s: float = 30.0
    retries_left: int = 8  # phases measured again because other work took the cores
    profiler: Profiler | None = None  # `--profile`: py-spy on the servers during each step
    _phases: int = 0

    def phase_id(self) -> str:
        self._phases += 1
        return f"{self.tag}p{self._phases}"

    def cpu_groups(self) -> dict[str, Callable[[], list[int]]]:
        """Whose CPU a phase counts; read at its start and end (PostgreSQL forks backends)."""
        running = self.running
        groups: dict[str, Callable[[], list[int]]] = {
            "server": lambda: running.server_pids,
            "redis": lambda: running.redis_pids,
        }
        if running.name in ("hearth", "before"):  # `before`: the Hearth of `--before REF`
            groups["postgres"] = postgres_pids
        return groups

    def conns(self, rooms: list[str], members: int, first_user: int = 0) -> list[Conn]:
        """`members` sockets per room, alternating between the two servers."""
        out = []
        user = first_user
        for room in rooms:
            for j in range(members):
                token = self.tokens[user] if self.tokens is not None else None
                out.append(Conn(self.running.ws_url(j, room), room, token))
                user += 1
        return out

    def run_phase(
        self, label: str, rate: float, duration: float, rooms: int, retry: str = "always"
    ) -> PhaseResult:
        """One measured phase; measured again, once, if other work took the cores meanwhile
        (`retry`: "always", "on_failure" - a step that passed despite them stands - or "never").
        """
        result = self._phase(label, rate, duration, rooms)
        disturbed = result.other_cores_busy > self.quiet_cores
        wanted = retry == "always" or (retry == "on_failure" and self.verdict(result) is not None)
        if disturbed and wanted and self.retries_left > 0:
            self.retries_left -= 1
            self.say(f"{label}: other work kept {result.other_cores_busy:.2f} cores busy; "
                     "measuring again", None)
            self.running.check_alive()
            time.sleep(self.sizes.drain_s)
            wait_quiet(self.quiet_wait_s, self.quiet_cores,
                       lambda b, left: self.say(f"waiting for a quiet machine ({b:.2f} cores "
                                                "busy)", left))
            again = self._phase(label, rate, duration, rooms)
            again.retried_because = round(result.other_cores_busy, 2)
            result = again
        return result

    def profiled(self, name: str) -> contextlib.AbstractContextManager[None]:
        """Sample the servers with py-spy while the block runs, if `--profile` asked."""
        if self.profiler is None:
            return contextlib.nullcontext()
        return self.profiler.sampling(f"{self.tag}-{name}", self.running.server_pids)

    def _phase(self, label: str, rate: float, duration: float, rooms: int) -> PhaseResult:
        self.say(f"{label}: {rate:g} msg/s per room", duration + self.sizes.drain_s)
        phase_id = self.phase_id()
        with self.profiled(f"{phase_id}-{label}-{rate:g}"):
            result = self.workers.phase(
                phase_id, rate, duration, rooms, self.cpu_groups(), self.sizes.drain_s
            )
        self.running.check_alive()
        return result

    def verdict(self, result: PhaseResult) -> str | None:
        """None if the step met both limits, else why not."""
        p99 = result.latency_ms(99)
        if not result.loadgen_kept_up:
            return f"load generator fell behind (sent {result.sent} of {result.planned})"
        if result.delivery < self.sizes.delivery_min:
            return f"delivery {100 * result.delivery:.2f} % < {100 * self.sizes.delivery_min:g} %"
        if p99 is None or p99 > self.sizes.p99_limit_ms:
            return f"p99 {p99} ms > {self.sizes.p99_limit_ms:g} ms"
        return None


def _connect(ctx: Context, conns: list[Conn], label: str, consent: bool = False) -> dict[str, Any]:
    ctx.say(f"{label}: connecting {len(conns)} sockets", None)
    with ctx.profiled(f"connect-{label}"):
        report = ctx.workers.connect(conns, consent=consent)
    ctx.running.check_alive()
    return report


def _disconnect(ctx: Context, label: str) -> dict[str, Any]:
    ctx.say(f"{label}: disconnecting", None)
    return ctx.workers.disconnect()


def ramp(
    ctx: Context, label: str, rates: tuple[float, ...], step_s: float, rooms: int
) -> dict[str, Any]:
    """Step the per-room rate up until a step fails; refine between the last pass and it."""
    steps: list[dict[str, Any]] = []
    best: PhaseResult | None = None
    lo: float | None = None
    hi: float | None = None
    failure: str | None = None

    def step(rate: float) -> bool:
        nonlocal best, failure
        result = ctx.run_phase(label, rate, step_s, rooms, retry="on_failure")
        why = ctx.verdict(result)
        summary = result.summary()
        summary["passed"] = why is None
        summary["failure"] = why
        steps.append(summary)
        p99 = result.latency_ms(99)
        ctx.say(
            f"{label}: {rate:g}/s/room -> {result.deliveries_per_s:,.0f} deliveries/s, "
            f"p99 {p99 if p99 is None else round(p99, 1)} ms, "
            f"{100 * result.delivery:.2f} % {'ok' if why is None else 'FAIL'}",
            None,
        )
        if why is None:
            if best is None or result.deliveries_per_s > best.deliveries_per_s:
                best = result
            return True
        failure = why
        time.sleep(3)  # let the backlog of a failed step drain before the next one
        return False

    for rate in rates:
        if step(rate):
            lo = rate
            time.sleep(1)
        else:
            hi = rate
            break
    for _ in range(ctx.sizes.refine_steps):
        if lo is None or hi is None:
            break
        mid = round(math.sqrt(lo * hi))
        if mid <= lo or mid >= hi:
            break
        if step(mid):
            lo = mid
        else:
            hi = mid
    return {
        "steps": steps,
        "best": best.summary() if best is not None else None,
        "best_rate_per_room": lo,
        "deliveries_per_s": round(best.deliveries_per_s, 1) if best is not None else 0.0,
        "first_failure": failure,
        "limit_reached": hi is not None,
    }


def idle(ctx: Context) -> dict[str, Any]:
    """RSS of the two servers per idle socket, after a warm-up and a settle."""
    sizes = ctx.sizes
    rooms = idle_rooms(sizes)
    # Warm-up: one small exchange so lazy imports and caches are in the baseline, not the delta.
    _connect(ctx, ctx.conns(rooms[:2], 10), "idle warm-up")
    ctx.run_phase("idle warm-up", 5, 2, 2, retry="never")
    _disconnect(ctx, "idle warm-up")
    ctx.say("idle: settling", 3)
    time.sleep(3)
    pids = [s.pid for s in ctx.running.servers]
    before = [rss_bytes(p) for p in pids]
    redis_before = sum(rss_bytes(pid) for pid in ctx.running.redis_pids)
    conns = ctx.conns(rooms, sizes.idle_room_size)[: sizes.idle_sockets]
    groups = ctx.cpu_groups()
    cpu_before = {name: cpu_by_pid(pids()) for name, pids in groups.items()}
    report = _connect(ctx, conns, "idle")
    cpu = {name: cpu_delta(cpu_before[name], cpu_by_pid(pids())) for name, pids in groups.items()}
    ctx.say("idle: settling", sizes.idle_settle_s)
    time.sleep(sizes.idle_settle_s)
    after = [rss_bytes(p) for p in pids]
    redis_after = sum(rss_bytes(pid) for pid in ctx.running.redis_pids)
    closed = _disconnect(ctx, "idle")
    n = report["connected"]
    return {
        "sockets": n,
        "connect": report,
        "connect_s": report["seconds"],
        "rss_before": before,
        "rss_after": after,
        "bytes_per_socket": round((sum(after) - sum(before)) / n, 1) if n else None,
        "redis_bytes_per_socket": round((redis_after - redis_before) / n, 1) if n else None,
        # What opening one socket costs: the handshake, authentication, entering the room.
        "connect_cpu_ms_per_socket": {k: round(1000 * v / n, 3) for k, v in cpu.items()}
        if n
        else None,
        "disconnect": closed,
    }


def meeting(ctx: Context, recorded: bool = False, capacity: bool = True) -> dict[str, Any]:
    """Rooms of a meeting's size at a meeting's pace; then, optionally, their capacity."""
    sizes = ctx.sizes
    name = "recorded" if recorded else "meeting"
    rooms = meeting_rooms(sizes, "rec" if recorded else "meet")
    report = _connect(ctx, ctx.conns(rooms, sizes.meeting_members), name, consent=recorded)
    out: dict[str, Any] = {"connect": report}
    if recorded:
        consents = report["consents"]
        if consents.get("ok", 0) < report["connected"] or report["connected"] == 0:
            out["available"] = False
            out["reason"] = f"consent answers: {consents}"
            out["disconnect"] = _disconnect(ctx, name)
            return out
        out["available"] = True
    if report["failed"]:
        out["problem"] = f"{report['failed']} sockets failed to connect: {report['failures']}"
    steady = ctx.run_phase(name, sizes.meeting_rate, sizes.meeting_s, len(rooms))
    out["steady"] = steady.summary()
    out["steady"]["passed"] = ctx.verdict(steady) is None
    if recorded:
        share = steady.recorded / steady.received if steady.received else 0.0
        out["recorded_share"] = round(share, 4)
        if share < 0.99:
            # Consent was accepted, yet messages come back `recorded: false`: the transcript
            # does not record yet, so this is not the cost of recording.
            out["available"] = False
            out["reason"] = (
                f"consent accepted, but only {steady.recorded} of {steady.received} copies "
                "came back recorded"
            )
            out["disconnect"] = _disconnect(ctx, name)
            return out
    if capacity:
        time.sleep(1)
        out["capacity"] = ramp(
            ctx, f"{name} capacity", sizes.capacity_rates, sizes.capacity_step_s, len(rooms)
        )
    out["disconnect"] = _disconnect(ctx, name)
    return out


def saturation(ctx: Context) -> dict[str, Any]:
    """The highest rate in big rooms that keeps p99 <= 250 ms and delivery >= 99 %."""
    sizes = ctx.sizes
    rooms = sat_rooms(sizes)
    report = _connect(ctx, ctx.conns(rooms, sizes.sat_members), "saturation")
    out: dict[str, Any] = {"connect": report}
    if report["failed"]:
        out["problem"] = f"{report['failed']} sockets failed to connect: {report['failures']}"
    out.update(ramp(ctx, "saturation", sizes.sat_rates, sizes.sat_step_s, len(rooms)))
    out["disconnect"] = _disconnect(ctx, "saturation")
    return out


def storm(ctx: Context) -> dict[str, Any]:
    """Stop one of the two processes as a deploy does; its members come back on the other.

    The rooms talk at `storm_rate` throughout (senders are members of the process that stays).
    CPU: the survivor's (and Redis', PostgreSQL's) over the 2 x window after the stop, minus
    twice that of the calm window before it: what reopening cost beyond the talking. The
    survivor carries every copy after the stop, so this overstates a little, for both systems.
    Must run last: it leaves one server stopped.
    """
    sizes, running = ctx.sizes, ctx.running
    rooms = storm_rooms(sizes)
    conns = []
    user = 0
    for room in rooms:
        for j in range(sizes.storm_members):
            token = ctx.tokens[user] if ctx.tokens is not None else None
            alt = running.ws_url(0, room) if j % 2 else None
            conns.append(Conn(running.ws_url(j, room), room, token, alt))
            user += 1
    report = _connect(ctx, conns, "storm")
    survivor, doomed = running.servers
    groups: dict[str, Callable[[], list[int]]] = {
        "server": lambda: [survivor.pid, *descendants(survivor.pid)],
        "redis": lambda: running.redis_pids,
    }
    if running.name in ("hearth", "before"):
        groups["postgres"] = postgres_pids
    window = sizes.storm_window_s
    marks: dict[str, dict[str, Any]] = {}
    stopped_at: list[float] = []

    def snap(name: str) -> None:
        marks[name] = {group: cpu_by_pid(pids()) for group, pids in groups.items()}

    def during(start_at: float) -> None:
        time.sleep(max(0.0, start_at - time.time()))
        snap("start")
        time.sleep(window)
        snap("stop")
        stopped_at.append(time.time())
        running.children.stop(doomed, grace=30)
        time.sleep(max(0.0, start_at + 3 * window - time.time()))
        snap("end")

    ctx.say(f"storm: {len(conns)} members talking, then one process stopped", 3 * window)
    phase_id = ctx.phase_id()
    with ctx.profiled(f"{phase_id}-storm"):
        result = ctx.workers.storm(phase_id, sizes.storm_rate, 3 * window,
                                   max(30.0, 2 * window), during)
    out: dict[str, Any] = {"connect": report, **result}
    if {"start", "stop", "end"} <= set(marks):
        calm = {g: cpu_delta(marks["start"][g], marks["stop"][g]) for g in groups}
        after = {g: cpu_delta(marks["stop"][g], marks["end"][g]) for g in groups}
        extra = {g: max(0.0, after[g] - 2 * calm[g]) for g in groups}
        back = max(1, int(result["back"]))
        out["cpu_ms_per_socket_opened"] = {g: round(1000 * v / back, 3) for g, v in extra.items()}
        out["cpu_ms_per_socket_opened"]["all"] = round(1000 * sum(extra.values()) / back, 3)
        out["back_within_measured_window"] = (
            result["back_s"] is not None and result["back_s"] <= 2 * window
        )
    out["everyone_back_whole"] = (
        result["not_back"] == 0
        and (result["missing_copies"] in (0, None))
        and (result["repeated_copies"] in (0, None))
    )
    ctx.workers.disconnect()
    return out
