"""Child processes of the benchmark: started, watched through /proc, and stopped by PID.

Every process the benchmark starts goes through `Children`, which remembers its PID, asks the
kernel to kill it if the benchmark itself dies (PR_SET_PDEATHSIG), and stops it on `stop_all`,
which `atexit` and the signal handlers also call. Nothing is ever killed by name.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Children",
    "Child",
    "cpu_by_pid",
    "cpu_delta",
    "descendants",
    "free_port",
    "machine_cpu_seconds",
    "other_cores_busy",
    "rss_bytes",
    "wait_for_port",
    "wait_quiet",
]

CLK_TCK = os.sysconf("SC_CLK_TCK")
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: if the benchmark is killed outright, the
    # kernel sends the child SIGKILL, so not even a `kill -9` of the runner leaves it behind.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


@dataclass
class Child:
    """One started process and where its output goes."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path | None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def exit_text(self) -> str:
        """How it ended, and where to read why."""
        return f"{self.name} exited with {self.popen.returncode}; see {self.log}"


class Children:
    """The registry of every process the benchmark started; stops them all by PID."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._children: list[Child] = []
        atexit.register(self.stop_all)

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        stdin: int | None = subprocess.DEVNULL,
        stdout: int | None = None,
    ) -> Child:
        """Start `argv`; stdout (unless piped) and stderr go to `<log_dir>/<name>.log`."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        with open(log, "ab") as out:
            popen = subprocess.Popen(
                list(argv),
                env=env,
                cwd=cwd,
                stdin=stdin,
                stdout=out if stdout is None else stdout,
                stderr=out,
                preexec_fn=_die_with_parent,
            )
        child = Child(name, popen, log)
        self._children.append(child)
        return child

    def stop(self, child: Child, grace: float = 5.0) -> int | None:
        """SIGTERM the child (and any process it started), SIGKILL after `grace` seconds."""
        if child in self._children:
            self._children.remove(child)
        family = descendants(child.pid)
        if child.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGTERM)
            try:
                child.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGKILL)
                child.popen.wait(timeout=5)
        for pid in family:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        return child.popen.returncode

    def stop_all(self) -> None:
        """Stop every child still registered, newest first."""
        for child in reversed(list(self._children)):
            with contextlib.suppress(Exception):
                self.stop(child, grace=3.0)

    def pids(self) -> list[int]:
        return [c.pid for c in self._children if c.alive()]


def install_signal_handlers() -> None:
    """Turn SIGTERM and SIGHUP into SystemExit so `finally` blocks and atexit run."""

    def _exit(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGHUP, _exit)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float, child: Child | None = None) -> None:
    """Block until 127.0.0.1:`port` accepts connections; raise if the child dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child is not None and not child.alive():
            raise RuntimeError(child.exit_text())
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, from /proc/<pid>/task/*/children."""
    found: list[int] = []
    todo = [pid]
    while todo and len(found) < 10_000:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                for child in (task / "children").read_text().split():
                    found.append(int(child))
                    todo.append(int(child))
    return found


def cpu_by_pid(pids: Iterable[int]) -> dict[int, float]:
    """utime + stime of each of these processes that still exists, in seconds."""
    out = {}
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        # Fields after the command name, which may itself hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        out[pid] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent between two `cpu_by_pid` readings; a process born in between counts whole."""
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def machine_cpu_seconds() -> float:
    """CPU time all cores spent busy since boot (everything but idle and iowait), seconds."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is already in user)
    busy = sum(fields[:8]) - fields[3] - fields[4]
    return busy / CLK_TCK


def other_cores_busy(seconds: float = 2.0) -> float:
    """How many cores the machine keeps busy over `seconds` (call it when ours are idle)."""
    before, t0 = machine_cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    return (machine_cpu_seconds() - before) / (time.monotonic() - t0)


def wait_quiet(
    limit_s: float, threshold: float, on_wait: Callable[[float, float], None]
) -> float:
    """Wait, at most `limit_s`, until fewer than `threshold` cores are busy.

    The machine may be shared (tests, a browser): measuring while it is busy measures them.
    Calls `on_wait(busy, seconds left)` while waiting; returns the busy cores seen last.
    """
    deadline = time.monotonic() + limit_s
    while True:
        busy = other_cores_busy()
        left = deadline - time.monotonic()
        if busy < threshold or left <= 0:
            return busy
        on_wait(busy, left)


def rss_bytes(pid: int) -> int:
    """Resident set size of one process (VmRSS), in bytes; 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def postgres_pids() -> list[int]:
    """PIDs of the local PostgreSQL server's processes (to estimate its CPU share)."""
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):
            if comm.read_text().strip() == "postgres":
                pids.append(int(comm.parent.name))
    return pids
