"""Sessions and private check-ins in the browser (PROTOCOL §5, §6): a member's request, a
facilitator's check-in, the closed door and the admin's schedule editing, each checked with
axe-core on a desktop (1280 px) and a phone (360 px)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page, ViewportSize
from playwright.async_api import expect as pw_expect

from .conftest import AdminApi, NewPage
from .hearth_pages import enter_room, sign_in, unique_name
from .hearth_server import Server

pytestmark = pytest.mark.xdist_group("browser")

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 360, "height": 740}


async def accessible(page: Page) -> None:
    """axe-core finds no violation on the page as it is now."""
    results = await Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


async def at_both_sizes(page: Page) -> None:
    for size in (DESKTOP, PHONE):
        await page.set_viewport_size(size)
        await accessible(page)
    await page.set_viewport_size(DESKTOP)


async def set_role(admin_api: AdminApi, slug: str, username: str, role: str) -> None:
    response = await admin_api.client.put(
        f"/api/admin/rooms/{slug}/roles/{username}", json={"role": role}
    )
    assert response.status_code == 200, response.text


async def test_a_member_asks_and_a_facilitator_checks_in_privately(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room(title="Thursday circle")
    fac_name, member_name = unique_name("fac"), unique_name("mem")
    await admin_api.register(fac_name, "Fran")
    await admin_api.register(member_name, "Morgan")
    await set_role(admin_api, room["slug"], fac_name, "facilitator")

    fac = await new_page()
    await sign_in(fac, hearth_server, fac_name)
    await enter_room(fac, hearth_server, room["slug"])
    await pw_expect(fac.get_by_role("heading", name="Session", exact=True)).to_be_visible()
    member = await new_page()
    await sign_in(member, hearth_server, member_name)
    await enter_room(member, hearth_server, room["slug"])

    await member.get_by_role("button", name="Talk to a facilitator privately").click()
    await member.get_by_label("Anything you would like them to know first? (optional)").fill(
        "It has been a hard week"
    )
    await at_both_sizes(member)
    await member.get_by_role("button", name="Send request").click()
    await pw_expect(member.get_by_text("A facilitator has been asked.")).to_be_visible()
    # A request dismissed leaves the list; asked again, it comes back.
    await fac.locator(".request", has_text="Morgan").get_by_role("button", name="Dismiss").click()
    await pw_expect(fac.locator(".request")).to_have_count(0)
    await member.get_by_role("button", name="Talk to a facilitator privately").click()
    await member.get_by_label("Anything you would like them to know first? (optional)").fill(
        "It has been a hard week"
    )
    await member.get_by_role("button", name="Send request").click()

    request = fac.locator(".request", has_text="Morgan")
    await pw_expect(request).to_contain_text("It has been a hard week")
    await at_both_sizes(fac)
    await request.get_by_role("button", name="Check in privately with Morgan").click()

    for page in (fac, member):
        pane = page.locator(".checkin-pane")
        await pw_expect(pane.get_by_role("heading", name="Private check-in")).to_be_visible()
        await pw_expect(pane).to_contain_text("Only you and the facilitators can see this.")
    await pw_expect(fac.locator(".request")).to_have_count(0)
    box = member.get_by_role("textbox", name="Message in the private check-in")
    await box.fill("Thank you for making time")
    await member.locator(".checkin-pane").get_by_role("button", name="Send").click()
    await pw_expect(fac.locator(".checkin-message")).to_contain_text("Thank you for making time")
    # Side by side on a desktop; one tap away on a phone.
    await pw_expect(member.get_by_role("textbox", name="Message", exact=True)).to_be_visible()
    await accessible(member)
    await member.set_viewport_size(PHONE)
    await pw_expect(member.locator(".checkin-pane")).to_be_hidden()
    await member.get_by_role("button", name="Private check-in").click()
    await pw_expect(member.locator(".checkin-pane")).to_be_visible()
    await accessible(member)
    await member.get_by_role("button", name="Back to the group").click()
    await pw_expect(member.get_by_role("textbox", name="Message", exact=True)).to_be_visible()

    await fac.locator(".checkin-pane").get_by_role("button", name="End check-in").click()
    await pw_expect(member.locator(".checkin-pane")).to_contain_text("This check-in has ended.")


async def test_a_member_waits_at_the_closed_door_until_the_session_opens(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room(
        title="Tuesday group",
        entry="in_session",
        schedule=[{"weekday": 1, "start": "18:00", "minutes": 90}],
        timezone="America/Los_Angeles",
    )
    fac_name, member_name = unique_name("fac"), unique_name("mem")
    await admin_api.register(fac_name, "Fran")
    await admin_api.register(member_name, "Morgan")
    await set_role(admin_api, room["slug"], fac_name, "facilitator")

    member = await new_page()
    await sign_in(member, hearth_server, member_name)
    card = member.locator(".room-card", has_text="Tuesday group")
    await pw_expect(card).to_contain_text("This group meets every Tuesday at")
    await member.goto(f"{hearth_server.base_url}/#/room/{room['slug']}")
    await pw_expect(
        member.get_by_role("heading", name="The group has not started yet")
    ).to_be_visible()
    await pw_expect(member.locator(".gate")).to_contain_text("it opens in")
    await at_both_sizes(member)

    fac = await new_page()
    await sign_in(fac, hearth_server, fac_name)
    await enter_room(fac, hearth_server, room["slug"])
    panel = fac.locator(".panel.sessions")
    await pw_expect(panel).to_contain_text("No session is open")
    await panel.get_by_role("button", name="Open the session").click()
    await pw_expect(panel).to_contain_text("Open since")
    await pw_expect(member.get_by_role("textbox", name="Message", exact=True)).to_be_visible()
    await pw_expect(panel.locator(".attendance-list")).to_contain_text("Morgan")
    await panel.get_by_text("Past sessions and attendance").click()
    item = panel.locator(".session-item").first
    await pw_expect(item).to_contain_text("2 people")
    await item.get_by_role("button", name="Attendance").click()
    await pw_expect(item.locator("table")).to_contain_text("Morgan")
    csv_link = item.get_by_role("link", name="Download CSV")
    href = await csv_link.get_attribute("href") or ""
    assert href.endswith("/attendance.csv")
    download = await fac.request.get(f"{hearth_server.base_url}{href}")  # the page's cookie
    assert download.ok and download.headers["content-disposition"].startswith("attachment")
    lines = (await download.text()).splitlines()
    assert lines[0] == "username,display_name,role,first_joined,last_left,seconds_present"
    assert any(line.startswith(f"{member_name},Morgan,member,") for line in lines[1:])
    await at_both_sizes(fac)


async def test_an_admin_edits_the_schedule_entry_and_capacity(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    # A title of its own, so a rerun on the same server finds one button, not the last try's too.
    title = f"Monday group {uuid.uuid4().hex[:6]}"
    room = await admin_api.create_room(title=title)
    admin = await new_page()
    await sign_in(admin, hearth_server, hearth_server.admin_username, hearth_server.admin_password)
    await admin.goto(f"{hearth_server.base_url}/#/admin")
    await admin.get_by_role("button", name=title, exact=True).click()
    form = admin.locator(".schedule-form")
    await pw_expect(form).to_contain_text("No meeting times")
    await form.get_by_role("button", name="Add a meeting time").click()
    slot = form.locator(".slot").first
    await slot.get_by_label("Day").select_option(label="Wednesday")
    await slot.get_by_label("Start time").fill("19:30")
    await slot.get_by_label("Length in minutes").fill("75")
    await form.get_by_label("Time zone").select_option("America/Chicago")
    await form.get_by_label("Who may enter when").select_option("in_session")
    await form.get_by_label("Most members at once (empty: no limit)").fill("12")
    await at_both_sizes(admin)
    await form.get_by_role("button", name="Save").click()
    await pw_expect(form).to_contain_text(f"Saved “{title}”.")
    async with httpx.AsyncClient(base_url=hearth_server.base_url) as http:
        saved: dict[str, Any] = (
            await http.get(f"/api/rooms/{room['slug']}", headers=admin_api.client.headers)
        ).json()["room"]
    assert saved["schedule"] == [{"weekday": 2, "start": "19:30", "minutes": 75}]
    assert saved["timezone"] == "America/Chicago" and saved["entry"] == "in_session"
    assert saved["max_participants"] == 12 and isinstance(saved["next_session_at"], int)
    # A value out of range is refused before it is sent; what was saved stays.
    capacity = form.get_by_label("Most members at once (empty: no limit)")
    await capacity.fill("1")
    await form.get_by_role("button", name="Save").click()
    assert await capacity.evaluate("input => input.validity.rangeUnderflow")
    async with httpx.AsyncClient(base_url=hearth_server.base_url) as http:
        kept = await http.get(f"/api/rooms/{room['slug']}", headers=admin_api.client.headers)
    assert kept.json()["room"]["max_participants"] == 12


async def test_a_facilitator_checks_in_from_a_crisis_flag(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room(title="Evening support")
    fac_name, member_name = unique_name("fac"), unique_name("hurting")
    await admin_api.register(fac_name, "Fran")
    await admin_api.register(member_name, "Dana")
    await set_role(admin_api, room["slug"], fac_name, "facilitator")
    fac = await new_page()
    await sign_in(fac, hearth_server, fac_name)
    await enter_room(fac, hearth_server, room["slug"])
    member = await new_page()
    await sign_in(member, hearth_server, member_name)
    await enter_room(member, hearth_server, room["slug"])
    box = member.get_by_role("textbox", name="Message", exact=True)
    await box.fill("some days I just want to die")
    await box.press("Enter")
    flag = fac.locator(".flag", has_text="want to die")
    await pw_expect(flag).to_have_count(1)
    await flag.get_by_role("button", name="Check in privately with Dana").click()
    pane = member.locator(".checkin-pane")
    await pw_expect(pane).to_contain_text("Only you and the facilitators can see this.")
    await pw_expect(fac.locator(".checkin-pane")).to_be_visible()
    await accessible(fac)
