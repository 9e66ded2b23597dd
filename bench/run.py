"""Hearth's benchmark: the same load against the floor (`bench/floor.py`) and against Hearth.

Runs the floor, the websockets-server floor (`bench/floor_ws.py`), then Hearth (`--repeat`
times), then the floor again, each as two server
processes sharing a private Redis, with rooms spread over both so every room crosses
processes; writes `bench/results/latest.{json,md}` and a timestamped copy. Every process it
starts it stops, by PID; nothing is left running. See bench/README.md.

    .venv/bin/python bench/run.py [--scenarios idle,meeting,saturation,recorded]
                                  [--repeat 2] [--workers 2] [--quick] [--floor-only]
                                  [--client lean|websockets|both] [--before REF]

`--before REF` runs git REF's Hearth too (`before.py`), its runs paired with this checkout's,
the pair's order alternating run by run (the slot right after a floor costs about 10 % of
CPU per delivery, so neither version always takes it); `--client both` runs everything
once per client and writes the targets under both.
"""

from __future__ import annotations

import argparse
import re
import resource
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import report
import scenarios
from before import Before, prepare
from driver import Workers
from procs import Children, install_signal_handlers, wait_quiet
from profiling import Profiler
from scenarios import Context, Sizes
from systems import (
    DB_NAME,
    HEARTH,
    Hearth,
    HearthAccounts,
    Postgres,
    Running,
    hearth_env,
    start_system,
)

BENCH = Path(__file__).resolve().parent
ALL_SCENARIOS = ("idle", "meeting", "recorded", "saturation", "storm")  # storm last
CLUSTER_SCENARIOS = ("meeting", "saturation")
QUIET_CORES = 0.3  # other work busier than this on average disturbs a measurement
HEARTHS = ("hearth", "before")  # this checkout's Hearth, and that of `--before REF`
CLIENTS = ("lean", "websockets")


@dataclass
class HearthSetup:
    """What one Hearth under test needs: its executable, environment and accounts."""

    hearth: Path
    env: dict[str, str]
    accounts: HearthAccounts
    version: str | None = None  # shown for its runs (None: this working tree's)


class Progress:
    """One status line on stderr: elapsed time, run, step, seconds left in the step."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.run = ""
        self.text = "starting"
        self.until: float | None = None
        self.tty = sys.stderr.isatty()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        if self.tty:
            self._thread = threading.Thread(target=self._tick, daemon=True)
            self._thread.start()

    def _line(self) -> str:
        elapsed = int(time.monotonic() - self.started)
        left = ""
        if self.until is not None:
            left = f" ({max(0, round(self.until - time.monotonic()))} s left)"
        return f"[{elapsed // 60:2d}:{elapsed % 60:02d}] {self.run} {self.text}{left}"

    def _draw(self, final: bool = False) -> None:
        with self._lock:
            if self.tty:
                sys.stderr.write("\r\x1b[2K" + self._line()[:200] + ("\n" if final else ""))
            else:
                sys.stderr.write(self._line() + "\n")
            sys.stderr.flush()

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            self._draw()

    def say(self, text: str, seconds: float | None = None) -> None:
        """Show what is happening now, and for how long it will, if known."""
        self.text = text
        self.until = None if seconds is None else time.monotonic() + seconds
        self._draw()

    def note(self, text: str) -> None:
        """A line that stays."""
        self.text, self.until = text, None
        self._draw(final=True)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self.tty:
            sys.stderr.write("\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Hearth benchmark against the floor.")
    p.add_argument("--scenarios", default=None,
                   help="comma-separated subset of " + ",".join(ALL_SCENARIOS))
    p.add_argument("--repeat", type=int, default=2,
                   help="Hearth runs, between a floor run before and one after")
    p.add_argument("--workers", type=int, default=2, help="load-generator processes")
    p.add_argument("--client", choices=(*CLIENTS, "both"), default="lean",
                   help="WebSocket client of the load generator (see bench/wsclient.py); "
                        "both: the whole benchmark once with each (the lean one's in OUT, "
                        "the other's in OUT/websockets-client) and the targets under both "
                        "in OUT/targets-both-clients.md")
    p.add_argument("--before", metavar="REF",
                   help="also run Hearth as of git REF (its own worktree and venv under "
                        "/tmp), its runs paired with this checkout's, the pair's order "
                        "alternating, between the same floors: both columns and both ratios "
                        "in the tables")
    p.add_argument("--quick", action="store_true", help="small sizes, short steps (~2-3 min)")
    p.add_argument("--capacity", choices=("hearth", "all", "none"), default="hearth",
                   help="whose meeting-shaped capacity to ramp after meeting and recorded "
                        "(the recorded target compares Hearth's two)")
    p.add_argument("--cluster", action="store_true",
                   help="a three-master Redis Cluster instead of one Redis (default scenarios: "
                        "meeting,saturation; results in bench/results/cluster/)")
    p.add_argument("--floor-only", action="store_true", help="do not run Hearth")
    p.add_argument("--wait-quiet", type=float, default=60.0, metavar="S",
                   help="before each run, wait up to S s for other work to leave the cores")
    p.add_argument("--out", type=Path, default=BENCH / "results")
    p.add_argument("--profile", type=Path, metavar="DIR",
                   help="sample Hearth's servers with py-spy during every step into DIR "
                        "(slows them: for finding hot spots, not for figures)")
    args = p.parse_args(argv)
    if args.scenarios is None:
        args.scenarios = ",".join(CLUSTER_SCENARIOS if args.cluster else ALL_SCENARIOS)
    chosen = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(chosen) - set(ALL_SCENARIOS)
    if unknown:
        p.error(f"unknown scenarios: {sorted(unknown)}")
    args.scenarios = [s for s in ALL_SCENARIOS if s in chosen]
    if args.cluster and args.out == BENCH / "results":
        args.out = BENCH / "results" / "cluster"  # never mistaken for the one-Redis figures
    if args.profile is not None and args.out in (BENCH / "results", BENCH / "results" / "cluster"):
        args.out = args.profile  # a profiled run's figures never become the latest ones
    if not 1 <= args.repeat <= 10 or not 1 <= args.workers <= 8:
        p.error("--repeat must be 1-10 and --workers 1-8")
    return args


def log_problems(running: Running) -> list[str]:
    """Distinct error lines in the servers' logs (tracebacks, ERROR records)."""
    seen: dict[str, int] = {}
    pattern = re.compile(r"Traceback|\bERROR\b|Error:|Exception")
    stamp = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[,.]\d+ ")
    for child in running.servers:
        if child.log is None or not child.log.exists():
            continue
        for line in child.log.read_text(errors="replace").splitlines():
            if pattern.search(line):
                text = stamp.sub("", line.strip())[:200]
                key = f"{child.name}: {text}"
                seen[key] = seen.get(key, 0) + 1
    return [f"{k} (x{v})" if v > 1 else k for k, v in list(seen.items())[:20]]


def room_settings(sizes: Sizes) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Hearth's rooms: (plain ones, the `opt_in` ones of `recorded`)."""
    plain = {slug: {} for slug in scenarios.idle_rooms(sizes)}
    plain.update({slug: {} for slug in scenarios.meeting_rooms(sizes)})
    plain.update({slug: {} for slug in scenarios.sat_rooms(sizes)})
    plain.update({slug: {} for slug in scenarios.storm_rooms(sizes)})
    recorded = {slug: {"transcripts": "opt_in"} for slug in scenarios.meeting_rooms(sizes, "rec")}
    return plain, recorded


def one_run(
    system: str,
    position: int,
    args: argparse.Namespace,
    sizes: Sizes,
    children: Children,
    progress: Progress,
    setup: HearthSetup | None,
    notes: list[str],
) -> dict[str, Any]:
    """Start `system`, run the chosen scenarios against it, stop it."""
    tag = f"{system[0]}{position}"
    busy = wait_quiet(
        args.wait_quiet,
        QUIET_CORES,
        lambda b, left: progress.say(f"waiting for a quiet machine: other work keeps {b:.2f} "
                                     "cores busy", left),
    )
    if busy >= QUIET_CORES:
        notes.append(f"run {position + 1} ({system}) started on a busy machine: other work kept "
                     f"{busy:.2f} cores busy")
    progress.say(f"starting {system}: Redis and two servers")
    started = time.monotonic()
    running = start_system(system, children, tag, setup.env if setup else None,
                           cluster=args.cluster, hearth=setup.hearth if setup else HEARTH)
    run: dict[str, Any] = {"system": system, "position": position, "scenarios": {},
                           "other_cores_busy_at_start": round(busy, 2),
                           "server_version": (setup.version if setup and setup.version
                                              else report.server_version())}
    workers: Workers | None = None
    try:
        workers = Workers(children, args.workers, tag, args.client)
        tokens = None
        unavailable: dict[str, str] = {}
        if system in HEARTHS:
            assert setup is not None
            tokens, unavailable = _sign_in(setup, running, args, sizes, progress, run)
        ctx = Context(running, workers, sizes, tokens, progress.say, tag,
                      quiet_cores=QUIET_CORES, quiet_wait_s=min(args.wait_quiet, 30.0))
        if args.profile is not None and system in HEARTHS:
            ctx.profiler = Profiler(args.profile)
        capacity = args.capacity == "all" or args.capacity == system
        jobs: dict[str, Callable[[], dict[str, Any]]] = {
            "idle": lambda: scenarios.idle(ctx),
            "meeting": lambda: scenarios.meeting(ctx, capacity=capacity),
            "recorded": lambda: scenarios.meeting(ctx, recorded=True, capacity=capacity),
            "saturation": lambda: scenarios.saturation(ctx),
            "storm": lambda: scenarios.storm(ctx),
        }
        for name in args.scenarios:
            if name == "recorded" and system not in HEARTHS:
                continue
            if name == "recorded" and unavailable:
                run["scenarios"][name] = {
                    "available": False,
                    "reason": "; ".join(list(unavailable.values())[:1]),
                }
                continue
            try:
                run["scenarios"][name] = jobs[name]()
            except Exception as exc:
                tb = traceback.format_exc(limit=3)
                run["scenarios"][name] = {"error": f"{type(exc).__name__}: {exc}", "trace": tb}
                notes.append(f"run {position + 1} ({system}) {name} failed: {exc}")
                progress.note(f"{name} failed: {exc}")
                running.check_alive()
                try:
                    workers.disconnect()
                except Exception:
                    # A worker in an unknown state: replace them all.
                    workers.close()
                    workers = Workers(children, args.workers, f"{tag}r", args.client)
                    ctx.workers = workers
            sc = run["scenarios"][name]
            if isinstance(sc, dict) and sc.get("available") is False:
                notes.append(f"run {position + 1} ({system}) {name}: not available "
                             f"({sc.get('reason')})")
    finally:
        if workers is not None:
            workers.close()
        running.stop()
        run["seconds"] = round(time.monotonic() - started, 1)
        run["server_log_problems"] = log_problems(running)
    for line in run["server_log_problems"][:5]:
        notes.append(f"run {position + 1} ({system}) log: {line}")
    return run


def _sign_in(
    setup: HearthSetup,
    running: Running,
    args: argparse.Namespace,
    sizes: Sizes,
    progress: Progress,
    run: dict[str, Any],
) -> tuple[list[str], dict[str, str]]:
    """A Hearth's rooms and signed-in users: (tokens, optional rooms it could not make)."""
    plain, recorded = room_settings(sizes)
    if "recorded" not in args.scenarios:
        recorded = {}
    progress.say(f"signing in {sizes.users_needed()} users")
    timings, unavailable = setup.accounts.prepare(running, sizes.users_needed(), plain, recorded)
    run["setup"] = timings
    return setup.accounts.tokens, unavailable


def paired(hearths: list[str], repeat: int) -> list[str]:
    """`repeat` runs of each Hearth, in pairs whose order alternates: the first of a pair
    comes right after the floors' runs or the other's, a slot measured about 10 % dearer
    in CPU per delivery, so neither version takes it every time."""
    return [s for i in range(repeat) for s in (hearths if i % 2 == 0 else hearths[::-1])]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    install_signal_handlers()
    if args.client != "both":
        return bench(args)
    out = args.out
    results: dict[str, dict[str, Any]] = {}
    for client in CLIENTS:  # the lean client's figures stay the latest ones
        args.client = client
        args.out = out if client == "lean" else out / f"{client}-client"
        code = bench(args)
        if code:
            return code
        results[client] = orjson.loads((args.out / "latest.json").read_bytes())
    path = out / "targets-both-clients.md"
    path.write_text(report.both_clients(results), encoding="utf-8")
    print(path.read_text(encoding="utf-8"))
    print("written:", path, file=sys.stderr)
    return 0


def _set_up_hearths(
    args: argparse.Namespace, databases: list[Postgres], progress: Progress, notes: list[str]
) -> dict[str, HearthSetup]:
    """Databases, schemas and admins of this checkout's Hearth and (`--before`) REF's."""
    setups: dict[str, HearthSetup] = {}
    before: Before | None = None
    if args.before:
        progress.say(f"checking out {args.before} with a venv of its own")
        before = prepare(args.before)
        if before.note:
            notes.append(before.note)
    for system in HEARTHS if before else HEARTHS[:1]:
        database = Postgres() if system == "hearth" else Postgres(f"{DB_NAME}_before")
        progress.say(f"creating database {database.name}, migrating, creating the admin")
        database.create()
        databases.append(database)
        exe = HEARTH if before is None or system == "hearth" else before.hearth
        config = before.config if before is not None and system == "before" else None
        env = hearth_env(database.url, config) if config else hearth_env(database.url)
        Hearth.migrate(env, exe)
        accounts = HearthAccounts()
        Hearth.create_admin(env, accounts.admin, accounts.admin_password, exe)
        version = f"{before.ref} {before.commit[:12]}" if system == "before" and before else None
        setups[system] = HearthSetup(exe, env, accounts, version)
    if before is not None:
        args.before_info = {"ref": before.ref, "commit": before.commit, "root": str(before.root)}
    return setups


def bench(args: argparse.Namespace) -> int:
    """One benchmark with one client: every system, the report."""
    sizes = Sizes.quick() if args.quick else Sizes()
    stamp = time.strftime("%Y%m%dT%H%M%S")
    log_dir = Path(f"/tmp/hearth-bench-{stamp}")
    children = Children(log_dir)
    progress = Progress()
    notes: list[str] = []
    runs: list[dict[str, Any]] = []
    databases: list[Postgres] = []
    hearth_ok = False
    started = time.monotonic()
    args.before_info = None
    try:
        setups: dict[str, HearthSetup] = {}
        if not args.floor_only:
            hearth_ok, why = Hearth.available()
            if not hearth_ok:
                notes.append(f"Hearth not runnable, floor only: {why.strip()[:300]}")
                progress.note("Hearth is not runnable; measuring the floor only")
        if hearth_ok:
            setups = _set_up_hearths(args, databases, progress, notes)
        # The floor right before and right after Hearth's runs, with the same load generator.
        # The websockets-server floor once, between the first floor and Hearth. With
        # `--before`, this checkout's Hearth and REF's run in pairs, first one then the other.
        hearths = [s for s in HEARTHS if s in setups]
        order = ["floor", "wsfloor", *paired(hearths, args.repeat), "floor"] if hearth_ok else (
            ["floor"] * args.repeat
        )
        for position, system in enumerate(order):
            progress.run = f"run {position + 1}/{len(order)} {system}:"
            try:
                runs.append(
                    one_run(system, position, args, sizes, children, progress,
                            setups.get(system), notes)
                )
                progress.note(f"done in {runs[-1]['seconds']:.0f} s")
            except Exception as exc:  # a system that does not start is a finding, not a stop
                runs.append({"system": system, "position": position, "scenarios": {},
                             "error": f"{type(exc).__name__}: {exc}"})
                notes.append(f"run {position + 1} ({system}) failed: {exc}")
                progress.note(f"run failed: {exc}")
    except KeyboardInterrupt:
        notes.append("interrupted")
        progress.note("interrupted; stopping everything")
    finally:
        progress.stop()
        children.stop_all()
        for database in databases:
            try:
                database.drop()
            except Exception as exc:
                notes.append(f"could not drop database {database.name}: {exc}")
    if not runs:
        print("no run completed; logs in", log_dir, file=sys.stderr)
        return 1
    figures, targets = report.build(runs, QUIET_CORES)
    notes += report.disturbances(runs, QUIET_CORES)
    versions = [r.get("server_version") for r in runs if r["system"] == "hearth"]
    if len(set(versions)) > 1:
        notes.append(f"Hearth's code changed between its runs: {versions}")
    result = {
        "machine": report.machine(),
        "config": {
            "quick": args.quick,
            "repeat": args.repeat,
            "workers": args.workers,
            "client": args.client,
            "redis": "cluster of 3 masters" if args.cluster else "one redis-server",
            "scenarios": args.scenarios,
            "capacity_ramps": args.capacity,
            "profiled": args.profile is not None,
            "before": args.before_info,
            "sizes": sizes.as_dict(),
            "hearth_config": (BENCH / "hearth-bench.toml").read_text(encoding="utf-8"),
            "log_dir": str(log_dir),
            "seconds": round(time.monotonic() - started, 1),
        },
        "figures": figures,
        "targets": targets,
        "notes": notes,
        "runs": runs,
    }
    paths = report.write(result, args.out)
    print(report.markdown(result))
    print("written:", ", ".join(str(p) for p in paths), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
