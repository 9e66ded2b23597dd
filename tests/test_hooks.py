"""Moderation hooks without a server: built-in matching, and the runner's order and failures."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.moderation.builtin import (
    CrisisLanguage,
    blocked_terms,
    contact_details,
    find_contact_details,
    load_phrases,
    normalize,
)
from server.moderation.hooks import (
    DEFAULT_ORDER,
    ConfiguredHook,
    HookRunner,
    load_hook,
    runner_from_config,
)
from server.moderation.verdicts import (
    Allow,
    Flag,
    Hold,
    MessageContext,
    Reject,
    Verdict,
)
from server.rooms.settings import DEFAULT_CRISIS_RESOURCES

CRISIS = CrisisLanguage(load_phrases(None))


def ctx(body: str, **settings: Any) -> MessageContext:
    return MessageContext(
        body,
        "u1",
        "Alice",
        "member",
        "room-1",
        {"crisis_resources": DEFAULT_CRISIS_RESOURCES, **settings},
    )


# -- crisis language ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "I want to die",
        "i WANT TO DIE",
        "I want   to\tdie",
        "I want\nto die",
        "sometimes I think I'd be better off dead.",
        "I might kill   myself",
        "(kill myself)",
        "I can’t go on",
        "I can't go on",
        "Self-Harm again",
        "self harm",
        "self‐harm",  # U+2010 hyphen
        "I've been SUICIDAL",
        "“I want to die”",
    ],
)
def test_crisis_language_is_found(body: str) -> None:
    assert CRISIS.matches(body)


@pytest.mark.parametrize(
    "body",
    [
        "skill myself up in Python",
        "I want to dine out",
        "they want to diet",
        "killmyselfie",
        "I can go on",
        "selfish harmony",
        "a suicidality scale",
        "",
    ],
)
def test_other_words_are_not_crisis_language(body: str) -> None:
    assert not CRISIS.matches(body)


async def test_crisis_hook_flags_protects_and_carries_the_rooms_resources() -> None:
    verdict = await CRISIS(ctx("I want to die", crisis_resources="Call 988, any time."))
    assert verdict == Flag("crisis language", notice_author="Call 988, any time.", protect=True)
    assert await CRISIS(ctx("a good day")) == Allow()


def test_normalize_straightens_quotes_and_spaces() -> None:
    assert normalize("Can’t  “Go”\t\nON") == 'can\'t "go" on'


def test_phrases_file_replaces_the_defaults(tmp_path: Any) -> None:
    path = tmp_path / "phrases.txt"
    path.write_text("# comment\n\nblue   moon\n", encoding="utf-8")
    assert load_phrases(path) == ["blue   moon"]
    crisis = CrisisLanguage(load_phrases(path))
    assert crisis.matches("once in a BLUE moon") and not crisis.matches("I want to die")
    assert "want to die" in load_phrases(None)


# -- blocked terms -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "blocked"),
    [
        ("you are a Noodle", True),
        ("NOODLE!", True),
        ("noodles", False),
        ("a noodlehead", False),
        ("what a wet   blanket", True),
        ("what a wet blanketing", False),
        ("fine words only", False),
    ],
)
async def test_blocked_terms_match_whole_words(body: str, blocked: bool) -> None:
    verdict = await blocked_terms(ctx(body, blocked_terms=["noodle", "wet blanket"]))
    if blocked:
        assert isinstance(verdict, Reject) and verdict.reason
    else:
        assert verdict == Allow()


async def test_no_blocked_terms_allows_everything() -> None:
    assert await blocked_terms(ctx("noodle")) == Allow()
    assert await blocked_terms(ctx("noodle", blocked_terms=[])) == Allow()


# -- contact details ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "write to jo.smith+group@example.co.uk",
        "me@mail.example.org",
        "call 555-123-4567",
        "call (555) 123 4567 tonight",
        "+44 20 7946 0958",
        "555.123.4567",
        "my number is 5551234567",
        "text me on 555 1234",
    ],
)
def test_contact_details_are_found(body: str) -> None:
    assert find_contact_details(body)


@pytest.mark.parametrize(
    "body",
    [
        "see you in room 12",
        "it was 2019",
        "back in 1999 and 2004",
        "sober 2019-2024",
        "on 2024-01-15 at 10:30",
        "3 kids and 12 cats",
        "code 12345",
        "twitter @someone",
        "an email@ address",
        "",
    ],
)
def test_short_numbers_years_and_dates_are_not_contact_details(body: str) -> None:
    assert not find_contact_details(body)


async def test_contact_details_policy() -> None:
    body = "call me 555-123-4567"
    assert await contact_details(ctx(body)) == Allow()
    assert await contact_details(ctx(body, contact_details="allow")) == Allow()
    held = await contact_details(ctx(body, contact_details="hold"))
    assert isinstance(held, Hold) and held.reason
    warned = await contact_details(ctx(body, contact_details="warn"))
    assert isinstance(warned, Flag) and warned.notice_author and not warned.protect
    assert await contact_details(ctx("no numbers here", contact_details="hold")) == Allow()


# -- the runner --------------------------------------------------------------------------


class Calls:
    """Hooks that record being called and answer fixed verdicts."""

    def __init__(self) -> None:
        self.called: list[str] = []

    def hook(self, name: str, verdict: Verdict) -> ConfiguredHook:
        async def run(_: MessageContext) -> Verdict:
            self.called.append(name)
            return verdict

        return ConfiguredHook(name, run)


async def test_hooks_run_in_order_and_flags_accumulate() -> None:
    calls = Calls()
    runner = HookRunner(
        [
            calls.hook("a", Allow()),
            calls.hook("b", Flag("b")),
            calls.hook("c", Flag("c")),
        ]
    )
    outcome = await runner.run(ctx("hi"))
    assert calls.called == ["a", "b", "c"]
    assert outcome.stop is None and outcome.stopped_by is None
    assert [(name, flag.reason) for name, flag in outcome.flags] == [("b", "b"), ("c", "c")]
    assert not outcome.protected


async def test_first_reject_or_hold_stops_the_rest() -> None:
    calls = Calls()
    runner = HookRunner(
        [
            calls.hook("flag", Flag("f")),
            calls.hook("hold", Hold("h")),
            calls.hook("reject", Reject("r")),
        ]
    )
    outcome = await runner.run(ctx("hi"))
    assert calls.called == ["flag", "hold"]
    assert outcome.stop == Hold("h") and outcome.stopped_by == "hold"
    assert [name for name, _ in outcome.flags] == ["flag"]

    calls = Calls()
    runner = HookRunner([calls.hook("reject", Reject("r")), calls.hook("hold", Hold("h"))])
    outcome = await runner.run(ctx("hi"))
    assert outcome.stop == Reject("r") and calls.called == ["reject"]


async def test_a_protecting_flag_turns_later_stops_into_flags() -> None:
    calls = Calls()
    runner = HookRunner(
        [
            calls.hook("crisis", Flag("crisis language", "988", protect=True)),
            calls.hook("reject", Reject("rude")),
            calls.hook("hold", Hold("contact")),
        ]
    )
    outcome = await runner.run(ctx("hi"))
    assert calls.called == ["crisis", "reject", "hold"]
    assert outcome.stop is None and outcome.protected
    assert [(n, f.reason) for n, f in outcome.flags] == [
        ("crisis", "crisis language"),
        ("reject", "rude (delivered: crisis)"),
        ("hold", "contact (delivered: crisis)"),
    ]
    # The downgraded ones send the author nothing: only crisis has a notice.
    assert [f.notice_author for _, f in outcome.flags] == ["988", None, None]


async def test_an_unprotecting_flag_does_not_save_a_message() -> None:
    calls = Calls()
    runner = HookRunner([calls.hook("warn", Flag("w")), calls.hook("reject", Reject("r"))])
    outcome = await runner.run(ctx("hi"))
    assert outcome.stop == Reject("r")


def _failing(name: str, how: str, fail_open: bool, timeout: float = 0.05) -> ConfiguredHook:
    async def run(_: MessageContext) -> Verdict:
        if how == "raise":
            raise ValueError("bug")
        if how == "sleep":
            await asyncio.sleep(10)
        if how == "boolean":
            return True  # type: ignore[return-value]
        return Allow()

    return ConfiguredHook(name, run, timeout, fail_open)


@pytest.mark.parametrize("how", ["raise", "sleep", "boolean"])
async def test_a_failing_hook_fails_closed(how: str) -> None:
    calls = Calls()
    runner = HookRunner([_failing("bad", how, fail_open=False), calls.hook("after", Allow())])
    loop = asyncio.get_running_loop()
    start = loop.time()
    outcome = await runner.run(ctx("hi"))
    assert loop.time() - start < 2
    assert isinstance(outcome.stop, Reject) and outcome.stopped_by == "bad"
    assert "could not be checked" in outcome.stop.reason
    assert calls.called == []


@pytest.mark.parametrize("how", ["raise", "sleep", "boolean"])
async def test_a_failing_fail_open_hook_lets_the_message_through(how: str) -> None:
    calls = Calls()
    runner = HookRunner([_failing("bad", how, fail_open=True), calls.hook("after", Flag("x"))])
    outcome = await runner.run(ctx("hi"))
    assert outcome.stop is None
    assert calls.called == ["after"] and [n for n, _ in outcome.flags] == ["after"]


async def test_time_limit_is_the_hooks_own() -> None:
    runner = HookRunner([_failing("slow", "sleep", fail_open=True, timeout=0.2)])
    loop = asyncio.get_running_loop()
    start = loop.time()
    await runner.run(ctx("hi"))
    assert 0.15 < loop.time() - start < 2


async def test_a_failing_hook_after_crisis_cannot_silence_it() -> None:
    runner = HookRunner(
        [
            ConfiguredHook("crisis", CRISIS, fail_open=True),
            _failing("bad", "raise", fail_open=False),
        ]
    )
    outcome = await runner.run(ctx("I want to die"))
    assert outcome.stop is None
    assert [n for n, _ in outcome.flags] == ["crisis", "bad"]


async def test_crisis_runs_first_wherever_it_is_placed() -> None:
    runner = HookRunner(
        [
            _failing("bad", "raise", fail_open=False),
            ConfiguredHook("blocked_terms", blocked_terms),
            ConfiguredHook("crisis", CRISIS, fail_open=True),
        ]
    )
    outcome = await runner.run(ctx("I want to die, noodle", blocked_terms=["noodle"]))
    assert outcome.stop is None
    assert [n for n, _ in outcome.flags] == ["crisis", "bad", "blocked_terms"]
    room_order = await runner.run(
        ctx("noodle: I want to die", blocked_terms=["noodle"]), only=["blocked_terms", "crisis"]
    )
    assert room_order.stop is None and room_order.protected
    plain = await runner.run(ctx("noodle", blocked_terms=["noodle"]), only=["blocked_terms"])
    assert isinstance(plain.stop, Reject) and plain.stopped_by == "blocked_terms"


async def test_a_rooms_subset_runs_in_its_order_with_crisis_always_on() -> None:
    calls = Calls()
    runner = HookRunner(
        [
            calls.hook("crisis", Allow()),
            calls.hook("a", Allow()),
            calls.hook("b", Allow()),
            calls.hook("c", Allow()),
        ]
    )
    await runner.run(ctx("hi"), only=["c", "a", "unknown"])
    assert calls.called == ["crisis", "c", "a"]
    calls.called.clear()
    await runner.run(ctx("hi"), only=["b", "crisis"])
    assert calls.called == ["crisis", "b"]
    calls.called.clear()
    await runner.run(ctx("hi"), only=[])
    assert calls.called == ["crisis"]


async def test_standard_runner_built_ins() -> None:
    runner = runner_from_config((), CRISIS, 2.0, ())
    assert runner.order == list(DEFAULT_ORDER)
    rude = await runner.run(ctx("you noodle", blocked_terms=["noodle"]))
    assert isinstance(rude.stop, Reject) and rude.stopped_by == "blocked_terms"
    # Crisis first, so a crisis message using a blocked term is delivered and flagged.
    both = await runner.run(ctx("I want to die, noodle", blocked_terms=["noodle"]))
    assert both.stop is None
    assert [n for n, _ in both.flags] == ["crisis", "blocked_terms"]
    held = await runner.run(ctx("555-123-4567", contact_details="hold"))
    assert isinstance(held.stop, Hold) and held.stopped_by == "contact_details"


def test_runner_from_config_loads_hooks_and_puts_crisis_first() -> None:
    runner = runner_from_config(
        ("tests.support.hooks:explodes", "blocked_terms", "tests.support.hooks:sleeps"),
        CRISIS,
        0.5,
        ("tests.support.hooks:sleeps",),
    )
    assert runner.order == [
        "crisis",
        "tests.support.hooks:explodes",
        "blocked_terms",
        "tests.support.hooks:sleeps",
    ]
    explodes = runner.hooks["tests.support.hooks:explodes"]
    sleeps = runner.hooks["tests.support.hooks:sleeps"]
    assert (explodes.timeout, explodes.fail_open) == (0.5, False)
    assert (sleeps.timeout, sleeps.fail_open) == (0.5, True)
    placed = runner_from_config(("blocked_terms", "crisis"), CRISIS, 1.0, ())
    assert placed.order == ["blocked_terms", "crisis"]


def test_bad_hook_configuration_is_refused() -> None:
    with pytest.raises(ValueError):
        runner_from_config(("no_such_builtin",), CRISIS, 1.0, ())
    with pytest.raises(ValueError):
        load_hook("tests.support.hooks")
    with pytest.raises(AttributeError):
        load_hook("tests.support.hooks:missing")
    with pytest.raises(TypeError):
        load_hook("tests.support.hooks:__all__")



async def test_the_built_in_hooks_run_without_a_timer_and_operators_hooks_with_one() -> None:
    built_in = runner_from_config((), CRISIS, 0.05, ())
    assert {name: hook.timed for name, hook in built_in.hooks.items()} == {
        "crisis": False,
        "blocked_terms": False,
        "contact_details": False,
    }
    operators = runner_from_config(("tests.support.hooks:sleeps",), CRISIS, 0.05, ())
    assert operators.hooks["tests.support.hooks:sleeps"].timed


@pytest.mark.parametrize("timed", [True, False])
async def test_only_a_timed_hook_is_cut_off_by_its_timeout(timed: bool) -> None:
    async def slow(_: MessageContext) -> Verdict:
        await asyncio.sleep(0.05)
        return Flag("slow")

    runner = HookRunner([ConfiguredHook("slow", slow, 0.01, timed=timed)])
    outcome = await runner.run(ctx("hi"))
    if timed:
        assert isinstance(outcome.stop, Reject) and outcome.flags == []
    else:
        assert outcome.stop is None and [name for name, _ in outcome.flags] == ["slow"]
