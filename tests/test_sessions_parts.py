"""The pure parts of sessions (PROTOCOL §5): schedule arithmetic across daylight-saving
changes, settings validation, capacity and idleness decisions, the CSV. No event loop."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.rooms.settings import PLUGGED_SETTINGS, RoomView, SettingsError, apply_settings
from server.sessions.capacity import may_take_seat
from server.sessions.export import CSV_HEADER, attendance_csv_text, csv_cell, iso_utc
from server.sessions.schedule import (
    check_schedule,
    check_timezone,
    last_start,
    next_start,
    starts_between,
)
from server.sessions.setup import register_settings
from server.sessions.upkeep import IDLE_MS, due_slot, idle_action


def ms(year: int, month: int, day: int, hour: int, minute: int, zone: str) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)).timestamp() * 1000)


TUESDAY_6PM = [{"weekday": 1, "start": "18:00", "minutes": 90}]


def test_a_slot_keeps_its_local_time_across_daylight_saving() -> None:
    la = "America/Los_Angeles"
    # 2026: DST starts Sunday 8 March, ends Sunday 1 November.
    before = next_start(TUESDAY_6PM, la, ms(2026, 3, 1, 12, 0, "UTC"))
    after = next_start(TUESDAY_6PM, la, ms(2026, 3, 9, 12, 0, "UTC"))
    assert before == ms(2026, 3, 3, 18, 0, la)
    assert after == ms(2026, 3, 10, 18, 0, la)
    utc_hours = [datetime.fromtimestamp(t / 1000, UTC).hour for t in (before, after)]
    assert utc_hours == [2, 1]  # 18:00 PST is 02:00 UTC, 18:00 PDT is 01:00 UTC
    autumn = next_start(TUESDAY_6PM, la, ms(2026, 11, 2, 0, 0, la))
    assert autumn == ms(2026, 11, 3, 18, 0, la)


def test_next_and_last_start() -> None:
    now = ms(2026, 12, 1, 18, 30, "UTC")  # a Tuesday, half an hour into the meeting
    assert last_start(TUESDAY_6PM, "UTC", now) == ms(2026, 12, 1, 18, 0, "UTC")
    assert next_start(TUESDAY_6PM, "UTC", now) == ms(2026, 12, 8, 18, 0, "UTC")
    exactly = ms(2026, 12, 1, 18, 0, "UTC")
    assert next_start(TUESDAY_6PM, "UTC", exactly) == ms(2026, 12, 8, 18, 0, "UTC")
    assert last_start(TUESDAY_6PM, "UTC", exactly) == exactly
    assert next_start([], "UTC", now) is None and last_start([], "UTC", now) is None
    two = [*TUESDAY_6PM, {"weekday": 3, "start": "09:15", "minutes": 30}]
    assert next_start(two, "UTC", now) == ms(2026, 12, 3, 9, 15, "UTC")


@given(st.integers(min_value=1_600_000_000_000, max_value=2_200_000_000_000))
def test_next_start_is_the_first_start_after_now(now: int) -> None:
    start = next_start(TUESDAY_6PM, "Europe/Berlin", now)
    assert start is not None and now < start <= now + 7 * 86400_000 + 3600_000
    local = datetime.fromtimestamp(start / 1000, ZoneInfo("Europe/Berlin"))
    assert (local.weekday(), local.hour, local.minute) == (1, 18, 0)
    assert starts_between(TUESDAY_6PM, "Europe/Berlin", now + 1, start - 1) == []


def test_a_scheduled_start_is_due_for_its_first_minute() -> None:
    start = ms(2026, 12, 1, 18, 0, "UTC")
    assert due_slot(TUESDAY_6PM, "UTC", start - 1) is None
    assert due_slot(TUESDAY_6PM, "UTC", start) == start
    assert due_slot(TUESDAY_6PM, "UTC", start + 59_999) == start
    assert due_slot(TUESDAY_6PM, "UTC", start + 60_000) is None


def test_idleness() -> None:
    assert idle_action(None, True, 0) is None
    assert idle_action(5, True, 10) == "clear"
    assert idle_action(None, False, 10) == "mark"
    assert idle_action(10, False, 10 + IDLE_MS - 1) is None
    assert idle_action(10, False, 10 + IDLE_MS) == "end"


def test_a_seat_goes_to_the_present_or_to_a_free_place() -> None:
    assert may_take_seat([], "a", None)
    assert may_take_seat(["a"], "b", 2)
    assert not may_take_seat(["a", "b"], "c", 2)
    assert may_take_seat(["a", "b"], "b", 2)  # another socket of someone present


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ([{"weekday": -1, "start": "10:00", "minutes": 30}], "weekday"),
        ([{"weekday": 0, "start": "9:00", "minutes": 30}], "start"),
        ([{"weekday": 0, "start": "10:00", "minutes": 481}], "minutes"),
        ([{"weekday": 0, "start": "10:00", "minutes": 30, "x": 1}], "schedule[0]"),
        ([{"weekday": 0, "start": "10:00", "minutes": 30}] * 29, "28"),
    ],
)
def test_bad_schedules_are_named(value: object, field: str) -> None:
    with pytest.raises(SettingsError, match=field.replace("[", r"\[").replace("]", r"\]")):
        check_schedule(value)


@pytest.fixture
def plugged() -> Iterator[None]:
    """The session settings plugged in for one test, as a process's app does at start-up."""
    before = dict(PLUGGED_SETTINGS)
    register_settings()
    yield
    PLUGGED_SETTINGS.clear()
    PLUGGED_SETTINGS.update(before)


def test_settings_plug_into_rooms(plugged: None) -> None:
    room = RoomView(id="r", slug="group", title="Group")
    assert room.public()["entry"] == "always" and room.public()["schedule"] == []
    changed, diff = apply_settings(room, {"timezone": "Europe/Madrid", "max_participants": 8})
    assert diff == {"timezone": ["UTC", "Europe/Madrid"], "max_participants": [None, 8]}
    assert changed.public()["timezone"] == "Europe/Madrid"
    with pytest.raises(SettingsError):
        check_timezone("Europe/Nowhere")


def test_the_csv() -> None:
    row = {
        "user": {"id": "1", "username": "ana", "display_name": "=HYPERLINK(1)"},
        "role": "member",
        "first_joined": ms(2026, 12, 1, 18, 0, "UTC") + 5250,
        "last_left": None,
        "seconds_present": 61,
    }
    text = attendance_csv_text([row])
    lines = text.split("\r\n")
    assert lines[0] == ",".join(CSV_HEADER)
    assert lines[1] == "ana,'=HYPERLINK(1),member,2026-12-01T18:00:05Z,,61"
    assert csv_cell("-1") == "'-1" and csv_cell("Ana") == "Ana"
    assert iso_utc(None) == ""


def test_no_setting_of_the_server_can_move_its_clock() -> None:
    import time
    from pathlib import Path

    from server.sessions import clock

    assert abs(clock.now_ms() - time.time() * 1000) < 1000  # nothing installed: wall time
    package = Path(clock.__file__).resolve().parents[1]
    readers = [p for p in package.rglob("*.py") if "HEARTH_TEST_CLOCK_FILE" in p.read_text()]
    assert readers == []  # only tests/support/clocked_serve.py reads it
