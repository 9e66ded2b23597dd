"""The admin page against a real server: create a room, edit every setting and read each
back through the API, give and take away roles, and read the audit log by room and page."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import Page
from playwright.async_api import expect as pw_expect

from .conftest import AdminApi, NewPage
from .hearth_pages import sign_in, unique_name
from .hearth_server import Server

pytestmark = pytest.mark.xdist_group("browser")


async def admin_page(new_page: NewPage, server: Server) -> Page:
    page = await new_page()
    await sign_in(page, server, server.admin_username, server.admin_password)
    await page.get_by_role("link", name="Admin", exact=True).click()
    await pw_expect(page.get_by_role("heading", name="Administration", level=1)).to_be_visible()
    return page


async def test_admin_creates_a_room_and_edits_every_setting(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    page = await admin_page(new_page, hearth_server)
    slug = f"made-{uuid.uuid4().hex[:8]}"
    form = page.get_by_role("form", name="Create a room")
    await form.get_by_label("Slug (address)").fill(slug)
    await form.get_by_label("Title", exact=True).fill("Made in the page")
    await form.get_by_role("button", name="Create room").click()
    await pw_expect(page.get_by_role("form", name="Settings of Made in the page")).to_be_visible()
    created = await admin_api.room(slug)
    assert created["title"] == "Made in the page"
    assert created["crisis_resources"].startswith("You are not alone")  # the default kept

    form = page.get_by_role("form", name="Settings of Made in the page")
    await form.get_by_label("Title", exact=True).fill("Wednesday <circle>")
    await form.get_by_label("Description").fill("A quiet\nplace")
    await form.get_by_label("Group agreement (optional)").fill("Be kind.\nKeep it here.")
    await form.get_by_label("Who may enter").select_option("approval")
    await form.get_by_label("Locked: only facilitators can post").check()
    await form.get_by_label("Slow mode (seconds between a member's messages)").fill("45")
    await form.get_by_label("Longest message (characters)").fill("500")
    await form.get_by_label("Resume window (seconds)").fill("120")
    await form.get_by_label("Transcript", exact=True).select_option("opt_in")
    await form.get_by_label("Who may read the transcript").select_option("members")
    await form.get_by_label("Keep recorded messages for (days)").fill("")
    await form.get_by_label("Crisis resources").fill("Call 988 any time.")
    await form.get_by_label("Blocked words and phrases").fill("buy now\n\nfree money ")
    await form.get_by_label("Phone numbers and e-mail addresses in messages").select_option("hold")
    await form.get_by_label("Moderation checks, in order").fill("crisis, contact_details")
    await form.get_by_role("button", name="Save settings").click()
    await pw_expect(form.get_by_role("status")).to_have_text("Saved.")

    room = await admin_api.room(slug)
    assert {
        k: room[k]
        for k in (
            "title",
            "description",
            "agreement",
            "access",
            "locked",
            "slow_mode_seconds",
            "max_message_chars",
            "resume_window_seconds",
            "transcripts",
            "transcript_readers",
            "retention_days",
            "crisis_resources",
            "blocked_terms",
            "contact_details",
            "hooks",
        )
    } == {
        "title": "Wednesday <circle>",
        "description": "A quiet\nplace",
        "agreement": "Be kind.\nKeep it here.",
        "access": "approval",
        "locked": True,
        "slow_mode_seconds": 45,
        "max_message_chars": 500,
        "resume_window_seconds": 120,
        "transcripts": "opt_in",
        "transcript_readers": "members",
        "retention_days": None,
        "crisis_resources": "Call 988 any time.",
        "blocked_terms": ["buy now", "free money"],
        "contact_details": "hold",
        "hooks": ["crisis", "contact_details"],
    }

    # Back again: the form shows what the server holds; emptied fields mean their defaults.
    await form.get_by_label("Keep recorded messages for (days)").fill("14")
    await form.get_by_label("Moderation checks, in order").fill("")
    await form.get_by_label("Group agreement (optional)").fill("")
    await form.get_by_label("Locked: only facilitators can post").uncheck()
    await form.get_by_role("button", name="Save settings").click()
    await pw_expect(form.get_by_role("status")).to_have_text("Saved.")
    room = await admin_api.room(slug)
    assert (room["retention_days"], room["hooks"], room["agreement"], room["locked"]) == (
        14,
        None,
        None,
        False,
    )
    # A bad value is refused with the server's reason, and nothing is lost from the form.
    await form.get_by_label("Slow mode (seconds between a member's messages)").fill("5000")
    await form.evaluate("f => f.noValidate = true")
    await form.get_by_role("button", name="Save settings").click()
    await pw_expect(form.get_by_role("status")).to_contain_text("slow_mode_seconds")
    assert (await admin_api.room(slug))["slow_mode_seconds"] == 45


async def test_admin_gives_and_removes_roles_and_reads_the_audit_log(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room(title=f"Audit {uuid.uuid4().hex[:6]}")
    slug = room["slug"]
    name = unique_name("fay")
    await admin_api.register(name, "Fay")
    # More than a page of entries for this room: 55 setting changes.
    for i in range(55):
        await admin_api.update_room(slug, slow_mode_seconds=i + 1)
    page = await admin_page(new_page, hearth_server)
    await (
        page.get_by_role("navigation", name="Rooms")
        .get_by_role("button", name=room["title"])
        .click()
    )
    roles = page.get_by_role("region", name=f"Roles in {room['title']}")
    await pw_expect(roles).to_contain_text("Nobody holds a role here yet.")
    await roles.get_by_label("Username").fill(name)
    await roles.get_by_label("Role").select_option("facilitator")
    await roles.get_by_role("button", name="Set role").click()
    await pw_expect(roles.locator(".role-row")).to_contain_text(["Fay"])
    assert (await admin_api.get(f"/api/admin/rooms/{slug}/roles"))["roles"][0][
        "role"
    ] == "facilitator"
    await roles.get_by_role("button", name="Remove Fay's role").click()
    await roles.get_by_role("button", name="Yes, remove Fay's role").click()
    await pw_expect(roles).to_contain_text("Nobody holds a role here yet.")
    assert (await admin_api.get(f"/api/admin/rooms/{slug}/roles"))["roles"] == []

    audit = page.get_by_role("region", name="Audit log")
    await audit.get_by_label("Room").select_option(label=room["title"])
    rows = audit.locator("tbody tr")
    await pw_expect(rows).to_have_count(50)
    # Newest first, in words: who did what to whom, and what changed.
    await pw_expect(rows.nth(0)).to_contain_text("Took a role away")
    await pw_expect(rows.nth(0)).to_contain_text(name)
    await pw_expect(rows.nth(1)).to_contain_text("Gave a role")
    await pw_expect(rows.nth(2)).to_contain_text("Changed room settings")
    await pw_expect(rows.nth(2)).to_contain_text("slow_mode_seconds: 54 → 55")
    await audit.get_by_role("button", name="Show older entries").click()
    await pw_expect(rows).to_have_count(58)  # 55 changes, 2 roles, the creation
    await pw_expect(rows.last).to_contain_text("Created a room")
    await pw_expect(audit.get_by_role("button", name="Show older entries")).to_be_hidden()
    entries = (await admin_api.get("/api/admin/audit", room=slug, limit=500))["entries"]
    assert len(entries) == 58
