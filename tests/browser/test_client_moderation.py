"""Facilitators' flows in the browser client, end to end against a real server: held
messages, flags shared by every facilitator, crisis flags first, delete-all, bans lifted,
ordered hands across a reload, knocks withdrawn, and a member erasing their recorded words."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Locator, Page
from playwright.async_api import expect as pw_expect

from .conftest import AdminApi, NewPage
from .hearth_pages import enter_room, message_action, send, sign_in, unique_name
from .hearth_server import SCALE, Server

pytestmark = pytest.mark.xdist_group("browser")


def confirmed(page: Page, text: str) -> Locator:
    """Messages the server has confirmed whose body contains `text`."""
    return page.locator(".message[data-id]", has=page.locator(".body", has_text=text))


def any_copy(page: Page, text: str) -> Locator:
    """Every message on screen (confirmed, pending, held) whose body contains `text`."""
    return page.locator(".message", has=page.locator(".body", has_text=text))


async def as_admin(new_page: NewPage, server: Server, slug: str) -> Page:
    page = await new_page()
    await sign_in(page, server, server.admin_username, server.admin_password)
    await enter_room(page, server, slug)
    return page


async def as_member(
    new_page: NewPage,
    server: Server,
    admin_api: AdminApi,
    slug: str,
    display_name: str,
    role: str | None = None,
) -> Page:
    name = unique_name(display_name.lower())
    await admin_api.register(name, display_name)
    if role is not None:
        await admin_api.set_role(slug, name, role)
    page = await new_page()
    await sign_in(page, server, name)
    await enter_room(page, server, slug)
    return page


async def recorded_bodies(admin_api: AdminApi, slug: str, expected: list[str]) -> list[str]:
    """The transcript's bodies, read again until they are `expected` or time is up (a row
    gets its seq with the next write batch, a moment after delivery)."""
    deadline = asyncio.get_running_loop().time() + 5 * SCALE
    while True:
        found = await admin_api.get(f"/api/rooms/{slug}/transcript")
        bodies = [m["body"] for m in found["messages"]]
        if bodies == expected or asyncio.get_running_loop().time() > deadline:
            return bodies
        await asyncio.sleep(0.05)


async def member_actions(page: Page, name: str) -> Locator:
    """Open a person's actions in the member list; returns their row."""
    row = page.locator(".member", has_text=name)
    await row.get_by_text(f"Actions for {name}").click()
    return row


async def test_held_message_approved_shows_once_and_discarded_says_not_shared(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room(title="Held circle", contact_details="hold")
    slug = room["slug"]
    admin = await as_admin(new_page, hearth_server, slug)
    sam = await as_member(new_page, hearth_server, admin_api, slug, "Sam")
    mia = await as_member(new_page, hearth_server, admin_api, slug, "Mia")

    await send(sam, "write to me at sam@example.org")
    mine = any_copy(sam, "sam@example.org")
    await pw_expect(mine).to_contain_text("Waiting for a facilitator to review it")
    await pw_expect(confirmed(mia, "sam@example.org")).to_have_count(0)

    held = admin.locator(".held", has_text="sam@example.org")
    await pw_expect(held).to_contain_text("Sam")
    await held.get_by_role("button", name="Approve Sam's message").click()
    await pw_expect(confirmed(mia, "sam@example.org")).to_have_count(1)
    await pw_expect(confirmed(admin, "sam@example.org")).to_have_count(1)
    # The author sees it once, confirmed in place of the waiting copy.
    await pw_expect(confirmed(sam, "sam@example.org")).to_have_count(1)
    await pw_expect(any_copy(sam, "sam@example.org")).to_have_count(1)
    await pw_expect(mine).not_to_contain_text("Waiting for a facilitator")
    await pw_expect(held).to_have_count(0)

    await send(sam, "or call 0800 123 4567")
    second = admin.locator(".held", has_text="0800 123 4567")
    await second.get_by_role("button", name="Discard Sam's message").click()
    await second.get_by_role("button", name="Yes, do not share Sam's message").click()
    await pw_expect(any_copy(sam, "0800 123 4567")).to_contain_text("Not shared")
    await pw_expect(second).to_have_count(0)
    await pw_expect(any_copy(mia, "0800 123 4567")).to_have_count(0)


async def test_resolving_a_flag_clears_it_for_every_facilitator_and_crisis_comes_first(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room(title="Flag circle")
    slug = room["slug"]
    admin = await as_admin(new_page, hearth_server, slug)
    fac = await as_member(new_page, hearth_server, admin_api, slug, "Fay", role="facilitator")
    dana = await as_member(new_page, hearth_server, admin_api, slug, "Dana")
    rae = await as_member(new_page, hearth_server, admin_api, slug, "Rae")

    await send(dana, "this is a rude thing to say")
    await message_action(rae, confirmed(rae, "rude thing"), "Report")
    await rae.get_by_label("Reason for reporting").fill("unkind")
    await rae.get_by_role("button", name="Send report").click()
    for page in (admin, fac):
        await pw_expect(page.locator(".flag", has_text="unkind")).to_have_count(1)
    await (
        fac.locator(".flag", has_text="unkind").get_by_role("button", name="Mark resolved").click()
    )
    for page in (admin, fac):
        await pw_expect(page.locator(".flag", has_text="unkind")).to_have_count(0)

    # A crisis flag stands apart, first in the side panel, with the next step.
    await send(dana, "I want to die tonight")
    crisis = fac.get_by_role("region", name="Crisis: someone may need help now")
    await pw_expect(crisis).to_contain_text("I want to die tonight")
    first = fac.locator(".side > :not([hidden])").first
    await pw_expect(first).to_have_class("panel crisis-flags")
    await crisis.get_by_role("button", name="Open Dana's actions").click()
    summary = fac.locator(".member", has_text="Dana").locator("summary")
    await pw_expect(summary).to_be_focused()
    await pw_expect(
        fac.locator(".member", has_text="Dana").get_by_role("button", name="Mute Dana", exact=True)
    ).to_be_visible()
    # Reloading brings open flags back (the server sends them on entering).
    await admin.reload()
    await pw_expect(
        admin.get_by_role("region", name="Crisis: someone may need help now")
    ).to_contain_text("die tonight")
    await pw_expect(admin.locator(".flag", has_text="unkind")).to_have_count(0)


async def test_delete_all_of_a_members_words(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room(title="Delete-all circle")
    slug = room["slug"]
    admin = await as_admin(new_page, hearth_server, slug)
    sam = await as_member(new_page, hearth_server, admin_api, slug, "Sam")
    mia = await as_member(new_page, hearth_server, admin_api, slug, "Mia")
    await send(sam, "first from Sam")
    await send(sam, "second from Sam")
    await send(mia, "Mia stays")
    await pw_expect(confirmed(admin, "from Sam")).to_have_count(2)

    row = await member_actions(admin, "Sam")
    await row.get_by_role("button", name="Delete everything Sam said").click()
    await row.get_by_role("button", name="Yes, delete all of Sam's words").click()
    for page in (admin, sam, mia):
        await pw_expect(confirmed(page, "from Sam")).to_have_count(0)
        await pw_expect(confirmed(page, "Mia stays")).to_have_count(1)


async def test_ban_listed_and_lifted_then_rejoin(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room(title="Ban circle")
    slug = room["slug"]
    admin = await as_admin(new_page, hearth_server, slug)
    sam = await as_member(new_page, hearth_server, admin_api, slug, "Sam")
    await pw_expect(admin.get_by_text("Nobody is banned.")).to_be_visible()

    row = await member_actions(admin, "Sam")
    await row.get_by_label("Reason (shared with Sam)").fill("repeated insults")
    await row.get_by_role("button", name="Ban Sam").click()
    await row.get_by_role("button", name="Yes, ban Sam").click()
    await pw_expect(
        sam.get_by_role("heading", name="A facilitator removed you from the room")
    ).to_be_visible()
    ban = admin.locator(".ban", has_text="Sam")
    await pw_expect(ban).to_contain_text("repeated insults")

    await ban.get_by_role("button", name="Lift the ban on Sam").click()
    await ban.get_by_role("button", name="Yes, let Sam come back").click()
    await pw_expect(admin.locator(".ban")).to_have_count(0)
    await pw_expect(admin.get_by_text("Nobody is banned.")).to_be_visible()
    await sam.get_by_role("button", name="Rejoin").click()
    await pw_expect(sam.get_by_role("textbox", name="Message")).to_be_visible()


async def test_remove_with_cool_down_keeps_them_out(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room(title="Cool-down circle")
    slug = room["slug"]
    admin = await as_admin(new_page, hearth_server, slug)
    sam = await as_member(new_page, hearth_server, admin_api, slug, "Sam")
    row = await member_actions(admin, "Sam")
    await row.get_by_label("Keep out for how many minutes").fill("10")
    await row.get_by_role("button", name="Remove Sam").click()
    await row.get_by_role("button", name="Yes, remove Sam").click()
    await pw_expect(
        sam.get_by_role("heading", name="A facilitator removed you from the room")
    ).to_be_visible()
    await pw_expect(admin.locator(".member", has_text="Sam")).to_have_count(0)
    await sam.get_by_role("button", name="Rejoin").click()
    await pw_expect(sam.get_by_role("heading", name="You can't enter this room")).to_be_visible()


async def test_raised_hands_keep_their_order_after_a_reload_and_can_be_lowered(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room(title="Hands circle")
    slug = room["slug"]
    admin = await as_admin(new_page, hearth_server, slug)
    zoe = await as_member(new_page, hearth_server, admin_api, slug, "Zoe")
    abe = await as_member(new_page, hearth_server, admin_api, slug, "Abe")
    queue = admin.locator(".hand-list .hand")
    await zoe.get_by_role("button", name="Raise hand").click()
    await pw_expect(queue).to_have_count(1)
    await abe.get_by_role("button", name="Raise hand").click()
    await pw_expect(queue).to_have_count(2)

    await admin.reload()
    await pw_expect(admin.get_by_role("heading", name="Facilitator tools")).to_be_visible()
    await pw_expect(queue.locator(".member-name")).to_have_text(["Zoe", "Abe"])
    await pw_expect(admin.locator(".member .badge.hand")).to_have_text(
        ["hand raised, 1 in line", "hand raised, 2 in line"]
    )
    await admin.get_by_role("button", name="Lower Zoe's hand").click()
    await pw_expect(queue.locator(".member-name")).to_have_text(["Abe"])
    await pw_expect(zoe.get_by_role("button", name="Raise hand")).to_be_visible()
    await pw_expect(abe.get_by_role("button", name="Lower hand")).to_be_visible()


async def test_knock_disappears_when_the_person_leaves_the_waiting_room(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room(title="Knock circle", access="approval")
    slug = room["slug"]
    admin = await as_admin(new_page, hearth_server, slug)
    name = unique_name("robin")
    await admin_api.register(name, "Robin")
    robin = await new_page()
    await sign_in(robin, hearth_server, name)
    await robin.goto(f"{hearth_server.base_url}/#/room/{slug}")
    await pw_expect(robin.get_by_role("heading", name="Waiting to be let in")).to_be_visible()
    # The room's title is on the waiting screen too.
    await pw_expect(robin.get_by_role("heading", name="Knock circle", level=1)).to_be_visible()
    # On a phone, the waiting screen offers no "People and tools": there is no room behind it.
    await robin.set_viewport_size({"width": 360, "height": 740})
    await pw_expect(robin.get_by_role("heading", name="Waiting to be let in")).to_be_visible()
    await pw_expect(robin.get_by_role("button", name="People and tools")).to_have_count(0)
    knock = admin.locator(".knock", has_text="Robin")
    await pw_expect(knock.get_by_role("button", name="Admit Robin")).to_be_visible()
    await pw_expect(knock.get_by_role("button", name="Deny Robin")).to_be_visible()

    await robin.get_by_role("link", name="Leave the waiting room").click()
    await pw_expect(knock).to_have_count(0)
    await pw_expect(admin.locator(".mod-status")).to_have_text("Robin left the waiting room.")


async def test_member_erases_recorded_words_and_is_offered_it_on_withdrawing(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room(title="Recorded circle", transcripts="opt_in")
    slug = room["slug"]
    casey = await as_member(new_page, hearth_server, admin_api, slug, "Casey")
    toggle = casey.get_by_role("switch", name="Record my messages in the transcript")
    await toggle.click()
    await pw_expect(toggle).to_be_checked()
    await send(casey, "words for the record")
    await pw_expect(
        confirmed(casey, "words for the record").locator(".recorded-tag")
    ).to_have_count(1)
    assert await recorded_bodies(admin_api, slug, ["words for the record"]) == [
        "words for the record"
    ]

    await casey.get_by_role("button", name="Erase my recorded words").click()
    await casey.get_by_role(
        "button", name="Yes, erase everything I said that was recorded here"
    ).click()
    await pw_expect(casey.locator(".composer-status")).to_have_text(
        "1 recorded message of yours was erased."
    )
    await pw_expect(
        confirmed(casey, "words for the record").locator(".recorded-tag")
    ).to_have_count(0)
    assert (await admin_api.get(f"/api/rooms/{slug}/transcript"))["messages"] == []

    # Withdrawing consent offers to erase what was recorded meanwhile.
    await send(casey, "more for the record")
    await pw_expect(confirmed(casey, "more for the record").locator(".recorded-tag")).to_have_count(
        1
    )
    await toggle.click()
    await pw_expect(toggle).not_to_be_checked()
    await casey.get_by_role("button", name="Also erase what was already recorded").click()
    await casey.get_by_role(
        "button", name="Yes, erase everything I said that was recorded here"
    ).click()
    await pw_expect(casey.locator(".composer-status")).to_have_text(
        "1 recorded message of yours was erased."
    )
    assert (await admin_api.get(f"/api/rooms/{slug}/transcript"))["messages"] == []
