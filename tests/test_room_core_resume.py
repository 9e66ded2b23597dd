"""Resume and gap (server/rooms/resume.py, PROTOCOL §3 Resume), without a server. What an
`end` does to a resume is in test_promise_rules.py."""

from __future__ import annotations

import pytest

from server.broker.base import WindowRead
from server.rooms.resume import parse_after_seq, resume_history


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        (None, None),
        ("0", 0),
        ("42", 42),
        ("123456789012345678", 123456789012345678),  # 18 digits: still a number
        ("1234567890123456789", "1234567890123456789"),  # 19: kept as text (a gap)
        ("-1", "-1"),
        ("4.0", "4.0"),
        ("", ""),
        ("٣", "٣"),  # a digit, but not an ASCII one
    ],
)
def test_after_seq_is_a_whole_number_or_kept_as_the_text_given(
    raw: str | None, parsed: int | str | None
) -> None:
    assert parse_after_seq(raw) == parsed


WINDOW = WindowRead("e1", 10, [(8, "m8"), (9, "m9"), (10, "m10")], floor=7)


def test_a_first_entry_without_after_seq_gets_no_history_and_no_gap() -> None:
    assert resume_history(None, None, WINDOW, first_seq=0) == ([], False)


def test_resuming_within_the_window_gets_what_came_after_and_no_gap() -> None:
    assert resume_history(8, "e1", WINDOW, first_seq=0) == (["m9", "m10"], False)
    assert resume_history(7, None, WINDOW, first_seq=0) == (["m8", "m9", "m10"], False)


def test_resuming_with_everything_seen_gets_nothing_and_no_gap() -> None:
    assert resume_history(10, "e1", WINDOW, first_seq=0) == ([], False)


def test_resuming_from_before_the_window_is_a_gap_with_what_is_kept() -> None:
    assert resume_history(3, "e1", WINDOW, first_seq=0) == (["m8", "m9", "m10"], True)


def test_resuming_in_another_epoch_is_a_gap_with_nothing() -> None:
    assert resume_history(8, "e0", WINDOW, first_seq=0) == ([], True)


@pytest.mark.parametrize("after_seq", [11, -1, "abc", "1234567890123456789"])
def test_a_seq_the_room_never_had_is_a_gap_with_nothing(after_seq: int | str) -> None:
    assert resume_history(after_seq, "e1", WINDOW, first_seq=0) == ([], True)


def test_when_nothing_is_kept_any_unseen_message_is_a_gap() -> None:
    empty = WindowRead("e1", 10, [], floor=-1)
    assert resume_history(9, "e1", empty, first_seq=0) == ([], True)
    assert resume_history(10, "e1", empty, first_seq=0) == ([], False)


def test_nothing_from_before_the_first_entry_is_resent() -> None:
    assert resume_history(7, "e1", WINDOW, first_seq=9) == (["m10"], False)
