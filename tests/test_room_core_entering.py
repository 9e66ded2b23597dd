"""Entering a room as a state machine (server/rooms/entering.py): every path from the
handshake to `welcome`, driven directly with no event loop and no socket."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from server.rooms.entering import (
    AskCheck,
    AskGate,
    Enter,
    Entering,
    Listen,
    Recheck,
    Reply,
    StoreAcceptance,
    agreement_due,
)
from server.rooms.settings import RoomView
from server.wire.errors import Close, Refuse

AGREEMENT = "Be kind. What is said here stays here."


def sent(entering: Entering) -> list[object]:
    """The replies as the client would read them (error frames decoded too)."""
    return [
        orjson.loads(r.frame if isinstance(r, Reply) else r.frame()) for r in entering.replies()
    ]


# -- the way through when nothing holds the socket --------------------------------------


def test_with_no_gates_no_agreement_and_no_checks_the_socket_is_welcomed_at_once() -> None:
    entering = Entering(0, 0, 0, None)
    assert entering.start() == Enter()
    assert entering.replies() == []
    assert not entering.waited


def test_gates_that_let_through_at_once_lead_to_welcome_without_a_recheck() -> None:
    entering = Entering(2, 1, 0, None)
    assert entering.start() == AskGate("arrival", 0)
    assert entering.answered(None) == AskGate("arrival", 1)
    assert entering.answered(None) == AskGate("admission", 0)
    assert entering.answered(None) == Enter()
    assert not entering.waited


def test_entry_checks_run_in_order_just_before_welcome() -> None:
    entering = Entering(1, 0, 2, None)
    entering.start()
    assert entering.answered(None) == AskCheck(0)
    assert entering.checked(None) == AskCheck(1)
    assert entering.checked(None) == Enter()


def test_an_entry_check_that_refuses_closes_the_socket_with_its_code() -> None:
    entering = Entering(0, 0, 2, None)
    assert entering.start() == AskCheck(0)
    assert entering.checked(Close(4409, "the room is full")) == Close(4409, "the room is full")


# -- gates --------------------------------------------------------------------------------


def test_a_gate_that_closes_ends_entering_with_its_code_and_reason() -> None:
    entering = Entering(2, 0, 1, None)
    entering.start()
    assert entering.answered(Close(4403, "not yet")) == Close(4403, "not yet")


def test_a_gate_that_waits_is_asked_again_once_its_event_is_set() -> None:
    opened = asyncio.Event()
    entering = Entering(2, 0, 0, None)
    entering.start()
    assert entering.answered(None) == AskGate("arrival", 1)
    assert entering.answered(opened) == Listen(opened)
    assert entering.waited
    assert entering.event_set() == AskGate("arrival", 1)
    # The same gate may make the socket wait again (e.g. a session closed meanwhile).
    assert entering.answered(opened) == Listen(opened)
    assert entering.event_set() == AskGate("arrival", 1)


def test_having_waited_at_a_gate_the_handshake_is_checked_again_before_entering() -> None:
    opened = asyncio.Event()
    entering = Entering(1, 0, 1, None)
    entering.start()
    entering.answered(opened)
    entering.event_set()
    assert entering.answered(None) == Recheck()
    assert entering.rechecked(None) == AskCheck(0)


def test_the_waiting_room_is_an_admission_gate_after_the_agreement() -> None:
    admitted = asyncio.Event()
    entering = Entering(1, 1, 0, AGREEMENT)
    assert entering.start() == AskGate("arrival", 0)
    assert entering.answered(None) == Listen()  # the agreement first
    entering.replies()
    assert entering.received('{"type":"accept_agreement"}') == StoreAcceptance()
    assert entering.stored() == AskGate("admission", 0)
    assert entering.answered(admitted) == Listen(admitted)
    assert entering.event_set() == AskGate("admission", 0)
    assert entering.answered(None) == Recheck()
    assert entering.rechecked(None) == Enter()


# -- the agreement ------------------------------------------------------------------------


def test_an_agreement_not_yet_accepted_is_sent_and_entering_waits_for_its_acceptance() -> None:
    entering = Entering(0, 0, 0, AGREEMENT)
    assert entering.start() == Listen()
    assert sent(entering) == [{"type": "agreement_required", "agreement": AGREEMENT}]
    assert entering.received('{"type":"accept_agreement","ref":"a"}') == StoreAcceptance()
    assert entering.replies() == []


def test_after_accepting_the_agreement_the_handshake_is_checked_again() -> None:
    entering = Entering(0, 0, 1, AGREEMENT)
    entering.start()
    entering.received('{"type":"accept_agreement"}')
    assert entering.stored() == Recheck()
    assert entering.rechecked(None) == AskCheck(0)


def test_accept_agreement_while_a_gate_holds_the_socket_is_ignored_without_an_answer() -> None:
    opened = asyncio.Event()
    entering = Entering(1, 0, 0, AGREEMENT)
    entering.start()
    entering.answered(opened)
    assert entering.received('{"type":"accept_agreement"}') == Listen(opened)
    assert entering.replies() == []


@pytest.mark.parametrize(
    ("agreement", "version", "accepted", "due"),
    [
        (None, 0, None, None),
        (AGREEMENT, 2, None, AGREEMENT),
        (AGREEMENT, 2, 1, AGREEMENT),
        (AGREEMENT, 2, 2, None),
    ],
)
def test_the_agreement_is_due_until_its_current_version_is_accepted(
    agreement: str | None, version: int, accepted: int | None, due: str | None
) -> None:
    view = RoomView("r1", "circle", "Circle", agreement=agreement, agreement_version=version)
    assert agreement_due(view, accepted) == due


# -- frames before welcome ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pong"),
    [
        ('{"type":"ping","ref":"p1"}', {"type": "pong", "ref": "p1"}),
        ('{"type":"ping"}', {"type": "pong"}),
    ],
)
def test_a_ping_before_welcome_is_answered_with_pong(text: str, pong: object) -> None:
    entering = Entering(0, 0, 0, AGREEMENT)
    entering.start()
    entering.replies()
    assert entering.received(text) == Listen()
    assert sent(entering) == [pong]


def test_any_other_frame_before_welcome_is_forbidden_and_reaches_nobody() -> None:
    opened = asyncio.Event()
    entering = Entering(1, 0, 0, None)
    entering.start()
    entering.answered(opened)
    assert entering.received('{"type":"send","body":"hello","ref":"s1"}') == Listen(opened)
    assert entering.received(None) == Listen(opened)  # a binary frame
    assert entering.replies() == [
        Refuse("forbidden", "you have not entered the room yet", "s1"),
        Refuse("forbidden", "you have not entered the room yet", None),
    ]


def test_a_malformed_frame_before_welcome_gets_its_decoding_error() -> None:
    entering = Entering(0, 0, 0, AGREEMENT)
    entering.start()
    entering.replies()
    entering.received("not json")
    entering.received('{"type":"send","ref":"s2"}')
    first, second = entering.replies()
    assert isinstance(first, Refuse) and isinstance(second, Refuse)
    assert (first.code, first.ref) == ("invalid", None)
    assert (second.code, second.ref) == ("invalid", "s2")


# -- the re-check -------------------------------------------------------------------------


def _at_recheck() -> Entering:
    entering = Entering(0, 0, 0, AGREEMENT)
    entering.start()
    entering.received('{"type":"accept_agreement"}')
    assert entering.stored() == Recheck()
    return entering


def test_a_recheck_finding_no_session_closes_with_signed_out() -> None:
    assert _at_recheck().rechecked(Close(4401, "sign in first")) == Close(4401, "signed out")


def test_a_recheck_refusal_keeps_its_own_code_and_reason() -> None:
    refused = Close(4403, "not allowed in this room")
    assert _at_recheck().rechecked(refused) == refused


def test_a_recheck_under_another_session_closes_with_signed_out() -> None:
    assert _at_recheck().rechecked(None, same_session=False) == Close(4401, "signed out")


# -- misuse by the connection loop --------------------------------------------------------


def test_feeding_what_was_not_asked_is_a_bug_and_raises() -> None:
    entering = Entering(1, 0, 0, None)
    with pytest.raises(RuntimeError):
        entering.answered(None)  # not started
    entering.start()
    with pytest.raises(RuntimeError):
        entering.start()
    with pytest.raises(RuntimeError):
        entering.received('{"type":"ping"}')  # asking a gate, not listening
    with pytest.raises(RuntimeError):
        entering.rechecked(None)
    entering.answered(None)
    assert entering.action == Enter()
    with pytest.raises(RuntimeError):
        entering.checked(None)


def test_the_agreement_step_has_no_event_to_be_set() -> None:
    entering = Entering(0, 0, 0, AGREEMENT)
    entering.start()
    with pytest.raises(RuntimeError):
        entering.event_set()
