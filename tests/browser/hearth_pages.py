"""What a person does in the browser client, step by step, for the tests to reuse."""

from __future__ import annotations

import uuid

from playwright.async_api import Locator, Page
from playwright.async_api import expect as pw_expect

from .hearth_server import PASSWORD, Server

__all__ = ["enter_room", "message_action", "send", "sign_in", "unique_name"]


def unique_name(prefix: str) -> str:
    """A username no other test uses."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


async def sign_in(page: Page, server: Server, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form and wait for the room list."""
    await page.goto(f"{server.base_url}/")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await pw_expect(page.get_by_role("heading", name="Your rooms")).to_be_visible()


async def enter_room(page: Page, server: Server, slug: str) -> None:
    """Open a room by its address and wait until the server's welcome was rendered."""
    await page.goto(f"{server.base_url}/#/room/{slug}")
    await pw_expect(page.get_by_role("textbox", name="Message")).to_be_visible()


async def send(page: Page, body: str) -> None:
    """Type a message and press Enter."""
    box = page.get_by_role("textbox", name="Message")
    await box.fill(body)
    await box.press("Enter")


async def message_action(
    page: Page, message: Locator, item: str, confirm: str | None = None
) -> None:
    """Open a message's actions from the keyboard (focus it, Enter) and choose `item`
    (then `confirm`, for actions that ask once more)."""
    await message.focus()
    await page.keyboard.press("Enter")
    menu = page.get_by_role("menu")
    await menu.get_by_role("menuitem", name=item).click()
    if confirm is not None:
        await menu.get_by_role("menuitem", name=confirm).click()
