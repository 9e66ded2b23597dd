"""Which languages there are, and which one a request without a signed-in user prefers."""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "language_problem", "preferred_language"]

LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"

# An Accept-Language header is read only this far, and only this many of its ranges.
_HEADER_CHARS = 512
_HEADER_RANGES = 16


def language_problem(value: Any) -> str | None:
    """Why `value` is not a language a user may choose, or None."""
    if value not in LANGUAGES:
        return "language must be one of en, es"
    return None


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value)
            except ValueError:
                return 0.0
            return q if 0.0 <= q <= 1.0 else 0.0
    return 1.0


def preferred_language(header: str | None) -> str:
    """The supported language an `Accept-Language` header (RFC 9110 §12.5.4) ranks highest;
    English when it names none of them. Bounded: a long header is read only in part."""
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for item in (header or "")[:_HEADER_CHARS].split(",")[:_HEADER_RANGES]:
        tag, *params = item.split(";")
        base = tag.strip().lower().split("-")[0]
        q = _quality(params)
        if base in LANGUAGES and q > best_q:
            best, best_q = base, q
    return best
