"""Checks on user-written text (message bodies, names), per PROTOCOL §2 and §3. Pure."""

from __future__ import annotations

import re

__all__ = ["WHITE_SPACE", "body_problem", "display_name_problem"]

# Unicode's White_Space property (PropList.txt), exactly: str.isspace() differs from it.
WHITE_SPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_FORBIDDEN_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def body_problem(body: str, max_chars: int) -> tuple[str, str] | None:
    """Why a message body cannot be sent, as (error code, message), or None if it can."""
    if not body or all(ch in WHITE_SPACE for ch in body):
        return ("invalid", "body must not be empty or only white space")
    if _FORBIDDEN_CONTROL.search(body):
        return ("invalid", "body holds a control character")
    if _SURROGATE.search(body):
        return ("invalid", "body holds an unpaired surrogate")
    if len(body) > max_chars:
        return ("too_long", f"body is longer than {max_chars} characters")
    return None


def display_name_problem(name: str) -> str | None:
    """Why a display name is not acceptable, or None: 1–64 characters, not blank, no controls."""
    if not 1 <= len(name) <= 64:
        return "display_name must be 1 to 64 characters"
    if all(ch in WHITE_SPACE for ch in name):
        return "display_name must not be blank"
    if _ANY_CONTROL.search(name) or _SURROGATE.search(name):
        return "display_name must not hold control characters"
    return None
