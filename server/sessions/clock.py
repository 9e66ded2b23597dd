"""The clock sessions run on: wall time, plus an offset only tests can install.

Everything time-based in sessions (scheduled starts, idle endings, attendance seconds) reads
`now_ms()`. The offset source can only be installed from Python before the server starts
(tests/support/clocked_serve.py does); no setting or variable of `hearth serve` reaches it.
"""

from __future__ import annotations

from collections.abc import Callable

from ..store import ids

__all__ = ["install_offset", "now_ms"]

_offset: Callable[[], int] | None = None


def install_offset(source: Callable[[], int]) -> None:
    """Make `now_ms()` add `source()` milliseconds (tests only)."""
    global _offset
    _offset = source


def now_ms() -> int:
    """Unix time in milliseconds, as sessions see it."""
    real = ids.now_ms()
    return real if _offset is None else real + _offset()
