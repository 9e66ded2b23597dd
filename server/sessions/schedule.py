"""Session settings and schedule arithmetic (PROTOCOL §5). Pure: no I/O, no event loop.

A schedule slot is written in wall-clock time of the room's `timezone`, so a group meeting at
18:00 in Los Angeles meets at 18:00 local time on both sides of a daylight-saving change.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from datetime import time as wall_time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from ..rooms.settings import SettingsError

__all__ = [
    "MAX_SLOTS",
    "check_entry",
    "check_max_participants",
    "check_schedule",
    "check_timezone",
    "last_start",
    "next_start",
    "starts_between",
]

MAX_SLOTS = 28
_START = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
ENTRY = ("always", "in_session")


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_timezone(value: Any) -> str:
    """An IANA zone name known to this system."""
    if not isinstance(value, str) or len(value) > 64 or value not in _zones():
        raise SettingsError("timezone must be an IANA time zone name such as America/Chicago")
    return value


def check_entry(value: Any) -> str:
    """`always` or `in_session`."""
    if value not in ENTRY:
        raise SettingsError("entry must be one of always, in_session")
    return str(value)


def check_max_participants(value: Any) -> int | None:
    """Null, or a whole number from 2 to 1000."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 1000:
        raise SettingsError("max_participants must be null or a whole number from 2 to 1000")
    return value


def check_schedule(value: Any) -> list[dict[str, Any]]:
    """A list of up to 28 `{weekday, start, minutes}` slots, as stored."""
    if not isinstance(value, list) or len(value) > MAX_SLOTS:
        raise SettingsError(f"schedule must be a list of up to {MAX_SLOTS} meeting times")
    slots = []
    for n, slot in enumerate(value):
        where = f"schedule[{n}]"
        if not isinstance(slot, dict) or set(slot) != {"weekday", "start", "minutes"}:
            raise SettingsError(f"{where} must be {{weekday, start, minutes}}")
        weekday, start, minutes = slot["weekday"], slot["start"], slot["minutes"]
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise SettingsError(f"{where}.weekday must be 0 (Monday) to 6 (Sunday)")
        if not isinstance(start, str) or not _START.match(start):
            raise SettingsError(f'{where}.start must be "HH:MM" (24 h)')
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not 5 <= minutes <= 480:
            raise SettingsError(f"{where}.minutes must be a whole number from 5 to 480")
        slots.append({"weekday": weekday, "start": start, "minutes": minutes})
    return slots


def _starts_on(day: date, slot: dict[str, Any], zone: ZoneInfo) -> int | None:
    if day.weekday() != slot["weekday"]:
        return None
    hours, minutes = (int(p) for p in str(slot["start"]).split(":"))
    # fold=0: an hour that occurs twice (autumn) starts at its first occurrence; one that
    # does not exist (spring) lands an hour later, as clocks do.
    local = datetime.combine(day, wall_time(hours, minutes), tzinfo=zone)
    return int(local.timestamp() * 1000)


def starts_between(
    schedule: list[dict[str, Any]], timezone: str, since_ms: int, until_ms: int
) -> list[int]:
    """Every scheduled start (ms) in [since_ms, until_ms], oldest first."""
    zone = ZoneInfo(timezone)
    first = datetime.fromtimestamp(since_ms / 1000, zone).date() - timedelta(days=1)
    last = datetime.fromtimestamp(until_ms / 1000, zone).date() + timedelta(days=1)
    found: set[int] = set()
    day = first
    while day <= last:
        for slot in schedule:
            start = _starts_on(day, slot, zone)
            if start is not None and since_ms <= start <= until_ms:
                found.add(start)
        day += timedelta(days=1)
    return sorted(found)


WEEK_MS = 7 * 86400 * 1000


def next_start(schedule: list[dict[str, Any]], timezone: str, now_ms: int) -> int | None:
    """The first scheduled start after `now_ms`, or None without a schedule."""
    if not schedule:
        return None
    found = starts_between(schedule, timezone, now_ms + 1, now_ms + WEEK_MS + 3600_000)
    return found[0] if found else None


def last_start(schedule: list[dict[str, Any]], timezone: str, now_ms: int) -> int | None:
    """The latest scheduled start at or before `now_ms` (within a week), or None."""
    if not schedule:
        return None
    found = starts_between(schedule, timezone, now_ms - WEEK_MS - 3600_000, now_ms)
    return found[-1] if found else None
