"""Frame limits (server/rooms/limits.py, PROTOCOL §3) with an injected clock, without a
server: the token bucket, the send window, the error budget and sockets per user."""

from __future__ import annotations

import pytest

from server.config import Limits
from server.rooms.limits import SendWindow, SocketLimits, UserSockets

LIMITS = Limits(
    frames_per_second=2.0,
    frame_burst=3,
    sends_per_window=2,
    send_window_seconds=10.0,
    error_frames_before_close=3,
    error_window_seconds=60.0,
)


def test_a_burst_of_frames_passes_then_the_next_waits_for_a_token() -> None:
    limits = SocketLimits(LIMITS, now=100.0)
    assert [limits.frame(100.0) for _ in range(3)] == [None, None, None]
    assert limits.frame(100.0) == pytest.approx(0.5)  # one token per 1/2 s


def test_frame_tokens_come_back_with_time_up_to_the_burst() -> None:
    limits = SocketLimits(LIMITS, now=0.0)
    for _ in range(3):
        limits.frame(0.0)
    assert limits.frame(0.5) is None  # one token back after half a second
    assert limits.frame(0.5) is not None
    # A long silence refills no more than the burst.
    assert [limits.frame(1000.0) for _ in range(4)][-1] is not None


def test_sends_beyond_the_window_wait_until_the_oldest_leaves_it() -> None:
    limits = SocketLimits(LIMITS, now=0.0)
    assert limits.send(0.0) is None
    assert limits.send(4.0) is None
    assert limits.send(6.0) == pytest.approx(4.0)  # the first leaves the window at 10
    assert limits.send(10.0) is None


def test_a_refused_send_does_not_count_against_the_window() -> None:
    limits = SocketLimits(LIMITS, now=0.0)
    limits.send(0.0)
    limits.send(1.0)
    for t in (2.0, 3.0, 4.0):
        assert limits.send(t) is not None
    assert limits.send(10.0) is None
    assert limits.send(11.0) is None


def test_sockets_sharing_a_send_window_share_its_sends() -> None:
    shared = SendWindow()
    one, two = SocketLimits(LIMITS, 0.0, shared), SocketLimits(LIMITS, 0.0, shared)
    assert one.send(0.0) is None
    assert two.send(1.0) is None
    assert one.send(2.0) is not None
    assert two.send(2.0) is not None


def test_the_error_budget_closes_at_its_count_within_the_window() -> None:
    limits = SocketLimits(LIMITS, now=0.0)
    assert [limits.error(t) for t in (0.0, 1.0, 2.0)] == [False, False, True]


def test_errors_older_than_the_window_are_forgotten() -> None:
    limits = SocketLimits(LIMITS, now=0.0)
    limits.error(0.0)
    limits.error(1.0)
    assert limits.error(60.5) is False  # the one at 0 left the window
    assert limits.error(60.9) is True  # the one at 1 still counts


def test_a_user_opens_at_most_cap_sockets_until_one_closes() -> None:
    sockets = UserSockets(cap=2)
    assert sockets.open("u1", "circle") is not None
    assert sockets.open("u1", "other") is not None
    assert sockets.open("u1", "circle") is None
    assert sockets.open("u2", "circle") is not None  # the cap is per user
    sockets.close("u1", "other")
    assert sockets.open("u1", "circle") is not None


def test_a_users_sockets_in_one_room_share_one_send_window() -> None:
    sockets = UserSockets(cap=5)
    first = sockets.open("u1", "circle")
    assert sockets.open("u1", "circle") is first
    assert sockets.open("u1", "other") is not first
    assert sockets.open("u2", "circle") is not first


def test_the_send_window_lives_while_any_of_the_users_sockets_in_the_room_is_open() -> None:
    sockets = UserSockets(cap=5)
    window = sockets.open("u1", "circle")
    assert window is not None
    assert SocketLimits(LIMITS, 0.0, window).send(1.0) is None
    sockets.open("u1", "circle")
    sockets.close("u1", "circle")
    assert sockets.open("u1", "circle") is window  # one socket was still open
    assert window.times is not None and list(window.times) == [1.0]
    sockets.close("u1", "circle")
    sockets.close("u1", "circle")
    fresh = sockets.open("u1", "circle")  # all closed: a fresh window
    assert fresh is not window and fresh is not None and fresh.times is None


def test_a_socket_that_never_sends_keeps_no_send_times() -> None:
    window = UserSockets(cap=5).open("u1", "circle")
    assert window is not None
    limits = SocketLimits(LIMITS, 0.0, window)
    assert limits.frame(0.0) is None and limits.error(0.0) is False
    assert window.times is None  # created by the first send only
