"""Room settings (server/rooms/settings.py, PROTOCOL §2 `room`): validation and what
changed, without a server."""

from __future__ import annotations

from typing import Any

import pytest

from server.rooms.settings import (
    PLUGGED_SETTINGS,
    RoomView,
    SettingsError,
    apply_settings,
    slug_problem,
)

ROOM = RoomView("r1", "circle", "Circle")


@pytest.mark.parametrize("slug", ["ab", "circle-1", "0-day", "a" * 64])
def test_a_slug_of_lower_case_letters_digits_and_dashes_is_valid(slug: str) -> None:
    assert slug_problem(slug) is None


@pytest.mark.parametrize("slug", ["a", "-circle", "Circle", "a_b", "a" * 65, "", None, 5])
def test_other_slugs_are_refused_with_the_rule(slug: Any) -> None:
    assert slug_problem(slug) == "slug must be 2–64 of a-z 0-9 -, starting with a letter or digit"


def test_applied_settings_come_back_with_old_and_new_of_each_change() -> None:
    room, diff = apply_settings(ROOM, {"title": "Evening circle", "slow_mode_seconds": 30})
    assert (room.title, room.slow_mode_seconds) == ("Evening circle", 30)
    assert diff == {"title": ["Circle", "Evening circle"], "slow_mode_seconds": [0, 30]}


def test_a_setting_given_its_current_value_is_no_change() -> None:
    room, diff = apply_settings(ROOM, {"title": "Circle", "access": "open"})
    assert room == ROOM and diff == {}


def test_a_new_agreement_gets_a_new_version_so_everyone_accepts_it_again() -> None:
    room, _ = apply_settings(ROOM, {"agreement": "Be kind."})
    assert (room.agreement, room.agreement_version) == ("Be kind.", 1)
    room, _ = apply_settings(room, {"agreement": "Be kind."})
    assert room.agreement_version == 1
    room, _ = apply_settings(room, {"agreement": None})
    assert (room.agreement, room.agreement_version) == (None, 2)


def test_hearths_own_settings_are_kept_beside_the_contracts() -> None:
    room, diff = apply_settings(ROOM, {"blocked_terms": ["casino"], "contact_details": "hold"})
    assert room.extra == {"blocked_terms": ["casino"], "contact_details": "hold"}
    assert diff["blocked_terms"] == [[], ["casino"]]
    assert room.public()["contact_details"] == "hold"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": ""}, "title must be text of 1 to 200 characters"),
        ({"description": "x" * 5001}, "description must be text of 0 to 5000 characters"),
        ({"agreement": ""}, "agreement must be text of 1 to 20000 characters"),
        ({"crisis_resources_es": 5}, "crisis_resources_es must be text of 1 to 5000 characters"),
        ({"access": "secret"}, "access must be one of open, members, approval"),
        ({"transcripts": "on"}, "transcripts must be one of off, opt_in"),
        ({"transcript_readers": "all"}, "transcript_readers must be one of facilitators, members"),
        ({"retention_days": 0}, "retention_days must be from 1 to 36500"),
        ({"retention_days": True}, "retention_days must be an integer"),
        ({"slow_mode_seconds": 3601}, "slow_mode_seconds must be from 0 to 3600"),
        ({"max_message_chars": 1.5}, "max_message_chars must be an integer"),
        ({"resume_window_seconds": -1}, "resume_window_seconds must be from 0 to 3600"),
        ({"locked": 1}, "locked must be true or false"),
        ({"blocked_terms": [""]}, "blocked_terms must be a list of up to 500 short texts"),
        ({"blocked_terms": ["x"] * 501}, "blocked_terms must be a list of up to 500 short texts"),
        ({"contact_details": "block"}, "contact_details must be one of allow, warn, hold"),
        ({"hooks": "crisis"}, "hooks must be null or a list of hook names"),
        ({"colour": "red"}, "unknown setting: colour"),
        ({"id": "r2"}, "unknown setting: id"),
    ],
)
def test_a_bad_value_is_refused_naming_the_setting(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError) as refused:
        apply_settings(ROOM, changes)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    "changes",
    [
        {"agreement": None},
        {"retention_days": None},
        {"retention_days": 36500},
        {"hooks": None},
        {"hooks": ["crisis"]},
        {"description": ""},
    ],
)
def test_values_at_the_edges_are_accepted(changes: dict[str, Any]) -> None:
    room, _ = apply_settings(ROOM, changes)
    name, value = next(iter(changes.items()))
    assert room.public().get(name, room.extra.get(name)) == value


def test_a_plugged_in_setting_is_checked_by_its_part(monkeypatch: pytest.MonkeyPatch) -> None:
    def check(value: Any) -> Any:
        if not isinstance(value, int):
            raise SettingsError("max_seats must be a whole number")
        return value

    monkeypatch.setitem(PLUGGED_SETTINGS, "max_seats", (None, check))
    room, diff = apply_settings(ROOM, {"max_seats": 8})
    assert room.extra["max_seats"] == 8 and diff == {"max_seats": [None, 8]}
    with pytest.raises(SettingsError, match="max_seats must be a whole number"):
        apply_settings(ROOM, {"max_seats": "eight"})
