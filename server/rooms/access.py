"""Who may enter a room and who may moderate it (PROTOCOL §2 "May enter", §3 mod). Pure."""

from __future__ import annotations

from .settings import RoomView

__all__ = ["effective_role", "may_enter", "may_moderate", "may_read_transcript"]


def effective_role(is_admin: bool, room_role: str | None) -> str:
    """The role shown in `welcome` and `participant`: admin, facilitator or member."""
    if is_admin:
        return "admin"
    return "facilitator" if room_role == "facilitator" else "member"


def may_enter(room: RoomView, is_admin: bool, room_role: str | None, banned: bool) -> bool:
    """Admins enter every room; others unless banned, open/approval rooms, or members rooms
    where they have a role."""
    if is_admin:
        return True
    if banned:
        return False
    return room.access in ("open", "approval") or room_role is not None


def may_moderate(role: str) -> bool:
    """Facilitators moderate their rooms; admins every room."""
    return role in ("facilitator", "admin")


def may_read_transcript(room: RoomView, role: str, entered: bool) -> bool:
    """Per `transcript_readers`, for a user who may enter the room: facilitators (and
    admins); with `members`, also those who have entered at least once (got `welcome`: a
    user waiting or denied in an approval room has not). What such a member reads starts
    at their first entry."""
    if may_moderate(role):
        return True
    return room.transcript_readers == "members" and entered
