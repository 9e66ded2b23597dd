"""Shared facts about the server under test."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PASSWORD", "SCALE", "TIMEOUT_MS", "Server"]

SCALE = float(os.environ.get("HEARTH_TEST_TIMEOUT_SCALE", "1"))
TIMEOUT_MS = 10_000 * SCALE
PASSWORD = "calm-river-stones-42"


@dataclass(frozen=True)
class Server:
    """Where the server listens and how to sign in as its admin."""

    base_url: str
    admin_username: str
    admin_password: str
    log_path: Path
