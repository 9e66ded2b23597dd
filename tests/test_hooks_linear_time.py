"""Built-in moderation hooks take time linear in the body: no pattern backtracks over
member text (a quadratic e-mail pattern once took a second on 10,000 characters, stalling
every room of the process). Each hook's time on adversarial bodies of the largest allowed
length is held to a multiple of a trivial one-pass hook's time on the same body, measured
in the same run, so a loaded machine slows both alike."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from server.moderation.builtin import CrisisLanguage, blocked_terms, contact_details, load_phrases
from server.moderation.verdicts import Allow, MessageContext, Verdict

MAX_CHARS = 10_000  # the largest `max_message_chars` a room may have (PROTOCOL §2)
# A linear hook is within a small multiple of one pass in Python over the body; the
# quadratic pattern this replaced was over a thousand times slower at this length.
RATIO = 40.0

Hook = Callable[[MessageContext], Awaitable[Verdict]]

SETTINGS: dict[str, Any] = {
    "contact_details": "hold",
    "blocked_terms": ["bad word", "x-y-z", "kill", "a"],
    "crisis_resources": "call someone",
}
# Characters the patterns care about: word characters, digits, separators, "@", ".".
ALPHABET = "a1Z_@.+-() \t\n9é-–'’#:/x0"


async def one_pass(ctx: MessageContext) -> Verdict:
    """The reference: looks at every character once, in Python."""
    return Allow() if sum(ch.isdigit() for ch in ctx.body) >= 0 else Allow()


def _run(hook: Hook, ctx: MessageContext) -> float:
    """Seconds `hook` takes (best of three); the built-ins never await, so no loop is needed."""
    best = float("inf")
    for _ in range(3):
        coro = hook(ctx)
        start = time.perf_counter()
        try:
            coro.send(None)  # type: ignore[attr-defined]
        except StopIteration:
            pass
        best = min(best, time.perf_counter() - start)
    return best


def _body(unit: str, prefix: str) -> str:
    return (prefix + unit * (MAX_CHARS // len(unit) + 1))[:MAX_CHARS]


BUILT_IN: dict[str, Hook] = {
    "crisis": CrisisLanguage(load_phrases(None)),
    "blocked_terms": blocked_terms,
    "contact_details": contact_details,
}


@settings(max_examples=60, deadline=None, database=None)
@given(
    unit=st.text(alphabet=ALPHABET, min_size=1, max_size=12) | st.text(min_size=1, max_size=6),
    prefix=st.text(alphabet=ALPHABET, max_size=20),
    name=st.sampled_from(sorted(BUILT_IN)),
)
@example(unit="a", prefix="", name="contact_details")  # the e-mail local part, rescanned
@example(unit="1a", prefix="", name="contact_details")
@example(unit="2019-", prefix="", name="contact_details")
@example(unit="-", prefix="", name="contact_details")
@example(unit="a.", prefix="", name="contact_details")
@example(unit=" -", prefix="i want to", name="crisis")
@example(unit="kill-", prefix="", name="blocked_terms")
def test_every_built_in_hook_is_linear_on_the_longest_bodies(
    unit: str, prefix: str, name: str
) -> None:
    ctx = MessageContext(_body(unit, prefix), "u1", "someone", "member", "room", SETTINGS)
    reference = _run(one_pass, ctx)
    took = _run(BUILT_IN[name], ctx)
    assert took <= RATIO * reference, (name, unit, prefix, took, reference)


def test_the_quadratic_pattern_would_have_failed_this_bound() -> None:
    """The bound has teeth: the e-mail pattern this module replaced exceeds it."""
    import re

    old = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)

    async def old_email(ctx: MessageContext) -> Verdict:
        return Allow() if old.search(ctx.body) is None else Allow()

    ctx = MessageContext(_body("a", ""), "u1", "someone", "member", "room", SETTINGS)
    assert _run(old_email, ctx) > RATIO * _run(one_pass, ctx)
