"""Running the configured moderation hooks in order, each time-bounded and failing safely."""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from dataclasses import dataclass, field

from ..ops.metrics import HOOK_SECONDS, HOOK_TIMEOUTS
from .builtin import CrisisLanguage, blocked_terms, contact_details
from .verdicts import Allow, Flag, Hold, Hook, MessageContext, Recognizer, Reject, Verdict

__all__ = ["ConfiguredHook", "HookOutcome", "HookRunner", "load_hook", "runner_from_config"]

log = logging.getLogger("hearth.moderation")

DEFAULT_ORDER = ("crisis", "blocked_terms", "contact_details")


@dataclass(frozen=True, slots=True)
class ConfiguredHook:
    """A hook with its name, time limit and what happens when it fails."""

    name: str
    hook: Hook
    timeout: float = 2.0
    fail_open: bool = False  # on error or time-out: let the message through (else reject)
    # Run under a timer of `timeout`. The built-ins are plain computations that never
    # await, which no timer can interrupt: they run without one (no timer per message).
    timed: bool = True


@dataclass(slots=True)
class HookOutcome:
    """What the hooks decided: a stop (Reject/Hold) or not, and the flags raised."""

    stop: Reject | Hold | None = None
    stopped_by: str | None = None
    flags: list[tuple[str, Flag]] = field(default_factory=list)

    @property
    def protected(self) -> bool:
        return any(flag.protect for _, flag in self.flags)


def load_hook(path: str) -> Hook:
    """The hook at `module:attribute`; a class or factory is called once with no arguments."""
    module_name, _, attr = path.partition(":")
    if not attr:
        raise ValueError(f"hook {path!r} must be written module:attribute")
    obj = getattr(importlib.import_module(module_name), attr)
    if isinstance(obj, type):
        obj = obj()
    if not callable(obj):
        raise TypeError(f"hook {path!r} is not callable")
    hook: Hook = obj
    return hook


class HookRunner:
    """Runs hooks in order (crisis first): the first Reject or Hold wins unless a protecting
    Flag came first."""

    def __init__(self, hooks: list[ConfiguredHook]) -> None:
        self.hooks = {h.name: h for h in hooks}
        self.order = [h.name for h in hooks]
        # Metric children bound once per configured hook (its name is the operator's).
        self._seconds = {h.name: HOOK_SECONDS.labels(h.name) for h in hooks}
        self._timeouts = {h.name: HOOK_TIMEOUTS.labels(h.name) for h in hooks}

    @classmethod
    def standard(
        cls,
        crisis: CrisisLanguage,
        extra: list[ConfiguredHook] | None = None,
        order: list[str] | None = None,
    ) -> HookRunner:
        """The built-in hooks plus configured ones, in `order` (default: built-ins first)."""
        known = {
            "crisis": ConfiguredHook("crisis", crisis, fail_open=True, timed=False),
            "blocked_terms": ConfiguredHook("blocked_terms", blocked_terms, timed=False),
            "contact_details": ConfiguredHook(
                "contact_details", contact_details, fail_open=True, timed=False
            ),
        }
        for hook in extra or []:
            known[hook.name] = hook
        names = order or [*DEFAULT_ORDER, *(h.name for h in extra or [])]
        missing = [n for n in names if n not in known]
        if missing:
            raise ValueError(f"unknown moderation hooks: {missing}")
        return cls([known[n] for n in names])

    def recognizes(self, name: str, body: str) -> bool:
        """Whether the hook `name` is configured, can tell (a `Recognizer`) and matches."""
        configured = self.hooks.get(name)
        return (
            configured is not None
            and isinstance(configured.hook, Recognizer)
            and configured.hook.matches(body)
        )

    async def run(self, ctx: MessageContext, only: list[str] | None = None) -> HookOutcome:
        """Run the hooks (or the room's chosen subset, in its order) on one message."""
        outcome = HookOutcome()
        names = [n for n in (only if only is not None else self.order) if n in self.hooks]
        if "crisis" in self.hooks:
            # No room can switch crisis support off, and it runs first wherever it is placed:
            # its protecting flag must come before any hook that could silence the message.
            names = ["crisis", *(n for n in names if n != "crisis")]
        for name in names:
            verdict = await self._one(self.hooks[name], ctx)
            if isinstance(verdict, Flag):
                outcome.flags.append((name, verdict))
            elif isinstance(verdict, Reject | Hold):
                if outcome.protected:
                    outcome.flags.append((name, Flag(f"{verdict.reason} (delivered: crisis)")))
                    continue
                outcome.stop, outcome.stopped_by = verdict, name
                return outcome
        return outcome

    async def _one(self, configured: ConfiguredHook, ctx: MessageContext) -> Verdict:
        started = time.perf_counter()
        try:
            if configured.timed:
                # asyncio.timeout, not wait_for: no extra task per hook per message.
                async with asyncio.timeout(configured.timeout):
                    verdict = await configured.hook(ctx)
            else:
                verdict = await configured.hook(ctx)
        except TimeoutError:
            log.warning("moderation hook %s timed out in room %s", configured.name, ctx.room)
            self._timeouts[configured.name].inc()
            return self._failed(configured)
        except Exception as exc:  # a hook's bug must not take the room down
            log.warning(
                "moderation hook %s failed in room %s: %s",
                configured.name,
                ctx.room,
                type(exc).__name__,
            )
            return self._failed(configured)
        finally:
            self._seconds[configured.name].observe(time.perf_counter() - started)
        if not isinstance(verdict, Allow | Reject | Hold | Flag):
            log.warning(
                "moderation hook %s returned %r, not a verdict",
                configured.name,
                type(verdict).__name__,
            )
            return self._failed(configured)
        return verdict

    @staticmethod
    def _failed(configured: ConfiguredHook) -> Verdict:
        if configured.fail_open:
            return Allow()
        return Reject("this message could not be checked right now; please try again")


def runner_from_config(
    names: tuple[str, ...], crisis: CrisisLanguage, timeout: float, fail_open: tuple[str, ...]
) -> HookRunner:
    """The runner for `[moderation] hooks`: built-in names or `module:attribute` paths, in
    order. Empty: the built-ins. Crisis support is always on, and runs first."""
    extra = [
        ConfiguredHook(name, load_hook(name), timeout, name in fail_open)
        for name in names
        if ":" in name
    ]
    order = list(names) if names else None
    if order is not None and "crisis" not in order:
        order.insert(0, "crisis")
    return HookRunner.standard(crisis, extra, order)
