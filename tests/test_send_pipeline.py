"""The send pipeline's declared order and its step verdicts, on the in-memory room log."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import pytest

from server.broker.memory import MemoryCounters, MemoryPubSub, MemoryRoomLog
from server.moderation.actions import ON_PERSON, ON_REVIEW, ROOM_WIDE, Actions
from server.moderation.mutes import Mutes
from server.moderation.state import ModerationState
from server.rooms.hub import Conn
from server.rooms.send_rules import BodyCheck, RoomRules
from server.rooms.sending import PASS, SEND_STEPS, Draft, Held, SendPipeline, Verdict
from server.rooms.settings import RoomView
from server.sealing import Sealer
from server.wire.errors import Refuse


@dataclass
class Step:
    """A step that notes when it ran and answers a fixed verdict."""

    name: str
    ran: list[str]
    verdict: Verdict = field(default_factory=lambda: PASS)

    async def __call__(self, draft: Draft) -> Verdict:
        self.ran.append(self.name)
        return self.verdict


def pipeline() -> SendPipeline:
    return SendPipeline(MemoryRoomLog(MemoryPubSub()), lambda slug: None, lambda s, a: None)


def draft(body: str = "hello", role: str = "member", **room: object) -> Draft:
    conn = Conn("c1", "room", "u1", "alice", "Alice", False, role, "s", 8)
    view = RoomView(id="r1", slug="room", title="T", **room)  # type: ignore[arg-type]
    return Draft(conn, view, body, "ref-1")


def test_the_pipeline_order_is_declared_once() -> None:
    assert SEND_STEPS == ("body", "mute", "permissions", "moderation", "record")


async def test_steps_run_in_the_declared_order_whatever_order_they_were_placed_in() -> None:
    ran: list[str] = []
    sending = pipeline()
    for slot in reversed(SEND_STEPS):
        sending.place(slot, Step(slot, ran))
    result = await sending.run(draft())
    assert ran == list(SEND_STEPS)
    assert not isinstance(result, Refuse | Held) and result.seq == 1
    assert sending.steps == list(SEND_STEPS)


async def test_the_first_step_that_does_not_pass_stops_the_message() -> None:
    ran: list[str] = []
    sending = pipeline()
    refusal = Refuse("muted", "a facilitator has muted you for now")
    sending.place("record", Step("record", ran))
    sending.place("mute", Step("mute", ran, refusal))
    sending.place("body", Step("body", ran))
    assert await sending.run(draft()) is refusal
    assert ran == ["body", "mute"]
    held = pipeline()
    held.place("moderation", Step("moderation", ran, Held()))
    assert isinstance(await held.run(draft()), Held)


def test_a_slot_is_one_of_the_declared_ones_and_taken_once() -> None:
    sending = pipeline()
    sending.place("body", BodyCheck())
    with pytest.raises(ValueError, match="already taken"):
        sending.place("body", BodyCheck())
    with pytest.raises(ValueError, match="no such pipeline slot"):
        sending.place("afterwards", BodyCheck())


async def test_the_body_rules_refuse_an_empty_or_long_body() -> None:
    check = BodyCheck()
    assert await check(draft("hi")) == PASS
    empty = await check(draft("   "))
    assert isinstance(empty, Refuse) and empty.code == "invalid"
    long = await check(draft("x" * 5000, max_message_chars=10))
    assert isinstance(long, Refuse) and long.code == "too_long"


async def test_a_locked_room_refuses_members_but_not_facilitators_or_approved_messages() -> None:
    log = MemoryRoomLog(MemoryPubSub())
    rules = RoomRules({}, log)
    locked = await rules(draft(locked=True))
    assert isinstance(locked, Refuse) and locked.code == "locked"
    assert await rules(draft(role="facilitator", locked=True)) == PASS
    approved = draft(locked=True)
    approved.approved = True
    assert await rules(approved) == PASS


def test_every_facilitator_action_has_one_handler() -> None:
    actions = Actions(None, None, None, None, None)  # type: ignore[arg-type]
    assert actions.names == ROOM_WIDE | ON_PERSON | ON_REVIEW


class _Live:
    """The one thing the mute cache asks the rooms: whether a room is live here."""

    def __init__(self, live: bool) -> None:
        self.live = live

    def is_live(self, slug: str) -> bool:
        return self.live


async def test_a_mute_binds_facilitators_too_and_its_events_keep_the_cache_true() -> None:
    state = ModerationState(MemoryCounters(), Sealer({"k": secrets.token_bytes(32)}, "k"))
    mutes = Mutes(_Live(True), state)  # type: ignore[arg-type]
    assert await mutes(draft(role="facilitator")) == PASS  # read and cached: nobody muted
    await state.mute("room", "u1", None)
    mutes.changed("room", "mute", "u1", None)  # the `mod` event every process applies
    refused = await mutes(draft(role="facilitator"))
    assert isinstance(refused, Refuse) and refused.code == "muted"
    approved = draft()
    approved.approved = True
    assert await mutes(approved) == PASS
    assert await mutes.you_fields(approved.conn, approved.room) == {
        "muted": True,
        "muted_until": None,
    }
    mutes.changed("room", "unmute", "u1", None)
    assert await mutes(draft()) == PASS  # the cache, not the (still muted) state, answered
    mutes.forget_room("room")
    assert isinstance(await mutes(draft()), Refuse)  # read afresh
