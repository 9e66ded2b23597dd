"""Account safety in the browser: the session timer's warning and "Stay signed in" (WCAG
2.2.1), signing out when the session ends, two-step sign-in set up on the account page and
used at sign-in, and the admin's list of users; axe-core clean at 360 and 1280 px."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator

import httpx
import pyotp
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page
from playwright.async_api import expect as pw_expect

from .conftest import HEARTH, AdminApi, NewPage, _free_port, _run, _wait_healthy
from .hearth_pages import enter_room, sign_in, unique_name
from .hearth_server import PASSWORD, SCALE, Server

pytestmark = pytest.mark.xdist_group("browser")

IDLE_S = 18  # the short server's idle time; the page warns half of it (9 s) ahead


async def assert_accessible(page: Page) -> None:
    """axe-core finds no violation at 1280 px and at a 360 px phone."""
    for width, height in ((1280, 800), (360, 740)):
        await page.set_viewport_size({"width": width, "height": height})
        results = await Axe().run(page)
        assert results.violations_count == 0, (width, results.generate_report())
    await page.set_viewport_size({"width": 1280, "height": 800})


@pytest.fixture(scope="module")
def short_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose sessions end after 18 s without activity."""
    folder = tmp_path_factory.mktemp("hearth-short")
    (folder / "hearth.toml").write_text(
        "[accounts]\nsession_idle_minutes = 0.3\nsession_check_seconds = 1\n"
        "totp_required_for_staff = true\n"
        "password_hash_time_cost = 1\npassword_hash_memory_kib = 8192\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env["HEARTH_DATABASE_URL"] = f"sqlite+aiosqlite:///{folder}/hearth.db"
    env["HEARTH_SECRET_KEY"] = secrets.token_hex(16)
    env["HEARTH_CONFIG"] = str(folder / "hearth.toml")
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


async def register(base: str, username: str) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        r = await http.post(
            "/api/auth/register", json={"username": username, "password": PASSWORD}
        )
        assert r.status_code == 201, r.text


_ADMIN_CODES: list[str] = []  # the short server's admin's recovery codes


async def short_admin(server: Server) -> httpx.AsyncClient:
    """The short server's admin over HTTP: staff must use two-step sign-in there, so the
    first call sets it up; later ones spend a recovery code (sessions last 18 s idle)."""
    http = httpx.AsyncClient(base_url=server.base_url)
    try:
        body = {"username": server.admin_username, "password": server.admin_password}
        if _ADMIN_CODES:
            body["code"] = _ADMIN_CODES.pop()
        r = await http.post("/api/auth/login", json=body)
        assert r.status_code == 200, r.text
        http.headers["Authorization"] = f"Bearer {r.json()['token']}"
        if "code" not in body:
            secret = (await http.post("/api/auth/totp/setup")).json()["secret"]
            code = pyotp.TOTP(secret).now()
            r = await http.post("/api/auth/totp/confirm", json={"code": code})
            assert r.status_code == 200, r.text
            _ADMIN_CODES.extend(r.json()["recovery_codes"])
    except BaseException:
        await http.aclose()
        raise
    return http


async def short_room(server: Server, facilitator: str | None = None) -> str:
    """A fresh open room on the short server (with `facilitator`, if named)."""
    http = await short_admin(server)
    try:
        slug = unique_name("room-")
        r = await http.post("/api/admin/rooms", json={"slug": slug, "title": "Quiet hour"})
        assert r.status_code == 201, r.text
        if facilitator is not None:
            r = await http.put(
                f"/api/admin/rooms/{slug}/roles/{facilitator}", json={"role": "facilitator"}
            )
            assert r.status_code == 200, r.text
        return slug
    finally:
        await http.aclose()


async def test_expiry_warning_stay_signed_in_and_sign_out(
    short_server: Server, new_page: NewPage
) -> None:
    name = unique_name("tim")
    await register(short_server.base_url, name)
    slug = await short_room(short_server)
    page = await new_page()
    await sign_in(page, short_server, name)
    # In a room: the page's keep-alive pings are not activity, so the session still ends.
    await enter_room(page, short_server, slug)
    signed_in_at = time.monotonic()
    dialog = page.get_by_role("alertdialog", name="Are you still there?")
    await pw_expect(dialog).to_be_visible(timeout=IDLE_S * 1000 * SCALE)
    # Warned ahead, not at once: half the idle time after the last request.
    assert time.monotonic() - signed_in_at >= IDLE_S / 2 - 2
    stay = dialog.get_by_role("button", name="Stay signed in")
    await pw_expect(stay).to_be_focused()
    await pw_expect(dialog).to_contain_text("Time left:")
    await assert_accessible(page)
    await stay.click()
    await pw_expect(dialog).to_be_hidden()
    stayed_at = time.monotonic()
    # Still signed in: the session was extended on the server, not only on the page.
    status = await page.evaluate("fetch('/api/auth/session').then(r => r.status)")
    assert status == 200
    # Left alone again: warned again, then signed out with a reason when the time is up.
    await pw_expect(dialog).to_be_visible(timeout=IDLE_S * 1000 * SCALE)
    notice = page.get_by_text("You were signed out to protect your privacy")
    await pw_expect(notice).to_be_visible(timeout=IDLE_S * 1000 * SCALE)
    assert time.monotonic() - stayed_at >= IDLE_S - 2
    await pw_expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await pw_expect(dialog).to_have_count(0)
    status = await page.evaluate("fetch('/api/me').then(r => r.status)")
    assert status == 401
    await assert_accessible(page)


async def test_sign_out_now_from_the_warning(short_server: Server, new_page: NewPage) -> None:
    name = unique_name("out")
    await register(short_server.base_url, name)
    page = await new_page()
    await sign_in(page, short_server, name)
    dialog = page.get_by_role("alertdialog", name="Are you still there?")
    await pw_expect(dialog).to_be_visible(timeout=IDLE_S * 1000 * SCALE)
    await dialog.get_by_role("button", name="Sign out now").click()
    await pw_expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert await page.evaluate("fetch('/api/me').then(r => r.status)") == 401


async def test_two_step_sign_in_set_up_and_used(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    name = unique_name("two")
    await admin_api.register(name, "Tove")
    page = await new_page()
    await sign_in(page, hearth_server, name)
    await page.get_by_role("link", name="Account").click()
    await pw_expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    await assert_accessible(page)
    await page.get_by_role("button", name="Set up two-step sign-in").click()
    secret = (await page.locator("code.secret").first.text_content() or "").strip()
    uri = await page.locator("code.secret").nth(1).text_content()
    assert uri is not None and uri.startswith("otpauth://totp/") and secret in uri
    code_box = page.get_by_label("2. The 6-digit code the app shows")
    await code_box.fill("000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    await page.get_by_role("button", name="Turn on").click()
    await pw_expect(page.get_by_text("That code is not right")).to_be_visible()
    await code_box.fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Turn on").click()
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    await pw_expect(codes).to_have_count(10)
    recovery = (await codes.first.text_content() or "").strip()
    await assert_accessible(page)
    await page.get_by_role("button", name="I have saved them").click()
    await pw_expect(page.get_by_role("heading", name="Your rooms")).to_be_visible()

    # Sign out; signing in now asks for a code after the password.
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_label("Username").fill(name)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    code_field = page.get_by_label("Code from your authenticator app")
    await pw_expect(code_field).to_be_focused()
    await assert_accessible(page)
    await code_field.fill("123456" if pyotp.TOTP(secret).now() != "123456" else "654321")
    await page.get_by_role("button", name="Continue").click()
    await pw_expect(page.get_by_text("That code did not work")).to_be_visible()
    await code_field.fill(recovery)
    await page.get_by_role("button", name="Continue").click()
    await pw_expect(page.get_by_role("heading", name="Your rooms")).to_be_visible()


async def test_admin_finds_and_disables_a_user(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    name = unique_name("dis")
    await admin_api.register(name, "Dana")
    member = await new_page()
    await sign_in(member, hearth_server, name)

    admin = await new_page()
    await sign_in(admin, hearth_server, hearth_server.admin_username, hearth_server.admin_password)
    await admin.get_by_role("link", name="Admin").click()
    users = admin.get_by_role("region", name="Users")
    await users.get_by_label("Username contains").fill(name)
    await users.get_by_role("button", name="Find").click()
    await pw_expect(users.get_by_text("1 user found.")).to_be_visible()
    await users.get_by_role("button", name=f"Disable {name}").click()
    # A confirmation in place; Cancel changes nothing.
    question = users.get_by_text(f"Disable {name}? Their sign-ins end at once")
    await pw_expect(question).to_be_visible()
    await assert_accessible(admin)
    await users.get_by_role("button", name="Cancel").click()
    await users.get_by_role("button", name=f"Disable {name}").click()
    await users.get_by_role("button", name="Yes, disable").click()
    await pw_expect(users.get_by_text(f"{name} is disabled")).to_be_visible()
    assert await member.evaluate("fetch('/api/me').then(r => r.status)") == 401
    await users.get_by_role("button", name=f"Enable {name}").click()
    await users.get_by_role("button", name="Yes, enable").click()
    await pw_expect(users.get_by_text(f"{name} can sign in again.")).to_be_visible()
    await sign_in(member, hearth_server, name)




async def test_staff_are_led_to_set_up_two_step_sign_in(
    short_server: Server, new_page: NewPage
) -> None:
    name = unique_name("fac")
    await register(short_server.base_url, name)
    slug = await short_room(short_server, facilitator=name)
    page = await new_page()
    await page.goto(f"{short_server.base_url}/")
    await page.get_by_label("Username").fill(name)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await pw_expect(page.get_by_text("Staff accounts need two-step sign-in")).to_be_visible()
    # Any other page leads back here until it is set up.
    await page.get_by_role("link", name="Rooms").click()
    await pw_expect(page.get_by_text("Staff accounts need two-step sign-in")).to_be_visible()
    await page.get_by_role("button", name="Set up two-step sign-in").click()
    secret = (await page.locator("code.secret").first.text_content() or "").strip()
    await page.get_by_label("2. The 6-digit code the app shows").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Turn on").click()
    await pw_expect(page.get_by_role("list", name="Recovery codes")).to_be_visible()
    await page.get_by_role("button", name="I have saved them").click()
    await pw_expect(page.get_by_role("heading", name="Your rooms")).to_be_visible()
    await pw_expect(page.locator(f'a[href="#/room/{slug}"]')).to_be_visible()


async def test_password_change_on_the_account_page_signs_out_elsewhere(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    name = unique_name("pwd")
    await admin_api.register(name, "Pia")
    elsewhere = await new_page()
    await sign_in(elsewhere, hearth_server, name)
    page = await new_page()
    await sign_in(page, hearth_server, name)
    await page.get_by_role("link", name="Account").click()
    await page.get_by_label("Current password").fill("not the password")
    await page.get_by_label("New password").fill("a brand new passphrase")
    await page.get_by_role("button", name="Change password").click()
    await pw_expect(page.get_by_text("That is not your current password.")).to_be_visible()
    await page.get_by_label("Current password").fill(PASSWORD)
    await page.get_by_label("New password").fill("a brand new passphrase")
    await page.get_by_role("button", name="Change password").click()
    await pw_expect(page.get_by_text("Your password is changed.")).to_be_visible()
    assert await page.evaluate("fetch('/api/me').then(r => r.status)") == 200
    assert await elsewhere.evaluate("fetch('/api/me').then(r => r.status)") == 401
    await sign_in(elsewhere, hearth_server, name, "a brand new passphrase")
