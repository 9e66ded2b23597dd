"""The browser client against a real server, as people would use it."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Locator, Page, WebSocketRoute
from playwright.async_api import expect as pw_expect

from .conftest import AdminApi, NewPage
from .hearth_pages import enter_room, message_action, send, sign_in, unique_name
from .hearth_server import PASSWORD, Server

pytestmark = pytest.mark.xdist_group("browser")

SCREENSHOT = Path("/tmp/hearth-room.png")
PHONE_SCREENSHOT = Path("/tmp/hearth-room-phone.png")


def confirmed(page: Page, text: str) -> Locator:
    """Messages the server has confirmed (not pending) whose body contains `text`."""
    return page.locator(".message[data-id]", has=page.locator(".body", has_text=text))


async def test_register_sign_in_enter_and_chat_live(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room(title="Tuesday circle", description="A gentle check-in")
    alice_name, bob_name = unique_name("alice"), unique_name("bob")

    # Alice registers through the form (which signs her in), signs out, and signs in again.
    alice = await new_page()
    await alice.goto(f"{hearth_server.base_url}/")
    await alice.get_by_role("button", name="New here? Create an account").click()
    await alice.get_by_label("Username").fill(alice_name)
    await alice.get_by_label("Display name (optional)").fill("Alice")
    await alice.get_by_label("Password").fill(PASSWORD)
    await alice.get_by_role("button", name="Create account").click()
    await pw_expect(alice.get_by_role("heading", name="Your rooms")).to_be_visible()
    await alice.get_by_role("button", name="Sign out").click()
    await pw_expect(alice.get_by_role("button", name="Sign in")).to_be_visible()
    await sign_in(alice, hearth_server, alice_name)

    # The room list shows the admin's room; entering it shows its title.
    link = alice.get_by_role("link", name="Tuesday circle")
    await pw_expect(link).to_be_visible()
    await link.click()
    await pw_expect(alice.get_by_role("heading", name="Tuesday circle", level=1)).to_be_visible()
    await pw_expect(alice.get_by_text("This session is not recorded")).to_be_visible()

    await admin_api.register(bob_name, "Bob")
    bob = await new_page()
    await sign_in(bob, hearth_server, bob_name)
    await enter_room(bob, hearth_server, room["slug"])
    # Presence: Alice sees Bob arrive in the member list.
    await pw_expect(alice.locator(".member-list")).to_contain_text("Bob")

    # Enter sends, Shift+Enter makes a new line.
    box = alice.get_by_role("textbox", name="Message")
    await box.type("Hello everyone")
    await box.press("Shift+Enter")
    await box.type("glad to be here")
    await box.press("Enter")
    body = "Hello everyone\nglad to be here"

    mine = confirmed(alice, "glad to be here")
    await pw_expect(mine).to_have_count(1)
    assert await mine.locator(".body").text_content() == body
    await pw_expect(mine.locator(".author")).to_have_text("Alice")
    await pw_expect(alice.locator(".message.pending")).to_have_count(0)
    await pw_expect(box).to_have_value("")

    theirs = confirmed(bob, "glad to be here")
    await pw_expect(theirs).to_have_count(1)
    assert await theirs.locator(".body").text_content() == body
    await pw_expect(theirs.locator(".author")).to_have_text("Alice")

    # A reaction from Bob is said in words, with who and never how many, on both pages.
    await message_action(bob, theirs, "Sending care")
    await pw_expect(mine.locator(".reactions")).to_have_text("❤️ Bob sent care")
    await pw_expect(theirs.locator(".reactions")).to_have_text("❤️ You sent care")


async def test_message_markup_renders_as_literal_text(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room()
    sender_name, reader_name = unique_name("sender"), unique_name("reader")
    await admin_api.register(sender_name, "Sender <i>x</i>")
    await admin_api.register(reader_name, "Reader")
    sender, reader = await new_page(), await new_page()
    for page, name in ((sender, sender_name), (reader, reader_name)):
        await sign_in(page, hearth_server, name)
        await enter_room(page, hearth_server, room["slug"])

    body = "<img src=x onerror=alert(1)><b>bold</b>"
    await send(sender, body)
    for page in (sender, reader):
        message = confirmed(page, "onerror")
        await pw_expect(message).to_have_count(1)
        assert await message.locator(".body").text_content() == body
        assert await message.locator(".author").text_content() == "Sender <i>x</i>"
        assert await page.locator(".messages img, .messages b, .messages i").count() == 0
    # The `new_page` fixture also fails the test on any dialog (alert) or script error.


async def test_facilitator_deletes_a_members_message(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room(title="Support circle")
    member_name = unique_name("member")
    await admin_api.register(member_name, "Morgan")

    admin = await new_page()
    await sign_in(admin, hearth_server, hearth_server.admin_username, hearth_server.admin_password)
    await enter_room(admin, hearth_server, room["slug"])
    await pw_expect(admin.get_by_role("heading", name="Facilitator tools")).to_be_visible()

    member = await new_page()
    await sign_in(member, hearth_server, member_name)
    await enter_room(member, hearth_server, room["slug"])
    await pw_expect(member.get_by_role("heading", name="Facilitator tools")).to_have_count(0)

    await send(member, "this one should go away")
    await send(member, "this one stays")
    doomed_for_member = confirmed(member, "should go away")
    await pw_expect(doomed_for_member).to_have_count(1)
    await pw_expect(confirmed(member, "this one stays")).to_have_count(1)

    doomed = confirmed(admin, "should go away")
    await pw_expect(doomed).to_have_count(1)
    await message_action(admin, doomed, "Delete", confirm="Confirm delete")

    await pw_expect(doomed_for_member).to_have_count(0)
    await pw_expect(doomed).to_have_count(0)
    await pw_expect(confirmed(member, "this one stays")).to_have_count(1)
    await pw_expect(confirmed(admin, "this one stays")).to_have_count(1)


async def test_consent_toggle_records_later_messages(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room(title="Recorded circle", transcripts="opt_in")
    name = unique_name("consent")
    await admin_api.register(name, "Casey")
    page = await new_page()
    await sign_in(page, hearth_server, name)
    await enter_room(page, hearth_server, room["slug"])

    toggle = page.get_by_role("switch", name="Record my messages in the transcript")
    await pw_expect(toggle).to_be_visible()
    await pw_expect(toggle).not_to_be_checked()
    await pw_expect(page.get_by_text("This session is not recorded")).to_have_count(0)

    await send(page, "before consenting")
    before = confirmed(page, "before consenting")
    await pw_expect(before).to_have_count(1)
    await pw_expect(before.locator(".recorded-tag")).to_have_count(0)

    await toggle.click()
    # The switch only turns on once the server answered the consent frame.
    await pw_expect(toggle).to_be_checked()
    await pw_expect(toggle).to_be_enabled()

    await send(page, "after consenting")
    after = confirmed(page, "after consenting")
    await pw_expect(after).to_have_count(1)
    await pw_expect(after.locator(".recorded-tag")).to_have_text("recorded")
    await pw_expect(before.locator(".recorded-tag")).to_have_count(0)


async def test_waiting_room_agreement_and_admission(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    agreement = "We keep what is said here private.\nWe listen without fixing."
    room = await admin_api.create_room(
        title="Approval circle", access="approval", agreement=agreement
    )
    name = unique_name("knocker")
    await admin_api.register(name, "Robin")

    admin = await new_page()
    await sign_in(admin, hearth_server, hearth_server.admin_username, hearth_server.admin_password)
    await admin.goto(f"{hearth_server.base_url}/#/room/{room['slug']}")
    await admin.get_by_role("button", name="I accept").click()
    await pw_expect(admin.get_by_role("heading", name="Facilitator tools")).to_be_visible()

    member = await new_page()
    await sign_in(member, hearth_server, name)
    await member.goto(f"{hearth_server.base_url}/#/room/{room['slug']}")
    await pw_expect(member.locator(".agreement-text")).to_have_text(agreement)
    await member.get_by_role("button", name="I accept").click()
    await pw_expect(member.get_by_role("heading", name="Waiting to be let in")).to_be_visible()

    knock = admin.locator(".knock", has_text="Robin")
    await pw_expect(knock).to_have_count(1)
    await knock.get_by_role("button", name="Admit Robin").click()
    await pw_expect(member.get_by_role("textbox", name="Message")).to_be_visible()
    await pw_expect(admin.locator(".knock")).to_have_count(0)
    await pw_expect(admin.locator(".member-list")).to_contain_text("Robin")


async def test_room_page_screenshot(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room(
        title="Thursday evening circle",
        description="A peer-support space for people in recovery. Go gently.",
        transcripts="opt_in",
    )
    name = unique_name("jordan")
    await admin_api.register(name, "Jordan")

    admin = await new_page()
    await sign_in(admin, hearth_server, hearth_server.admin_username, hearth_server.admin_password)
    await enter_room(admin, hearth_server, room["slug"])
    member = await new_page()
    await member.set_viewport_size({"width": 390, "height": 844})
    await sign_in(member, hearth_server, name)
    await enter_room(member, hearth_server, room["slug"])

    await send(admin, "Welcome, everyone. Let's start with a short check-in.")
    await send(member, "Hi all. This week was hard,\nbut I'm still here.")
    await pw_expect(confirmed(admin, "still here")).to_have_count(1)
    await message_action(admin, confirmed(admin, "still here"), "Sending a hug")
    await member.get_by_role("button", name="Raise hand").click()
    await pw_expect(admin.locator(".member .hand")).to_have_count(1)
    await admin.get_by_role("textbox", name="Message").click()

    await admin.screenshot(path=str(SCREENSHOT))
    await member.screenshot(path=str(PHONE_SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000

    # The layout keeps the composer and the newest message on screen, on a phone too.
    for page in (admin, member):
        viewport = page.viewport_size
        assert viewport is not None
        for locator in (page.get_by_role("button", name="Send"), confirmed(page, "still here")):
            box = await locator.bounding_box()
            assert box is not None
            assert 0 <= box["y"] and box["y"] + box["height"] <= viewport["height"], box
            assert box["x"] + box["width"] <= viewport["width"], box


async def test_facilitator_pins_and_locks_the_room(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room(title="Tools circle")
    name = unique_name("pinned")
    await admin_api.register(name, "Sam")
    admin = await new_page()
    await sign_in(admin, hearth_server, hearth_server.admin_username, hearth_server.admin_password)
    await enter_room(admin, hearth_server, room["slug"])
    member = await new_page()
    await sign_in(member, hearth_server, name)
    await enter_room(member, hearth_server, room["slug"])

    note = "Check-in: <one word> for how you feel today."
    await admin.get_by_label("Pin a note").fill(note)
    await admin.get_by_role("button", name="Pin note").click()
    await pw_expect(member.locator(".pin .body")).to_have_text(note)

    locked_badge = member.get_by_text("Locked: only facilitators can post", exact=True)
    await admin.get_by_role("button", name="Lock room").click()
    await pw_expect(locked_badge).to_be_visible()
    # The composer says so before anyone sends; a refused message stays, with its reason.
    await pw_expect(member.locator(".composer-state")).to_contain_text("The room is locked")
    await send(member, "can I still post?")
    failed = member.locator(".message.failed", has_text="can I still post?")
    await pw_expect(failed).to_contain_text("Not sent: The room is locked")
    await pw_expect(failed.get_by_role("button", name="Try again")).to_be_visible()
    await pw_expect(confirmed(admin, "can I still post?")).to_have_count(0)

    await admin.get_by_role("button", name="Unlock room").click()
    await pw_expect(locked_badge).to_have_count(0)


async def test_reconnect_resumes_and_resends_pending(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room(title="Resume circle")
    reader_name, writer_name = unique_name("reader"), unique_name("writer")
    await admin_api.register(reader_name, "Riley")
    await admin_api.register(writer_name, "Wren")

    # The reader's socket goes through the test, which can hide frames and drop the line.
    reader = await new_page()
    routes: list[WebSocketRoute] = []
    hide_messages = False

    def from_server(route: WebSocketRoute, frame: str | bytes) -> None:
        if hide_messages and isinstance(frame, str) and '"type":"message"' in frame:
            return
        route.send(frame)

    async def through_test(route: WebSocketRoute) -> None:
        server = route.connect_to_server()
        route.on_message(server.send)
        server.on_message(lambda frame: from_server(route, frame))
        routes.append(route)

    await reader.route_web_socket(re.compile(r"/ws/rooms/"), through_test)
    await sign_in(reader, hearth_server, reader_name)
    await enter_room(reader, hearth_server, room["slug"])
    writer = await new_page()
    await sign_in(writer, hearth_server, writer_name)
    await enter_room(writer, hearth_server, room["slug"])

    await send(writer, "first, seen live")
    await pw_expect(confirmed(reader, "first, seen live")).to_have_count(1)

    # A message the reader never receives live, then the line drops unexpectedly.
    hide_messages = True
    await send(writer, "second, missed while away")
    await pw_expect(confirmed(writer, "second, missed while away")).to_have_count(1)
    await send(reader, "sent from the reader")  # its confirmation is hidden: stays pending
    await pw_expect(reader.locator(".message.pending")).to_have_count(1)
    await pw_expect(confirmed(writer, "sent from the reader")).to_have_count(1)
    hide_messages = False
    await routes[0].close(code=1011, reason="test drops the line")

    # It reconnects on its own, resuming after the last seq it saw, in the same epoch.
    await pw_expect(confirmed(reader, "second, missed while away")).to_have_count(1)
    assert len(routes) == 2
    query = parse_qs(urlsplit(routes[1].url).query)
    assert query["after_seq"] == ["1"], routes[1].url
    assert query["epoch"][0], routes[1].url
    # The pending message was resent with its ref; the server deduplicated it.
    await pw_expect(reader.locator(".message.pending")).to_have_count(0)
    await pw_expect(confirmed(reader, "sent from the reader")).to_have_count(1)
    await pw_expect(confirmed(writer, "sent from the reader")).to_have_count(1)
    await pw_expect(reader.locator(".message[data-id]")).to_have_count(3)
    await pw_expect(reader.locator(".system-note")).to_have_text(
        ["Reconnected. 1 message was filled in."]
    )


async def test_settings_change_live_and_slow_mode_refusal_is_shown(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room(title="Slow circle")
    name = unique_name("slow")
    await admin_api.register(name, "Quinn")
    page = await new_page()
    await sign_in(page, hearth_server, name)
    await enter_room(page, hearth_server, room["slug"])

    await admin_api.update_room(room["slug"], slow_mode_seconds=600, title="Slow and steady")
    await pw_expect(page.get_by_role("heading", name="Slow and steady", level=1)).to_be_visible()
    await pw_expect(page.get_by_text("Slow mode: 10 minutes", exact=True)).to_be_visible()

    await send(page, "one")
    await pw_expect(confirmed(page, "one")).to_have_count(1)
    await send(page, "two, too soon")
    failed = page.locator(".message.failed", has_text="two, too soon")
    await pw_expect(failed).to_have_count(1)
    await pw_expect(failed).to_contain_text("Not sent: Slow mode is on.")
    await pw_expect(failed).to_contain_text("You can try again in")
    await pw_expect(page.locator(".composer-state")).to_contain_text("one message every 10 minutes")
    await pw_expect(page.locator(".composer-state")).to_contain_text("Your next message can go at")
    # "Try again" puts the text back in the box rather than losing it.
    await failed.get_by_role("button", name="Try again").click()
    await pw_expect(page.get_by_role("textbox", name="Message")).to_have_value("two, too soon")


async def test_signing_out_elsewhere_returns_to_sign_in(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room()
    name = unique_name("leaver")
    await admin_api.register(name, "Lou")
    page = await new_page()
    await sign_in(page, hearth_server, name)
    await enter_room(page, hearth_server, room["slug"])

    # Another tab of the same browser signs out: the room's socket closes with 4401.
    other_tab = await page.context.new_page()
    await other_tab.goto(f"{hearth_server.base_url}/")
    await other_tab.get_by_role("button", name="Sign out").click()
    await pw_expect(other_tab.get_by_role("button", name="Sign in")).to_be_visible()
    await pw_expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await pw_expect(page.get_by_role("textbox", name="Message")).to_have_count(0)


async def test_report_reaches_facilitator_as_a_flag(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room(title="Report circle")
    author_name, reporter_name = unique_name("author"), unique_name("reporter")
    await admin_api.register(author_name, "Avery")
    await admin_api.register(reporter_name, "Rae")
    admin = await new_page()
    await sign_in(admin, hearth_server, hearth_server.admin_username, hearth_server.admin_password)
    await enter_room(admin, hearth_server, room["slug"])
    author, reporter = await new_page(), await new_page()
    for page, name in ((author, author_name), (reporter, reporter_name)):
        await sign_in(page, hearth_server, name)
        await enter_room(page, hearth_server, room["slug"])

    await send(author, "something <unkind>")
    message = confirmed(reporter, "something <unkind>")
    await pw_expect(message).to_have_count(1)
    # Nobody reports their own message.
    own = confirmed(author, "unkind")
    await pw_expect(own).to_have_count(1)
    await pw_expect(own.get_by_role("button", name="Report")).to_have_count(0)
    await message_action(reporter, message, "Report")
    await reporter.get_by_label("Reason for reporting").fill("This felt hurtful")
    await reporter.get_by_role("button", name="Send report").click()
    thanks = reporter.get_by_role("status").filter(has_text="The facilitators have been told")
    await pw_expect(thanks).to_have_count(1)
    await pw_expect(message).to_contain_text("You reported this message")

    flag = admin.locator(".flag")
    await pw_expect(flag).to_have_count(1)
    await pw_expect(flag.locator(".flag-reason")).to_have_text("This felt hurtful")
    await pw_expect(flag.locator(".excerpt")).to_have_text("something <unkind>")
    await pw_expect(flag).to_contain_text("Reported by Rae")
    await pw_expect(flag).to_contain_text("message by Avery")
    await flag.get_by_role("button", name="Delete message").click()
    await flag.get_by_role("button", name="Confirm delete").click()
    await pw_expect(message).to_have_count(0)
    await pw_expect(confirmed(author, "unkind")).to_have_count(0)
    # The flag stays until resolved, without the words.
    await pw_expect(flag.locator(".excerpt")).to_have_count(0)
    await flag.get_by_role("button", name="Mark resolved").click()
    await pw_expect(flag).to_have_count(0)


async def test_facilitator_mutes_and_unmutes_a_member(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    room = await admin_api.create_room(title="Mute circle")
    name = unique_name("muted")
    await admin_api.register(name, "Mika")
    admin = await new_page()
    await sign_in(admin, hearth_server, hearth_server.admin_username, hearth_server.admin_password)
    await enter_room(admin, hearth_server, room["slug"])
    member = await new_page()
    await sign_in(member, hearth_server, name)
    await enter_room(member, hearth_server, room["slug"])

    row = admin.locator(".member", has_text="Mika")
    await row.get_by_text("Actions for Mika").click()
    await row.get_by_label("Mute for how many minutes").fill("5")
    await row.get_by_role("button", name="Mute Mika", exact=True).click()
    await pw_expect(row.locator(".badge.muted")).to_have_count(1)
    await pw_expect(member.locator(".composer-state")).to_contain_text("paused your messages until")

    await send(member, "am I heard?")
    await pw_expect(member.locator(".message.failed", has_text="am I heard?")).to_have_count(1)
    await pw_expect(confirmed(admin, "am I heard?")).to_have_count(0)

    await row.get_by_role("button", name="Unmute Mika").click()
    await pw_expect(member.locator(".composer-state")).to_be_hidden()
    await send(member, "back again")
    await pw_expect(confirmed(admin, "back again")).to_have_count(1)


async def test_crisis_resources_shown_privately_without_blocking(
    hearth_server: Server, admin_api: AdminApi, new_page: NewPage
) -> None:
    resources = "You matter. Call or text 988, any time.\nOr talk to a facilitator privately."
    room = await admin_api.create_room(title="Crisis circle", crisis_resources=resources)
    author_name, peer_name = unique_name("hurting"), unique_name("peer")
    await admin_api.register(author_name, "Dana")
    await admin_api.register(peer_name, "Eli")
    admin = await new_page()
    await sign_in(admin, hearth_server, hearth_server.admin_username, hearth_server.admin_password)
    await enter_room(admin, hearth_server, room["slug"])
    author, peer = await new_page(), await new_page()
    for page, name in ((author, author_name), (peer, peer_name)):
        await sign_in(page, hearth_server, name)
        await enter_room(page, hearth_server, room["slug"])

    await send(author, "some days I just want to die")
    # Delivered as usual; only the author sees the resources; facilitators get a flag.
    await pw_expect(confirmed(peer, "want to die")).to_have_count(1)
    panel = author.get_by_role("alert", name="You are not alone")
    await pw_expect(panel).to_be_visible()
    assert await panel.locator(".crisis-text").text_content() == resources
    # Announced (an alert) and given focus, with the Lifeline one tap away.
    await pw_expect(panel).to_be_focused()
    await pw_expect(panel.get_by_role("link", name="Call 988")).to_have_attribute("href", "tel:988")
    await pw_expect(panel.get_by_role("link", name="Text 988")).to_have_attribute("href", "sms:988")
    await pw_expect(peer.locator(".crisis")).to_be_hidden()
    await pw_expect(admin.locator(".flag", has_text="want to die")).to_have_count(1)

    # The panel never blocks writing, and stays until dismissed.
    await send(author, "thank you for listening")
    await pw_expect(confirmed(peer, "thank you for listening")).to_have_count(1)
    await pw_expect(panel).to_be_visible()
    await panel.get_by_role("button", name="Dismiss").click()
    await pw_expect(panel).to_be_hidden()
