"""`run.py --before REF`: a second Hearth, built from git REF, measured in the same run.

The checkout is a detached git worktree outside the repository (`/tmp/hearth-before-<sha>`)
with a venv of its own. The venv installs nothing: its `.pth` puts the worktree's root first
on the path (so `server` is REF's code) and this venv's site-packages after it (the same
libraries, at the same versions: the comparison is of Hearth's code, not of its
dependencies). Its `hearth` script runs REF's `server.cli:main`. A REF whose dependencies
differ from this checkout's is not comparable this way; `prepare` says so when REF's
pyproject.toml lists other requirements.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Before", "prepare"]

ROOT = Path(__file__).resolve().parent.parent
_SCRIPT = """#!{python}
import sys
from server.cli import main
sys.exit(main())
"""


@dataclass(frozen=True)
class Before:
    """A built REF: where its code is and how to run its `hearth`."""

    ref: str
    commit: str
    root: Path
    hearth: Path
    config: Path  # its bench/hearth-bench.toml (REF's settings), else this checkout's
    note: str  # "" or why the comparison is not like for like


def _git(*args: str, cwd: Path = ROOT) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          timeout=120)
    return done.stdout.strip()


def _requirements(pyproject: Path) -> list[str]:
    if not pyproject.exists():
        return []
    project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    return sorted(str(r) for r in project.get("dependencies", []))


def prepare(ref: str, base: Path = Path("/tmp")) -> Before:
    """Check out `ref` (once per commit) and give it a venv; raises if `ref` is unknown."""
    commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}")
    root = base / f"hearth-before-{commit[:12]}"
    if not (root / "server" / "cli.py").exists():
        if root.exists():  # a half-made checkout of an earlier attempt
            subprocess.run(["git", "worktree", "remove", "--force", str(root)], cwd=ROOT,
                           capture_output=True, timeout=120)
        _git("worktree", "add", "--detach", str(root), commit)
    venv = root / ".venv-before"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)],  # type: ignore[attr-defined]
                       check=True, capture_output=True, timeout=120)
    purelib = Path(sysconfig.get_paths()["purelib"])  # this venv's libraries
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = venv / "lib" / version / "site-packages"
    site.mkdir(parents=True, exist_ok=True)
    (site / "hearth-before.pth").write_text(f"{root}\n{purelib}\n", encoding="utf-8")
    hearth = venv / "bin" / "hearth"
    hearth.write_text(_SCRIPT.format(python=python), encoding="utf-8")
    hearth.chmod(0o755)
    config = root / "bench" / "hearth-bench.toml"
    if not config.exists():
        config = ROOT / "bench" / "hearth-bench.toml"
    note = ""
    if _requirements(root / "pyproject.toml") != _requirements(ROOT / "pyproject.toml"):
        note = (f"{ref} lists other dependencies than this checkout; it ran on this "
                "checkout's libraries")
    return Before(ref, commit, root, hearth, config, note)
