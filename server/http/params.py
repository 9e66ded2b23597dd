"""Whole-number query parameters, each with its bounds (PROTOCOL §2: a bad one is 422)."""

from __future__ import annotations

import re

from starlette.requests import Request

from .errors import ApiError

__all__ = ["MAX_ID", "MAX_TIME_MS", "int_param"]

MAX_ID = 2**63 - 1  # the largest integer SQLite and PostgreSQL BIGINT hold
MAX_TIME_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last instant a date names

_WHOLE = re.compile(r"^[0-9]{1,19}$")  # ASCII digits only: int() also reads "²" and "١"


def int_param(request: Request, name: str, low: int, high: int, default: int | None) -> int | None:
    """The query parameter `name` as a whole number from `low` to `high`; `default` when
    absent or empty; anything else is 422 `invalid`."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not _WHOLE.match(raw) or not low <= int(raw) <= high:
        raise ApiError("invalid", f"{name} must be a whole number from {low} to {high}")
    return int(raw)
