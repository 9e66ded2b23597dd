"""Optional py-spy sampling of the servers during each measured step (`run.py --profile DIR`).

Each step writes one collapsed-stack file per server process
(`<run>-<step>-<pid>.txt`, py-spy's `raw` format: `frame;frame;... count` per line) and
`summarize()` turns a set of them into the functions that took the most samples, by
self time and by inclusive time. Profiling costs the servers some CPU, so figures of a
profiled run are not comparable with an unprofiled one; `report` notes it.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

__all__ = ["Profiler", "summarize"]

RATE_HZ = 250


class Profiler:
    """Runs `py-spy record` on every given PID for one step."""

    def __init__(self, out_dir: Path) -> None:
        found = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which(
            "py-spy"
        )
        if found is None:
            raise RuntimeError("py-spy is not installed (pip install py-spy)")
        self.exe = found
        self.out_dir = out_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        self._procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, pids: list[int]) -> None:
        """Sample `pids` until `stop()`."""
        self.stop()
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        for pid in pids:
            out = self.out_dir / f"{safe}-{pid}.txt"
            self._procs.append(
                subprocess.Popen(
                    [self.exe, "record", "--pid", str(pid), "--rate", str(RATE_HZ),
                     "--format", "raw", "--nonblocking", "--output", str(out)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    @contextlib.contextmanager
    def sampling(self, name: str, pids: list[int]) -> Iterator[None]:
        """Sample `pids` while the block runs."""
        self.start(name, pids)
        try:
            yield
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop sampling (py-spy writes its file on SIGINT)."""
        for proc in self._procs:
            proc.send_signal(signal.SIGINT)
        for proc in self._procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()


def _frame_name(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"; drop the line number.
    return re.sub(r":\d+\)$", ")", frame.strip())


def summarize(files: list[Path], top: int = 40) -> str:
    """Text table of the hottest functions over `files`, by self and inclusive samples."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for path in files:
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            frames = [_frame_name(f) for f in stack.split(";") if f.strip()]
            if not frames:
                continue
            total += count
            own[frames[-1]] += count
            for frame in set(frames):
                inclusive[frame] += count
    lines = [f"{total} samples over {len(files)} files", "", "self:"]
    lines += [f"{100 * n / total:6.2f}%  {name}" for name, n in own.most_common(top)]
    lines += ["", "inclusive:"]
    lines += [f"{100 * n / total:6.2f}%  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(summarize([Path(p) for p in sys.argv[1:]]))
