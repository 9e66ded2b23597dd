"""Opaque ids and the clock the store uses."""

from __future__ import annotations

import secrets
import time

__all__ = ["new_id", "now_ms"]


def new_id() -> str:
    """A random opaque id (64 bits, hex)."""
    return secrets.token_hex(8)


def now_ms() -> int:
    """Unix time in milliseconds."""
    return int(time.time() * 1000)
