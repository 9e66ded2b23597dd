"""Pure rules behind the README's guarantees: resume across an `end`, the presence bound,
and a database refusing connections."""

from __future__ import annotations

import pytest

from server.broker.base import WindowRead
from server.config import Settings
from server.rooms.resume import resume_history

# -- `end`, then resume (PROTOCOL §3 Resume) -----------------------------------------------


def test_resuming_from_before_an_end_is_a_gap() -> None:
    # Seq 5 when the facilitator ended the session: the window was cleared (none kept).
    ended = WindowRead("e1", 5, [], -1, ended=5)
    # The user comes back with the seq they had seen before the end; they entered anew,
    # so their first entry since the end is 5.
    assert resume_history(3, "e1", ended, first_seq=5) == ([], True)
    # Having seen everything before the end, nothing was missed.
    assert resume_history(5, "e1", ended, first_seq=5) == ([], False)


def test_resuming_from_before_an_end_with_newer_messages_kept_is_a_gap() -> None:
    window = WindowRead("e1", 7, [(6, "m6"), (7, "m7")], 5, ended=5)
    # Entered after 6 and 7 were said: those are withheld (not a gap), but what the end
    # cleared after A=3 is.
    assert resume_history(3, "e1", window, first_seq=7) == ([], True)
    # A member present since the end resumes normally.
    assert resume_history(6, "e1", window, first_seq=5) == (["m7"], False)


def test_withheld_messages_alone_are_no_gap() -> None:
    window = WindowRead("e1", 9, [(8, "m8"), (9, "m9")], 7)
    assert resume_history(0, "e1", window, first_seq=9) == ([], False)
    assert resume_history(0, "e1", window, first_seq=0) == (["m8", "m9"], True)


# -- the presence bound (PROTOCOL §3 presence: `left` within 30 s if its process dies) ------


@pytest.mark.parametrize("bound", [30.0, 3.0, 1.2])
def test_presence_timing_adds_up_to_the_bound(bound: float) -> None:
    settings = Settings(presence_ttl_seconds=bound)
    # An entry outlives its last heartbeat by the TTL; the next sweep comes within one
    # interval: the worst case after a process dies right after a heartbeat is the bound.
    assert settings.presence_entry_ttl + settings.presence_interval == pytest.approx(bound)
    # A live socket's entry survives missed heartbeats.
    assert settings.presence_entry_ttl >= 4 * settings.presence_interval


def test_default_presence_bound_is_the_contracts() -> None:
    settings = Settings()
    assert settings.presence_ttl_seconds == 30
    assert (settings.presence_entry_ttl, settings.presence_interval) == (25, 5)


# -- the database refusing connections is unavailable, not a bug ------------------------------


def test_a_database_error_while_connecting_is_a_dependency_failure() -> None:
    from sqlalchemy.exc import DBAPIError

    from server.ops.dependencies import dependency_failed

    refused = DBAPIError(None, None, Exception("not currently accepting connections"))
    assert dependency_failed(refused)
    in_sql = DBAPIError("SELECT broken", {}, Exception("syntax error"))
    assert not dependency_failed(in_sql)
