"""Who may enter, moderate and read a room's transcript (server/rooms/access.py,
PROTOCOL §2 "May enter"), without a server."""

from __future__ import annotations

import pytest

from server.rooms.access import effective_role, may_enter, may_moderate, may_read_transcript
from server.rooms.settings import RoomView


def room(access: str = "open", readers: str = "facilitators") -> RoomView:
    return RoomView("r1", "circle", "Circle", access=access, transcript_readers=readers)


@pytest.mark.parametrize(
    ("is_admin", "room_role", "role"),
    [
        (True, None, "admin"),
        (True, "member", "admin"),
        (False, "facilitator", "facilitator"),
        (False, "member", "member"),
        (False, None, "member"),
    ],
)
def test_the_role_shown_is_admin_above_the_room_role(
    is_admin: bool, room_role: str | None, role: str
) -> None:
    assert effective_role(is_admin, room_role) == role


@pytest.mark.parametrize("access", ["open", "approval"])
def test_anyone_not_banned_may_enter_an_open_or_approval_room(access: str) -> None:
    assert may_enter(room(access), False, None, banned=False)
    assert not may_enter(room(access), False, None, banned=True)


def test_only_users_given_a_role_may_enter_a_members_room() -> None:
    assert not may_enter(room("members"), False, None, banned=False)
    assert may_enter(room("members"), False, "member", banned=False)
    assert may_enter(room("members"), False, "facilitator", banned=False)


def test_a_ban_outweighs_a_role() -> None:
    assert not may_enter(room("members"), False, "facilitator", banned=True)


@pytest.mark.parametrize("access", ["open", "members", "approval"])
def test_admins_enter_every_room_even_banned(access: str) -> None:
    assert may_enter(room(access), True, None, banned=True)


def test_facilitators_and_admins_moderate_members_do_not() -> None:
    assert may_moderate("facilitator") and may_moderate("admin")
    assert not may_moderate("member")


@pytest.mark.parametrize("readers", ["facilitators", "members"])
def test_facilitators_and_admins_read_every_transcript(readers: str) -> None:
    for role in ("facilitator", "admin"):
        assert may_read_transcript(room(readers=readers), role, entered=False)


def test_members_read_only_a_members_transcript_and_only_once_they_have_entered() -> None:
    assert not may_read_transcript(room(readers="facilitators"), "member", entered=True)
    assert not may_read_transcript(room(readers="members"), "member", entered=False)
    assert may_read_transcript(room(readers="members"), "member", entered=True)
