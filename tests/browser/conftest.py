"""A real `hearth serve` process and Debian's Chromium, for the browser client's tests.

The server runs on SQLite in a temporary folder, without Redis (one process, in-process
broker), exactly as a newcomer would start it: `hearth migrate`, `hearth create-admin`,
`hearth serve`. Timeouts scale with HEARTH_TEST_TIMEOUT_SCALE for slow machines.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    WebSocket,
    async_playwright,
)
from playwright.async_api import expect as pw_expect

from .hearth_server import PASSWORD, SCALE, TIMEOUT_MS, Server

HEARTH = Path(sys.executable).with_name("hearth")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run(args: list[str], env: dict[str, str], cwd: Path, stdin: str = "") -> None:
    done = subprocess.run(
        [str(HEARTH), *args], env=env, cwd=cwd, input=stdin, text=True,
        capture_output=True, timeout=60 * SCALE, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"hearth {' '.join(args)} failed ({done.returncode}):\n"
                           f"{done.stdout}\n{done.stderr}")


def _wait_healthy(base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 30 * SCALE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"hearth serve exited with {process.returncode}:\n"
                               f"{log_path.read_text(errors='replace')}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    log = log_path.read_text(errors="replace")
    raise RuntimeError(f"hearth serve never became healthy:\n{log}")


@pytest.fixture(scope="session")
def hearth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server process for all browser tests; killed by PID at the end."""
    folder = tmp_path_factory.mktemp("hearth-browser")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env["HEARTH_DATABASE_URL"] = f"sqlite+aiosqlite:///{folder}/hearth.db"
    env["HEARTH_SECRET_KEY"] = secrets.token_hex(16)
    admin_password = secrets.token_urlsafe(18)
    _run(["migrate"], env, folder)
    _run(["create-admin", "admin"], env, folder, stdin=admin_password + "\n")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = folder / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(HEARTH), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            _wait_healthy(base_url, process, log_path)
            yield Server(base_url, "admin", admin_password, log_path)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10 * SCALE)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless; never a downloaded one."""
    pw_expect.set_options(timeout=TIMEOUT_MS)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


class AdminApi:
    """The HTTP API as the server's admin, with a bearer token (no cookie, no Origin)."""

    def __init__(self, client: httpx.AsyncClient, server: Server) -> None:
        self.client = client
        self.server = server

    async def sign_in(self) -> None:
        """A fresh admin session (browser tests signing the admin in elsewhere may end older
        sessions of the same user)."""
        response = await self.client.post(
            "/api/auth/login",
            json={"username": self.server.admin_username, "password": self.server.admin_password},
        )
        assert response.status_code == 200, response.text
        self.client.headers["Authorization"] = f"Bearer {response.json()['token']}"

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request as the admin, signing in again once if the session has ended."""
        response = await self.client.request(method, path, **kwargs)
        if response.status_code == 401:
            await self.sign_in()
            response = await self.client.request(method, path, **kwargs)
        return response

    async def create_room(self, **settings: Any) -> dict[str, Any]:
        """Create a room with a fresh slug; returns the server's `room`."""
        body = {"slug": f"room-{uuid.uuid4().hex[:10]}", "title": "Evening circle", **settings}
        response = await self.request("POST", "/api/admin/rooms", json=body)
        assert response.status_code == 201, response.text
        room: dict[str, Any] = response.json()["room"]
        return room

    async def update_room(self, slug: str, **settings: Any) -> dict[str, Any]:
        """Change a room's settings; live sessions get a `room` frame."""
        response = await self.request("PATCH", f"/api/admin/rooms/{slug}", json=settings)
        assert response.status_code == 200, response.text
        room: dict[str, Any] = response.json()["room"]
        return room

    async def room(self, slug: str) -> dict[str, Any]:
        """A room's settings as the API answers them."""
        response = await self.request("GET", f"/api/rooms/{slug}")
        assert response.status_code == 200, response.text
        room: dict[str, Any] = response.json()["room"]
        return room

    async def set_role(self, slug: str, username: str, role: str) -> None:
        """Give a user a role in a room."""
        response = await self.request(
            "PUT", f"/api/admin/rooms/{slug}/roles/{username}", json={"role": role}
        )
        assert response.status_code == 200, response.text

    async def get(self, path: str, **params: Any) -> Any:
        """Any GET of the API, as the admin; the parsed answer."""
        response = await self.request("GET", path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    async def register(self, username: str, display_name: str, password: str = PASSWORD) -> None:
        """Register an ordinary user (registration is open by default)."""
        response = await self.client.post(
            "/api/auth/register",
            json={"username": username, "password": password, "display_name": display_name},
        )
        assert response.status_code == 201, response.text


@pytest.fixture(scope="session")
async def admin_api(hearth_server: Server) -> AsyncIterator[AdminApi]:
    """An API client signed in as the admin."""
    async with httpx.AsyncClient(base_url=hearth_server.base_url, timeout=10 * SCALE) as client:
        admin = AdminApi(client, hearth_server)
        await admin.sign_in()
        yield admin


@dataclass
class Watched:
    """What a page did that it never should: script errors, CSP violations, dialogs."""

    problems: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.problems.append(f"CSP: {message.text}")


def _show_frames(ws: WebSocket, label: str) -> None:
    """Print a page's WebSocket traffic (HEARTH_TEST_SHOW_FRAMES=1, with pytest -s)."""
    ws.on("framesent", lambda payload: print(f"{label} >", payload))
    ws.on("framereceived", lambda payload: print(f"{label} <", payload))
    ws.on("close", lambda _: print(f"{label} closed"))


NewPage = Callable[[], Awaitable[Page]]


@pytest.fixture
async def new_page(browser: Browser) -> AsyncIterator[NewPage]:
    """Open pages, each in its own context (its own cookies: another person)."""
    contexts: list[BrowserContext] = []
    watched: list[Watched] = []

    async def open_page() -> Page:
        context = await browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = await context.new_page()
        watch = Watched()
        watched.append(watch)
        page.on("pageerror", lambda error: watch.problems.append(f"page error: {error}"))
        page.on("console", watch.console)

        async def on_dialog(dialog: Any) -> None:
            watch.dialogs.append(dialog.message)
            await dialog.dismiss()

        page.on("dialog", on_dialog)
        if os.environ.get("HEARTH_TEST_SHOW_FRAMES"):
            label = f"page{len(contexts)}"
            page.on("websocket", lambda ws: _show_frames(ws, label))
        return page

    yield open_page
    for context in contexts:
        await context.close()
    problems = [p for w in watched for p in w.problems]
    dialogs = [d for w in watched for d in w.dialogs]
    assert not problems, problems
    assert not dialogs, f"unexpected dialogs: {dialogs}"
