"""Every screen of the client, for a member, a facilitator and an admin, at 360 px and
1280 px: axe-core finds no WCAG 2.0/2.1/2.2 A or AA violation, and a screenshot of each is
saved in build/screenshots (git-ignored; HEARTH_SCREENSHOTS names another folder). Also:
the crisis notice is an alert that takes focus without squeezing the chat on a phone, and
at 200 % zoom more than one message stays in view."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Page, ViewportSize
from playwright.async_api import expect as pw_expect

from tests.support.servers import ROOT

from .accessibility import assert_accessible, screenshot
from .conftest import AdminApi, NewPage
from .hearth_pages import message_action, send, sign_in, unique_name
from .hearth_server import Server

pytestmark = pytest.mark.xdist_group("browser")

SIZES: tuple[ViewportSize, ...] = ({"width": 1280, "height": 800}, {"width": 360, "height": 740})


@pytest.fixture(scope="module")
def shots() -> Path:
    """build/screenshots in the checkout (git-ignored), or HEARTH_SCREENSHOTS."""
    folder = Path(os.environ.get("HEARTH_SCREENSHOTS", ROOT / "build" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    return folder


async def check(
    page: Page,
    shots: Path,
    screen: str,
    on_phone: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """The screen at both widths: accessible, and photographed."""
    for size in SIZES:
        await page.set_viewport_size(size)
        if on_phone is not None and size["width"] == 360:
            await on_phone()
        await assert_accessible(page, screen)
        await screenshot(page, shots, screen)
    await page.set_viewport_size(SIZES[0])


def messages_in_view(page: Page) -> Awaitable[int]:
    """How many messages are wholly inside the visible part of the chat."""
    return page.evaluate(
        """() => {
          const box = document.querySelector('.chat-scroll').getBoundingClientRect();
          return [...document.querySelectorAll('.message')].filter((m) => {
            const r = m.getBoundingClientRect();
            return r.top >= box.top - 1 && r.bottom <= box.bottom + 1 && r.height > 0;
          }).length;
        }"""
    )


async def test_signed_out_screens(hearth_server: Server, new_page: NewPage, shots: Path) -> None:
    page = await new_page()
    await page.goto(f"{hearth_server.base_url}/")
    await pw_expect(page.get_by_role("heading", name="Welcome back")).to_be_visible()
    await check(page, shots, "sign-in")
    await page.get_by_role("button", name="New here? Create an account").click()
    await pw_expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    await check(page, shots, "register")


async def test_admin_screens(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage, shots: Path
) -> None:
    room = await admin_api.create_room(title="Admin view circle")
    await admin_api.update_room(room["slug"], slow_mode_seconds=30)
    page = await new_page()
    await sign_in(page, hearth_server, hearth_server.admin_username, hearth_server.admin_password)
    await check(page, shots, "rooms")
    await page.get_by_role("link", name="Admin", exact=True).click()
    await pw_expect(page.get_by_role("form", name="Create a room")).to_be_visible()
    await check(page, shots, "admin-create")
    await page.get_by_role("button", name="Admin view circle").first.click()
    await pw_expect(page.get_by_role("region", name="Roles in Admin view circle")).to_be_visible()
    await pw_expect(page.locator(".audit tbody tr").first).to_be_visible()
    await check(page, shots, "admin-edit")
    await page.get_by_role("region", name="Audit log").scroll_into_view_if_needed()
    await check(page, shots, "admin-audit")


async def test_room_screens_for_member_and_facilitator(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage, shots: Path
) -> None:
    room = await admin_api.create_room(
        title="Thursday evening circle",
        description="A peer-support space. Go gently.",
        access="approval",
        agreement="We keep what is said here private.\nWe listen without fixing.",
        transcripts="opt_in",
        contact_details="hold",
        crisis_resources="You matter. Call or text 988, any time.",
    )
    slug = room["slug"]
    facilitator = await new_page()
    await sign_in(
        facilitator, hearth_server, hearth_server.admin_username, hearth_server.admin_password
    )
    await facilitator.goto(f"{hearth_server.base_url}/#/room/{slug}")
    await facilitator.get_by_role("button", name="I accept").click()
    await pw_expect(facilitator.get_by_role("heading", name="Facilitator tools")).to_be_visible()

    names = {}
    for display in ("Jordan", "Sam"):
        names[display] = unique_name(display.lower())
        await admin_api.register(names[display], display)
    member = await new_page()
    await sign_in(member, hearth_server, names["Jordan"])
    await member.goto(f"{hearth_server.base_url}/#/room/{slug}")
    await pw_expect(member.get_by_role("heading", name="Our group agreement")).to_be_visible()
    await pw_expect(
        member.get_by_role("heading", name="Thursday evening circle", level=1)
    ).to_be_visible()
    await check(member, shots, "member-agreement")
    await member.get_by_role("button", name="I accept").click()
    await pw_expect(member.get_by_role("heading", name="Waiting to be let in")).to_be_visible()
    await check(member, shots, "member-waiting")
    await pw_expect(facilitator.get_by_role("button", name="Admit Jordan")).to_be_visible()
    await check(facilitator, shots, "facilitator-knock")
    await facilitator.get_by_role("button", name="Admit Jordan").click()
    await pw_expect(member.get_by_role("textbox", name="Message")).to_be_visible()

    sam = await new_page()
    await sign_in(sam, hearth_server, names["Sam"])
    await sam.goto(f"{hearth_server.base_url}/#/room/{slug}")
    await sam.get_by_role("button", name="I accept").click()
    await facilitator.get_by_role("button", name="Admit Sam").click()
    await pw_expect(sam.get_by_role("textbox", name="Message")).to_be_visible()

    # A lived-in room: messages, a reaction, a pin, hands, a report, a held message.
    await send(facilitator, "Welcome, everyone. Let's start with a short check-in.")
    await send(sam, "Hi all. This week was hard, but I'm still here.")
    sams = member.locator(".message[data-id]", has_text="still here")
    await pw_expect(sams).to_have_count(1)
    await message_action(member, sams, "I've felt that too")
    await facilitator.get_by_label("Pin a note").fill("Check-in: one word for how you feel.")
    await facilitator.get_by_role("button", name="Pin note").click()
    await member.get_by_role("button", name="Raise hand").click()
    await sam.get_by_role("button", name="Raise hand").click()
    await message_action(member, sams, "Report")
    await member.get_by_label("Reason for reporting").fill("I worry about Sam")
    await member.get_by_role("button", name="Send report").click()
    await send(member, "you can reach me at jordan@example.org")
    await pw_expect(member.locator(".message.held")).to_have_count(1)
    await send(member, "some days I just want to die")
    alert = member.get_by_role("alert", name="You are not alone")
    await pw_expect(alert).to_be_focused()
    await check(member, shots, "member-crisis")

    # On a phone the notice scrolls on its own; the chat and the member's words stay in view.
    await member.set_viewport_size(SIZES[1])
    chat_height = await member.evaluate("() => document.querySelector('.chat-scroll').clientHeight")
    assert chat_height >= 150, chat_height
    own = member.locator(".message[data-id]", has_text="want to die")
    await pw_expect(own).to_be_in_viewport()
    await member.set_viewport_size(SIZES[0])
    await alert.get_by_role("button", name="Dismiss").click()

    await check(member, shots, "member-room")
    await sams.focus()
    await member.keyboard.press("Enter")
    await pw_expect(member.get_by_role("menu")).to_be_visible()
    await check(member, shots, "member-actions")
    await member.keyboard.press("Escape")
    await pw_expect(sams).to_be_focused()
    # One tab stop for the whole log; the arrow keys, Home and End move between messages.
    log = member.get_by_role("log", name="Messages")
    await pw_expect(log.locator('[tabindex="0"]')).to_have_count(1)
    await member.keyboard.press("ArrowUp")
    await pw_expect(log.locator(".message", has_text="Welcome, everyone")).to_be_focused()
    await member.keyboard.press("End")
    await pw_expect(log.locator(".message").last).to_be_focused()
    await member.keyboard.press("Home")
    await pw_expect(log.locator(".message").first).to_be_focused()
    await pw_expect(log.locator('[tabindex="0"]')).to_have_count(1)

    await pw_expect(facilitator.locator(".crisis-flag")).to_have_count(1)
    await pw_expect(facilitator.locator(".held")).to_have_count(1)

    async def show_tools() -> None:
        await facilitator.get_by_role("button", name="People and tools (1 crisis flag)").click()

    await check(facilitator, shots, "facilitator-room")
    await check(facilitator, shots, "facilitator-tools", on_phone=show_tools)
    row = facilitator.locator(".member", has_text="Sam")
    await row.get_by_text("Actions for Sam").click()
    await check(facilitator, shots, "facilitator-member-actions")

    # 200 % zoom of a 1280 × 800 window: more than one message in view, and the composer.
    await member.set_viewport_size({"width": 640, "height": 400})
    await member.locator(".chat-scroll").evaluate("s => { s.scrollTop = s.scrollHeight; }")
    await screenshot(member, shots, "member-room-zoom200")
    assert await messages_in_view(member) >= 2
    await pw_expect(member.get_by_role("textbox", name="Message")).to_be_in_viewport()
    await assert_accessible(member, "member-room at 200 %")
    await member.set_viewport_size(SIZES[0])

    # The end of the session: the calm closing screen.
    await facilitator.set_viewport_size(SIZES[0])
    await facilitator.get_by_role("button", name="End session…").click()
    await facilitator.get_by_role("button", name="Yes, end the session for everyone").click()
    await pw_expect(member.get_by_role("heading", name="The session has ended")).to_be_visible()
    await check(member, shots, "member-ended")
