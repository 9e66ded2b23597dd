"""Room settings (PROTOCOL §2 `room`): defaults, validation and the public view. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

__all__ = [
    "DEFAULT_CRISIS_RESOURCES",
    "DEFAULT_CRISIS_RESOURCES_ES",
    "PLUGGED_SETTINGS",
    "PUBLIC_ADDITIONS",
    "RoomView",
    "SettingsError",
    "apply_settings",
    "slug_problem",
]

DEFAULT_CRISIS_RESOURCES = (
    "You are not alone. If you are thinking about suicide or are in crisis, call or text 988 "
    "to reach the 988 Suicide & Crisis Lifeline (US), any time, free and confidential. "
    "If you are in immediate danger, call 911. Your facilitator has been told and is here "
    "for you."
)

MAX_RETENTION_DAYS = 36500  # a century: larger values overflow date arithmetic

# What 988 says for callers in Spanish: call and press 2, or text AYUDA (PROTOCOL §7).
DEFAULT_CRISIS_RESOURCES_ES = (
    "No estás solo ni sola. Si estás pensando en el suicidio o estás en crisis, llama al 988 "
    "y oprime 2 para hablar en español, o envía la palabra AYUDA por mensaje de texto al 988: "
    "es la Línea 988 de Prevención del Suicidio y Crisis (EE. UU.), a cualquier hora, gratis y "
    "confidencial. Si estás en peligro inmediato, llama al 911. Ya le avisamos a quien facilita "
    "tu grupo, y está aquí para ti."
)

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
ACCESS = ("open", "members", "approval")
TRANSCRIPTS = ("off", "opt_in")
READERS = ("facilitators", "members")
CONTACT_POLICIES = ("allow", "warn", "hold")


class SettingsError(ValueError):
    """A setting with a bad value; the message names it."""


@dataclass(frozen=True, slots=True)
class RoomView:
    """A room as every process holds it in memory: settings plus identity."""

    id: str
    slug: str
    title: str
    description: str = ""
    agreement: str | None = None
    agreement_version: int = 0
    access: str = "open"
    transcripts: str = "off"
    transcript_readers: str = "facilitators"
    retention_days: int | None = 30
    slow_mode_seconds: int = 0
    max_message_chars: int = 2000
    resume_window_seconds: int = 300
    locked: bool = False
    crisis_resources: str = DEFAULT_CRISIS_RESOURCES
    crisis_resources_es: str = DEFAULT_CRISIS_RESOURCES_ES
    extra: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """The contract's `room` object."""
        return {
            "slug": self.slug,
            "title": self.title,
            "description": self.description,
            "agreement": self.agreement,
            "access": self.access,
            "transcripts": self.transcripts,
            "transcript_readers": self.transcript_readers,
            "retention_days": self.retention_days,
            "slow_mode_seconds": self.slow_mode_seconds,
            "max_message_chars": self.max_message_chars,
            "resume_window_seconds": self.resume_window_seconds,
            "locked": self.locked,
            "crisis_resources": self.crisis_resources,
            "crisis_resources_es": self.crisis_resources_es,
            **{k: v for k, v in self.extra.items() if k in EXTRA_SETTINGS},
            **{k: self.extra.get(k, d) for k, (d, _) in PLUGGED_SETTINGS.items()},
            **{k: v for add in PUBLIC_ADDITIONS.values() for k, v in add(self).items()},
        }


# Settings Hearth adds beyond the contract (README, protocol additions).
EXTRA_SETTINGS: dict[str, Any] = {
    "blocked_terms": [],
    "contact_details": "allow",
    "hooks": None,
}

# Settings other parts plug in from outside (e.g. sessions): name -> (default, check).
# A check returns the value to store or raises SettingsError.
PLUGGED_SETTINGS: dict[str, tuple[Any, Callable[[Any], Any]]] = {}
# Read-only fields other parts add to room objects (e.g. the open session), by part name.
PUBLIC_ADDITIONS: dict[str, Callable[[RoomView], dict[str, Any]]] = {}

SETTABLE = (
    "title",
    "description",
    "agreement",
    "access",
    "transcripts",
    "transcript_readers",
    "retention_days",
    "slow_mode_seconds",
    "max_message_chars",
    "resume_window_seconds",
    "locked",
    "crisis_resources",
    "crisis_resources_es",
    *EXTRA_SETTINGS,
)


def slug_problem(slug: Any) -> str | None:
    """Why `slug` is not a valid room slug, or None."""
    if not isinstance(slug, str) or not _SLUG.match(slug):
        return "slug must be 2–64 of a-z 0-9 -, starting with a letter or digit"
    return None


def _int(name: str, value: Any, low: int, high: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SettingsError(f"{name} must be an integer")
    if value < low or (high is not None and value > high):
        raise SettingsError(f"{name} must be from {low} to {high if high is not None else '∞'}")
    return value


def _text(name: str, value: Any, low: int, high: int) -> str:
    if not isinstance(value, str) or not low <= len(value) <= high:
        raise SettingsError(f"{name} must be text of {low} to {high} characters")
    return value


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}")
    return str(value)


def _locked(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SettingsError("locked must be true or false")
    return value


def _blocked_terms(name: str, value: Any) -> list[str]:
    if (
        not isinstance(value, list)
        or not all(isinstance(t, str) and 1 <= len(t) <= 200 for t in value)
        or len(value) > 500
    ):
        raise SettingsError("blocked_terms must be a list of up to 500 short texts")
    return value


def _hooks(name: str, value: Any) -> list[str] | None:
    if value is not None and not (
        isinstance(value, list) and all(isinstance(h, str) for h in value)
    ):
        raise SettingsError("hooks must be null or a list of hook names")
    return value


def _or_null(check: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    return lambda name, value: None if value is None else check(name, value)


# Each settable setting's check: (name, value) -> the value to store, or SettingsError.
_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "title": lambda n, v: _text(n, v, 1, 200),
    "description": lambda n, v: _text(n, v, 0, 5000),
    "agreement": _or_null(lambda n, v: _text(n, v, 1, 20000)),
    "crisis_resources": lambda n, v: _text(n, v, 1, 5000),
    "crisis_resources_es": lambda n, v: _text(n, v, 1, 5000),
    "access": lambda n, v: _choice(n, v, ACCESS),
    "transcripts": lambda n, v: _choice(n, v, TRANSCRIPTS),
    "transcript_readers": lambda n, v: _choice(n, v, READERS),
    "retention_days": _or_null(lambda n, v: _int(n, v, 1, MAX_RETENTION_DAYS)),
    "slow_mode_seconds": lambda n, v: _int(n, v, 0, 3600),
    "max_message_chars": lambda n, v: _int(n, v, 1, 10000),
    "resume_window_seconds": lambda n, v: _int(n, v, 0, 3600),
    "locked": _locked,
    "blocked_terms": _blocked_terms,
    "contact_details": lambda n, v: _choice(n, v, CONTACT_POLICIES),
    "hooks": _hooks,
}


def _check(name: str, value: Any) -> Any:
    check = _CHECKS.get(name)
    if check is None:
        raise SettingsError(f"unknown setting: {name}")
    return check(name, value)


def apply_settings(
    room: RoomView, changes: dict[str, Any]
) -> tuple[RoomView, dict[str, list[Any]]]:
    """The room with `changes` applied, and {setting: [old, new]} for those that changed.

    Raises SettingsError for an unknown setting or a bad value.
    """
    core = {f.name for f in fields(RoomView)}
    updates: dict[str, Any] = {}
    extra = dict(room.extra)
    diff: dict[str, list[Any]] = {}
    for name, value in changes.items():
        if name in PLUGGED_SETTINGS:
            default, check = PLUGGED_SETTINGS[name]
            checked, old = check(value), extra.get(name, default)
        elif name in SETTABLE:
            checked = _check(name, value)
            old = getattr(room, name) if name in core else extra.get(name, EXTRA_SETTINGS[name])
        else:
            raise SettingsError(f"unknown setting: {name}")
        if old == checked:
            continue
        diff[name] = [old, checked]
        if name in core:
            updates[name] = checked
        else:
            extra[name] = checked
    if "agreement" in diff:
        updates["agreement_version"] = room.agreement_version + 1
    return replace(room, **updates, extra=extra), diff
