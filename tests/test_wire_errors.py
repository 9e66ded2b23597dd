"""The two refusal values of the wire layer: a refused frame and a closed socket (pure)."""

from __future__ import annotations

import orjson

from server.wire.errors import Close, Refuse


def test_a_refused_frame_becomes_one_error_frame_with_only_the_fields_given() -> None:
    assert orjson.loads(Refuse("locked", "room is locked").frame()) == {
        "type": "error",
        "code": "locked",
        "message": "room is locked",
    }
    full = Refuse("rejected", "not allowed", "r1", 2.5, "spam").frame()
    assert orjson.loads(full) == {
        "type": "error",
        "code": "rejected",
        "message": "not allowed",
        "ref": "r1",
        "retry_after": 2.5,
        "reason": "spam",
    }


def test_a_refusal_answers_the_ref_of_the_frame_it_refuses() -> None:
    refusal = Refuse("slow_mode", "slow mode is on", retry_after=3.0)
    answered = refusal.answering("abc")
    assert answered.ref == "abc" and answered.retry_after == 3.0 and refusal.ref is None
    assert answered.answering("abc") is answered


def test_a_close_is_its_code_and_reason() -> None:
    close = Close(4403, "not allowed in this room")
    code, reason = close
    assert (code, reason) == (4403, "not allowed in this room")
    assert close.code == 4403 and close.reason == reason
