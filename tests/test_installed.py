"""An installed Hearth is whole (README, Two commands): a wheel built from this checkout and
installed into a fresh virtual environment outside it migrates, creates an admin and serves
its page, every asset the page loads, its migrations and its phrase lists, run from a
directory that is neither the checkout nor the environment.

Offline and quick: the wheel is built without build isolation, and the new environment
borrows the checkout's installed dependencies through a `.pth` line naming the checkout
environment's site-packages, a path whose own `.pth` files (the editable finder that maps
`server` to the checkout) are never run. The test asserts that `server` comes from the wheel.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from tests.support.client import WS, Member
from tests.support.servers import ROOT, SCALE, free_port

# What a source distribution would not carry, or what is this checkout's alone.
_NOT_SOURCE = shutil.ignore_patterns(
    ".venv", ".git", ".mypy_cache", ".ruff_cache", ".pytest_cache", "__pycache__", "*.egg-info",
    "build", "dist", "tests", "bench", "hearth.db*", ".hearth*",
)


def _run(*args: str | Path, cwd: Path, env: dict[str, str], stdin: str = "") -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, input=stdin, text=True,
        capture_output=True, timeout=120 * SCALE,
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """(the new environment's bin/, an environment for running its `hearth`)."""
    work = tmp_path_factory.mktemp("installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEARTH_", "PYTHON"))}
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE)
    _run(
        sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
        "--no-index", "--wheel-dir", work / "dist", source, cwd=work, env=env,
    )
    (wheel,) = (work / "dist").glob("hearth-*.whl")
    venv = work / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=work, env=env)
    python = venv / "bin" / "python"
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                     cwd=work, env=env).strip())
    (site / "checkout_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    # --ignore-installed: the checkout's editable `hearth` is visible but never touched.
    _run(
        python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
        "--ignore-installed", wheel, cwd=work, env=env,
    )
    yield venv / "bin", env


def test_the_wheel_holds_the_client_the_migrations_and_the_phrase_lists(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    bin_dir, env = installed
    where = _run(bin_dir / "python", "-c", "import server; print(server.__file__)",
                 cwd=tmp_path, env=env)
    assert Path(where.strip()).is_relative_to(bin_dir.parent)  # the wheel, not the checkout
    package = Path(where.strip()).parent
    for part in (
        "static/index.html", "static/js/i18n.js", "static/js/lang/en.js",
        "store/migrations/env.py", "store/migrations/script.py.mako",
        "accounts/common_passwords.txt", "moderation/crisis_phrases.txt",
        "moderation/crisis_phrases_es.txt", "static/js/lang/es.js",
    ):
        assert (package / part).is_file(), part
    shipped = {p.relative_to(package) for p in (package / "store/migrations/versions").glob("*.py")}
    here = {p.relative_to(ROOT / "server")
            for p in (ROOT / "server/store/migrations/versions").glob("*.py")}
    assert shipped == here


@pytest.fixture(scope="module")
def serving(installed: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[str, tuple[str, str]]]:
    """`hearth serve` of the installed package, run from a directory of its own."""
    bin_dir, base_env = installed
    run_dir = tmp_path_factory.mktemp("elsewhere")
    env = {
        **base_env,
        "HEARTH_DATABASE_URL": f"sqlite+aiosqlite:///{run_dir / 'hearth.db'}",
        "HEARTH_SECRET_KEY": secrets.token_urlsafe(32),
    }
    hearth = bin_dir / "hearth"
    assert "database schema is current" in _run(hearth, "migrate", cwd=run_dir, env=env)
    admin = ("keeper", "a long admin password")
    _run(hearth, "create-admin", admin[0], cwd=run_dir, env=env, stdin=admin[1] + "\n")
    port = free_port()
    with open(run_dir / "serve.log", "wb") as log:
        proc = subprocess.Popen(
            [hearth, "serve", "--port", str(port)], cwd=run_dir, env=env,
            stdout=log, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30 * SCALE
        while True:
            assert proc.poll() is None, (run_dir / "serve.log").read_text()
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (run_dir / "serve.log").read_text()
            time.sleep(0.1)
        yield base, admin
    finally:
        proc.terminate()
        proc.wait(timeout=10 * SCALE)


_REFERENCES = (
    re.compile(r"""(?:src|href)="(/static/[^"]+)\""""),  # HTML
    re.compile(r"""(?:from|import)\s*\(?\s*['"](\.{1,2}/[^'"]+)['"]"""),  # ES modules
    re.compile(r"""url\(\s*['"]?([^'")]+)"""),  # CSS
)


def test_an_installed_hearth_serves_its_page_and_every_asset(
    serving: tuple[str, tuple[str, str]],
) -> None:
    base, _ = serving
    seen: dict[str, bytes] = {}
    todo = [base + "/"]
    with httpx.Client() as http:
        while todo:
            url = todo.pop()
            if url in seen:
                continue
            r = http.get(url)
            assert r.status_code == 200, url
            seen[url] = r.content
            for pattern in _REFERENCES:
                for ref in pattern.findall(r.text):
                    if not ref.startswith(("data:", "#", "http")):
                        todo.append(urljoin(url, ref))
        static = ROOT / "server" / "static"
        assert base + "/static/app.js" in seen and base + "/static/js/i18n.js" in seen
        for url, body in seen.items():
            if "/static/" in url:  # the installed copy is this checkout's file
                assert body == (static / url.split("/static/", 1)[1]).read_bytes(), url
        for path in static.rglob("*"):  # and nothing of the client is missing from the wheel
            if path.is_file():
                assert http.get(f"{base}/static/{path.relative_to(static)}").status_code == 200


async def test_an_installed_hearth_finds_its_phrase_lists(
    serving: tuple[str, tuple[str, str]],
) -> None:
    base, admin = serving
    async with httpx.AsyncClient(base_url=base) as http:
        weak = await http.post(
            "/api/auth/register", json={"username": "newcomer", "password": "password123"}
        )
        assert weak.status_code == 422 and weak.json()["error"]["code"] == "weak_password"
        r = await http.post("/api/auth/login", json={"username": admin[0], "password": admin[1]})
        assert r.status_code == 200
        keeper = Member(admin[0], r.json()["token"], r.json()["user"])
        r = await http.post(
            "/api/admin/rooms", json={"slug": "installed", "title": "Installed"},
            headers=keeper.headers,
        )
        assert r.status_code == 201, r.text
    ws, _ = await WS.enter(base.replace("http", "ws", 1), "installed", keeper)
    await ws.send({"type": "send", "body": "sometimes I want to die"})
    notice = await ws.next("notice")
    assert notice["kind"] == "crisis_resources"  # the crisis phrases were found
    await ws.send({"type": "send", "body": "a veces me quiero matar"})
    notice = await ws.next("notice")
    assert notice["kind"] == "crisis_resources"  # and the Spanish ones
    await ws.close()
