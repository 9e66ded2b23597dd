"""Turns the runs into figures: each one absolute and as a ratio to the floor, with its spread
over the repeated runs; checks the targets; writes JSON and a Markdown table.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

__all__ = [
    "FIGURES",
    "both_clients",
    "build",
    "disturbances",
    "machine",
    "markdown",
    "server_version",
    "write",
]

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Figure:
    """One reported figure: where it is in a run's scenario results, and how to show it."""

    key: str
    label: str
    unit: str
    scenario: str  # the Hearth scenario it comes from
    floor_scenario: str  # the floor scenario it is compared with
    path: tuple[str, ...]
    scale: float = 1.0  # shown value = stored value x scale


def _meeting(scenario: str, floor: str, title: str) -> list[Figure]:
    s = scenario
    return [
        Figure(f"{s}.deliveries_per_s", f"{title}: deliveries/s", "/s", s, floor,
               ("steady", "deliveries_per_s")),
        Figure(f"{s}.delivery", f"{title}: delivery", "%", s, floor,
               ("steady", "delivery"), 100.0),
        Figure(f"{s}.p50", f"{title}: latency p50", "ms", s, floor,
               ("steady", "latency_ms", "p50")),
        Figure(f"{s}.p95", f"{title}: latency p95", "ms", s, floor,
               ("steady", "latency_ms", "p95")),
        Figure(f"{s}.p99", f"{title}: latency p99", "ms", s, floor,
               ("steady", "latency_ms", "p99")),
        Figure(f"{s}.max", f"{title}: latency max", "ms", s, floor,
               ("steady", "latency_ms", "max")),
        Figure(f"{s}.cpu", f"{title}: server+Redis CPU per 1,000 deliveries", "ms", s, floor,
               ("steady", "cpu_ms_per_1k_deliveries", "server_redis")),
        Figure(f"{s}.cpu_server", f"{title}: server CPU per 1,000 deliveries", "ms", s, floor,
               ("steady", "cpu_ms_per_1k_deliveries", "server")),
        Figure(f"{s}.cpu_redis", f"{title}: Redis CPU per 1,000 deliveries", "ms", s, floor,
               ("steady", "cpu_ms_per_1k_deliveries", "redis")),
        Figure(f"{s}.capacity", f"{title}: capacity (p99 ≤ 250 ms, ≥ 99 %)", "deliveries/s",
               s, floor, ("capacity", "deliveries_per_s")),
        Figure(f"{s}.capacity_cpu",
               f"{title}: server+Redis CPU per 1,000 deliveries at capacity", "ms", s, floor,
               ("capacity", "best", "cpu_ms_per_1k_deliveries", "server_redis")),
    ]


FIGURES: list[Figure] = [
    Figure("idle.bytes_per_socket", "idle: server RSS per socket", "KiB", "idle", "idle",
           ("bytes_per_socket",), 1 / 1024),
    Figure("idle.redis_bytes_per_socket", "idle: Redis RSS per socket", "KiB", "idle", "idle",
           ("redis_bytes_per_socket",), 1 / 1024),
    Figure("idle.connect_s", "idle: time to open all sockets", "s", "idle", "idle",
           ("connect_s",)),
    Figure("idle.connect_cpu", "idle: server CPU per socket opened", "ms", "idle", "idle",
           ("connect_cpu_ms_per_socket", "server")),
    *_meeting("meeting", "meeting", "meeting"),
    Figure("saturation.deliveries_per_s", "saturation: highest passing deliveries/s", "/s",
           "saturation", "saturation", ("deliveries_per_s",)),
    Figure("saturation.rate", "saturation: its rate per room", "msg/s", "saturation",
           "saturation", ("best_rate_per_room",)),
    Figure("saturation.p99", "saturation: p99 at that rate", "ms", "saturation", "saturation",
           ("best", "latency_ms", "p99")),
    Figure("saturation.cpu", "saturation: server+Redis CPU per 1,000 deliveries", "ms",
           "saturation", "saturation", ("best", "cpu_ms_per_1k_deliveries", "server_redis")),
    *_meeting("recorded", "meeting", "recorded (vs floor meeting)"),
    Figure("storm.back_s", "storm: until every member is back", "s", "storm", "storm",
           ("back_s",)),
    Figure("storm.reopen_p50", "storm: reopen p50 (close to welcome)", "ms", "storm", "storm",
           ("reopen_p50_ms",)),
    Figure("storm.reopen_p99", "storm: reopen p99 (close to welcome)", "ms", "storm", "storm",
           ("reopen_p99_ms",)),
    Figure("storm.cpu", "storm: server CPU per socket opened", "ms", "storm", "storm",
           ("cpu_ms_per_socket_opened", "server")),
    Figure("storm.cpu_all", "storm: server+Redis(+PostgreSQL) CPU per socket opened", "ms",
           "storm", "storm", ("cpu_ms_per_socket_opened", "all")),
    Figure("storm.missing", "storm: copies missed by members", "", "storm", "-",
           ("missing_copies",)),
    Figure("storm.repeated", "storm: copies received twice", "", "storm", "-",
           ("repeated_copies",)),
    Figure("recorded.cpu_postgres", "recorded: PostgreSQL CPU per 1,000 deliveries", "ms",
           "recorded", "-", ("steady", "cpu_ms_per_1k_deliveries", "postgres")),
]

_FIGURE = {fig.key: fig for fig in FIGURES}


def _get(d: Any, path: tuple[str, ...]) -> float | None:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return float(d) if isinstance(d, int | float) and not isinstance(d, bool) else None


def _stats(values: list[float]) -> dict[str, Any] | None:
    if not values:
        return None
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "stdev": statistics.stdev(values) if len(values) > 1 else 0.0,
        "n": len(values),
        "values": values,
    }


def _values(runs: list[dict[str, Any]], system: str, scenario: str,
            path: tuple[str, ...]) -> list[tuple[int, float]]:
    """(position in the run order, value) of every run of `system` that has the figure."""
    out = []
    for pos, run in enumerate(runs):
        if run["system"] != system:
            continue
        result = run.get("scenarios", {}).get(scenario)
        if not isinstance(result, dict) or result.get("available") is False:
            continue
        v = _get(result, path)
        if v is not None:
            out.append((pos, v))
    return out


def _disturbed(run: dict[str, Any], scenario: str, path: tuple[str, ...],
               threshold: float) -> bool:
    """Whether other work kept more than `threshold` cores busy in a phase the figure
    comes from (the steady phase, or any step of the ramp that found it)."""
    sc = run.get("scenarios", {}).get(scenario)
    if not isinstance(sc, dict):
        return False
    if path[0] == "steady":
        phases = [sc.get("steady") or {}]
    elif path[0] == "capacity":
        phases = (sc.get("capacity") or {}).get("steps", [])
    else:
        phases = sc.get("steps", [])
    return any((p.get("other_cores_busy") or 0.0) > threshold for p in phases)


def _bracketed_ratios(hearth: list[tuple[int, float]],
                      floor: list[tuple[int, float]]) -> list[float]:
    """Each Hearth run over the mean of the floor runs right before and right after it."""
    ratios = []
    for pos, value in hearth:
        before = [v for p, v in floor if p < pos][-1:]
        after = [v for p, v in floor if p > pos][:1]
        around = before + after
        if around and statistics.fmean(around) > 0:
            ratios.append(value / statistics.fmean(around))
    return ratios


def build(
    runs: list[dict[str, Any]], threshold: float = 0.3
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The figures (absolute, ratio, spread) and the targets, from the runs in order."""
    figures = []
    by_key: dict[str, dict[str, Any]] = {}
    for fig in FIGURES:
        h = _values(runs, "hearth", fig.scenario, fig.path)
        f = _values(runs, "floor", fig.floor_scenario, fig.path) if fig.floor_scenario != "-" \
            else []
        w = _values(runs, "wsfloor", fig.floor_scenario, fig.path) \
            if fig.floor_scenario != "-" else []
        b = _values(runs, "before", fig.scenario, fig.path)
        hs = _stats([v * fig.scale for _, v in h])
        fs = _stats([v * fig.scale for _, v in f])
        ws = _stats([v * fig.scale for _, v in w])
        bs = _stats([v * fig.scale for _, v in b])
        bracketed = _bracketed_ratios(h, f)
        disturbed = {
            system: sum(
                1 for pos, _ in values
                if _disturbed(runs[pos], scenario, fig.path, threshold)
            )
            for system, values, scenario in (
                ("hearth", h, fig.scenario), ("floor", f, fig.floor_scenario)
            )
        }
        entry = {
            "key": fig.key,
            "label": fig.label,
            "unit": fig.unit,
            "floor": fs,
            "wsfloor": ws,
            "hearth": hs,
            "ratio": _ratio(hs, fs),
            "ratio_wsfloor": _ratio(hs, ws),
            "ratio_per_run": bracketed,
            "disturbed_runs": disturbed,
        }
        if bs:  # `--before REF`: the same figures of REF's Hearth, run between the same floors
            entry.update(before=bs, ratio_before=_ratio(bs, fs),
                         ratio_before_wsfloor=_ratio(bs, ws),
                         ratio_before_per_run=_bracketed_ratios(b, f))
        if hs or fs:
            figures.append(entry)
            by_key[fig.key] = entry
    targets = _targets(runs, by_key)
    if any("before" in e for e in figures):
        for mine, theirs in zip(targets, _targets(runs, by_key, "before"), strict=True):
            mine["before"] = {"value": theirs["value"], "met": theirs["met"],
                              "detail": theirs["detail"]}
    return figures, targets


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float | None:
    return a["median"] / b["median"] if a and b and b["median"] else None


def _targets(runs: list[dict[str, Any]], by_key: dict[str, dict[str, Any]],
             system: str = "hearth") -> list[dict[str, Any]]:
    """The targets of `system` ("hearth", or "before": REF's Hearth of `--before`)."""
    suffix = "" if system == "hearth" else "_before"

    def ratio(key: str) -> float | None:
        e = by_key.get(key)
        return None if e is None else e.get("ratio" + suffix)

    def target(name: str, value: float | None, limit: float, ok: Callable[[float], bool],
               detail: str) -> dict[str, Any]:
        return {
            "target": name,
            "value": value,
            "limit": limit,
            "met": None if value is None else ok(value),
            "detail": detail,
        }

    def spread(key: str) -> str:
        per = (by_key.get(key) or {}).get(f"ratio{suffix}_per_run") or []
        return f"Hearth ÷ floor, medians; per run {min(per):.2f}–{max(per):.2f}" if per else \
            "Hearth ÷ floor, medians"

    def hearth_ratio(key: str, base: str) -> float | None:
        a = (by_key.get(key) or {}).get(system)
        b = (by_key.get(base) or {}).get(system)
        return a["median"] / b["median"] if a and b and b["median"] else None

    def same_run_spread(key: str, base: str) -> str:
        """The range over runs of each run's own ratio (recorded ÷ meeting of one run)."""
        fig, ref = _FIGURE[key], _FIGURE[base]
        mine = dict(_values(runs, system, fig.scenario, fig.path))
        theirs = dict(_values(runs, system, ref.scenario, ref.path))
        per = [mine[p] / theirs[p] for p in mine if theirs.get(p)]
        return f"Hearth medians; per run {min(per):.2f}–{max(per):.2f}" if per else \
            "Hearth medians"

    def at_most(limit: float) -> Callable[[float], bool]:
        return lambda v: v <= limit

    def at_least(limit: float) -> Callable[[float], bool]:
        return lambda v: v >= limit

    # The targets of issue #16 (ratios to the floor measured in the same session).
    out = []
    for name, key, limit, ok in (
        ("saturation ≥ 0.8 × floor deliveries/s", "saturation.deliveries_per_s", 0.8,
         at_least(0.8)),
        ("meeting p99 ≤ 1.2 × floor's", "meeting.p99", 1.2, at_most(1.2)),
        ("meeting server+Redis CPU per 1,000 deliveries ≤ 1.2 × floor's", "meeting.cpu", 1.2,
         at_most(1.2)),
        ("idle memory/socket ≤ 1.1 × floor's", "idle.bytes_per_socket", 1.1, at_most(1.1)),
        ("storm server CPU per socket opened ≤ 2 × floor's", "storm.cpu", 2.0, at_most(2.0)),
    ):
        out.append(target(name, ratio(key), limit, ok, spread(key)))
    ws_sat = (by_key.get("saturation.deliveries_per_s") or {}).get(f"ratio{suffix}_wsfloor")
    out.append(target("saturation ≥ 1.0 × the websockets floor (aim: past it)", ws_sat, 1.0,
                      at_least(1.0), "Hearth ÷ websockets floor, medians"))
    deliveries = [v for _, v in _values(runs, system, "meeting", ("steady", "delivery"))]
    out.append(target("meeting delivery 100 %", min(deliveries) if deliveries else None, 1.0,
                      at_least(1.0), "lowest over Hearth runs"))
    whole = [v for _, v in _values(runs, system, "storm", ("missing_copies",))]
    twice = [v for _, v in _values(runs, system, "storm", ("repeated_copies",))]
    away = [v for _, v in _values(runs, system, "storm", ("not_back",))]
    value = max(whole + twice + away) if whole and twice and away else None
    out.append(target("storm: every member back, nothing missed, nothing repeated", value, 0.0,
                      at_most(0.0), "worst run: missed + repeated copies, members not back"))
    for name, key, base, limit, ok in (
        ("recorded p50 ≤ 1.5 × Hearth's meeting p50", "recorded.p50", "meeting.p50", 1.5,
         at_most(1.5)),
        ("recorded p99 ≤ 2 × Hearth's meeting p99", "recorded.p99", "meeting.p99", 2.0,
         at_most(2.0)),
        ("recorded capacity ≥ 0.9 × Hearth's meeting capacity", "recorded.capacity",
         "meeting.capacity", 0.9, at_least(0.9)),
    ):
        out.append(target(name, hearth_ratio(key, base), limit, ok, same_run_spread(key, base)))
    return out


def _phases(sc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    if isinstance(sc.get("steady"), dict):
        out.append(("steady", sc["steady"]))
    for ramp_name, ramp in (("", sc), ("capacity ", sc.get("capacity"))):
        if isinstance(ramp, dict):
            for step in ramp.get("steps", []):
                out.append((f"{ramp_name}{step['rate_per_room']:g}/s/room", step))
    return out


def disturbances(runs: list[dict[str, Any]], threshold: float = 0.3) -> list[str]:
    """Measured phases during which other work (not this benchmark) kept cores busy."""
    notes = []
    for i, run in enumerate(runs):
        for name, sc in run.get("scenarios", {}).items():
            if not isinstance(sc, dict):
                continue
            for label, phase in _phases(sc):
                busy = phase.get("other_cores_busy") or 0.0
                retried = phase.get("retried_because_other_cores_busy")
                if busy > threshold:
                    notes.append(
                        f"run {i + 1} ({run['system']}) {name} {label}: other work kept "
                        f"{busy:.2f} cores busy{' even on the second try' if retried else ''}"
                    )
    return notes


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _run(argv: list[str]) -> str | None:
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def server_version() -> str:
    """The commit of the working tree, with `+dirty` when server/ has uncommitted changes."""
    commit = (_run(["git", "rev-parse", "--short=12", "HEAD"]) or "unknown")
    dirty = _run(["git", "status", "--porcelain", "--", "server"])
    return commit + ("+dirty" if dirty else "")


def machine() -> dict[str, Any]:
    """Versions and the machine, for the report's header."""
    cpu_model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    dists = ["hearth", "starlette", "uvicorn", "websockets", "uvloop", "httptools", "redis",
             "orjson", "msgspec", "sqlalchemy", "asyncpg", "argon2-cffi", "httpx"]
    commit = _run(["git", "rev-parse", "HEAD"])
    dirty = _run(["git", "status", "--porcelain", "--", "server"])
    return {
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpu_model": cpu_model,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "memory_gib": round(mem_kib / 2**20, 1) if mem_kib else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": {d: _version(d) for d in dists},
        "redis_server": _run(["redis-server", "--version"]),
        "postgresql": _run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc",
                            "show server_version"]),
        "git_commit": commit,
        "server_tree_dirty": bool(dirty) if dirty is not None else None,
    }


def _fmt(x: float | None) -> str:
    if x is None:
        return "–"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def _cell(stats: dict[str, Any] | None, disturbed: int = 0) -> str:
    if not stats:
        return "–"
    mark = " †" if disturbed else ""
    if stats["n"] == 1:
        return _fmt(stats["median"]) + mark
    return f"{_fmt(stats['median'])} ({_fmt(stats['min'])}–{_fmt(stats['max'])}){mark}"


def markdown(result: dict[str, Any]) -> str:
    """The report as a Markdown page."""
    m = result["machine"]
    pk = m["packages"]
    lines = [
        f"# Hearth benchmark, {m['time_utc']}",
        "",
        f"Machine: {m['cpu_model']}, {m['cores']} cores ({m['cores_usable']} usable), "
        f"{m['memory_gib']} GiB, Linux {m['kernel']}. Python {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in pk.items() if v)
        + f"; {m['redis_server'] or 'redis ?'}; PostgreSQL {m['postgresql']}. "
        f"Commit {str(m['git_commit'])[:12]}"
        + (" (server/ has uncommitted changes)" if m.get("server_tree_dirty") else "")
        + ".",
        "",
        "Runs in order: "
        + " → ".join(
            r["system"] + (f" ({r['server_version']})" if r["system"] in ("hearth", "before")
                           and r.get("server_version") else "")
            for r in result["runs"]
        )
        + "; "
        f"{result['config']['workers']} load-generator processes "
        f"({result['config'].get('client', 'lean')} client); "
        f"{'quick sizes' if result['config']['quick'] else 'full sizes'}. "
        "Cells: median (min–max) over the runs; ratio = Hearth ÷ floor medians, then the "
        "range of each Hearth run over the mean of the floor runs just before and after it. "
        "Delivery: copies received by the end of the drain (≤ "
        f"{result['config']['sizes']['drain_s']:g} s after the last send) ÷ messages sent × "
        "members; latency: send to receipt, sender's copy included; CPU: utime + stime over "
        "the phase and its drain. The `recorded` rows compare with the floor's meeting.",
        "",
    ]
    before = result["config"].get("before")
    if before:
        lines += [
            f"`before` is Hearth at {before['ref']} ({before['commit'][:12]}), run between "
            "the same floors, its runs paired with this checkout's, the pair's order "
            "alternating run by run; its ratios are to the same floor medians.",
            "",
        ]
    lines += _figure_table(result["figures"], bool(before))
    if any(sum(f.get("disturbed_runs", {}).values()) for f in result["figures"]):
        lines += ["", "† a run behind this cell was measured while other work on the machine "
                  "kept more than 0.3 cores busy (even after measuring again); see the notes."]
    lines += ["", "## Targets", ""]
    lines += _target_table(result["targets"], before["ref"] if before else None)
    lines += _ramp_lines(result["runs"])
    notes = result.get("notes") or []
    if notes:
        lines += ["", "## Notes and problems seen", ""]
        lines += [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def _ratio_cell(f: dict[str, Any], key: str) -> str:
    if f.get(key) is None:
        return "–"
    text = f"{f[key]:.2f}"
    per = f.get(f"{key}_per_run") or []
    return text + (f" ({min(per):.2f}–{max(per):.2f})" if len(per) > 1 else "")


def _figure_table(figures: list[dict[str, Any]], before: bool) -> list[str]:
    head = ("| figure | unit | floor | websockets floor | Hearth | Hearth ÷ floor "
            "| Hearth ÷ ws floor |")
    rule = "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
    if before:
        head += " before | before ÷ floor | before ÷ ws floor |"
        rule += " ---: | ---: | ---: |"
    lines = [head, rule]
    for f in figures:
        dist = f.get("disturbed_runs", {})
        row = (
            f"| {f['label']} | {f['unit']} | {_cell(f['floor'], dist.get('floor', 0))} "
            f"| {_cell(f.get('wsfloor'))} "
            f"| {_cell(f['hearth'], dist.get('hearth', 0))} | {_ratio_cell(f, 'ratio')} "
            f"| {_ratio_cell(f, 'ratio_wsfloor')} |"
        )
        if before:
            row += (f" {_cell(f.get('before'))} | {_ratio_cell(f, 'ratio_before')} "
                    f"| {_ratio_cell(f, 'ratio_before_wsfloor')} |")
        lines.append(row)
    return lines


def _met(value: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "n/a"}[value]


def _target_table(targets: list[dict[str, Any]], before: str | None) -> list[str]:
    if before is None:
        lines = ["| target | value | met |", "| --- | ---: | --- |"]
    else:
        lines = [f"| target | value | met | before ({before}) | met |",
                 "| --- | ---: | --- | ---: | --- |"]
    for t in targets:
        row = f"| {t['target']} | {_fmt(t['value'])} ({t['detail']}) | {_met(t['met'])} |"
        if before is not None:
            b = t.get("before") or {"value": None, "met": None}
            row += f" {_fmt(b['value'])} | {_met(b['met'])} |"
        lines.append(row)
    return lines


def _ramp_lines(runs: list[dict[str, Any]]) -> list[str]:
    lines = ["", "## Steps of the ramps", ""]
    for i, run in enumerate(runs):
        for name, sc in run.get("scenarios", {}).items():
            ramps = [("", sc)] if name == "saturation" else [(" capacity", sc.get("capacity"))]
            for suffix, r in ramps:
                if not isinstance(r, dict) or "steps" not in r:
                    continue
                steps = ", ".join(
                    f"{s['rate_per_room']:g}→{s['deliveries_per_s']:,.0f}/s "
                    f"p99 {_fmt(s['latency_ms']['p99'])} ms "
                    f"{100 * s['delivery']:.1f} %{'' if s['passed'] else ' ✗'}"
                    for s in r["steps"]
                )
                lines.append(f"- run {i + 1} {run['system']} {name}{suffix}: {steps}")
    return lines


def both_clients(results: dict[str, dict[str, Any]]) -> str:
    """The targets under each client (`run.py --client both`): met only if met under all."""
    clients = list(results)
    first = results[clients[0]]
    lines = [
        f"# Hearth's targets under both clients, {first['machine']['time_utc']}",
        "",
        "Each column is a whole benchmark with that load-generator client (its own floors "
        "and Hearth runs: `latest.md`, `websockets-client/latest.md`); a target is held "
        "when it is met under every client.",
        "",
        "| target | " + " | ".join(f"{c}: value | met" for c in clients) + " | held |",
        "| --- | " + " | ".join("---: | ---" for _ in clients) + " | --- |",
    ]
    for i, target in enumerate(first["targets"]):
        cells, met = [], []
        for client in clients:
            found = results[client]["targets"]
            t = found[i] if i < len(found) else {"value": None, "met": None, "detail": ""}
            cells.append(f"{_fmt(t['value'])} ({t['detail']}) | {_met(t['met'])}")
            met.append(t["met"])
        held = None if all(m is None for m in met) else all(m is True for m in met)
        lines.append(f"| {target['target']} | " + " | ".join(cells) + f" | {_met(held)} |")
    return "\n".join(lines) + "\n"


def write(result: dict[str, Any], out_dir: Path) -> list[Path]:
    """latest.json, latest.md and a timestamped copy of each."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = result["machine"]["time_utc"].replace(":", "").replace("-", "")
    data = orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
    md = markdown(result)
    paths = []
    for name in ("latest", stamp):
        p = out_dir / f"{name}.json"
        tmp = p.with_suffix(".json.tmp")
        tmp.write_bytes(data)
        tmp.replace(p)
        q = out_dir / f"{name}.md"
        tmp = q.with_suffix(".md.tmp")
        tmp.write_text(md, encoding="utf-8")
        tmp.replace(q)
        paths += [p, q]
    return paths
