"""Reasons facilitators give (`ban`, `remove`, `deny`), sealed where they rest: the bans table
and the audit log. A reason names a person and what they did; a database dump shows neither.

A sealed reason is stored as `sealed:<key id>.<base64>` (sealing.py); text without that
prefix (written before reasons were sealed) is read as it is.
"""

from __future__ import annotations

import logging
from typing import Any

from ..sealing import Sealer

__all__ = ["Reasons"]

log = logging.getLogger("hearth.moderation")

_PREFIX = "sealed:"
_CONTEXT = b"hearth-reason"


class Reasons:
    """Seals and opens reasons and the `reason` field of audit details."""

    def __init__(self, sealer: Sealer) -> None:
        self._sealer = sealer

    def seal(self, reason: str | None) -> str | None:
        """The stored form of a reason (None stays None)."""
        if reason is None:
            return None
        return _PREFIX + self._sealer.seal(reason, _CONTEXT)

    def open(self, stored: str | None) -> str | None:
        """The reason a stored form holds; None if it cannot be opened (the secret changed)."""
        if stored is None or not stored.startswith(_PREFIX):
            return stored
        try:
            return self._sealer.open(stored.removeprefix(_PREFIX), _CONTEXT)
        except Exception:  # another key: the server secret changed since
            log.warning("a stored reason could not be opened (the server secret changed?)")
            return None

    def seal_details(self, details: dict[str, Any]) -> dict[str, Any]:
        """Audit details with their `reason` sealed."""
        if isinstance(details.get("reason"), str):
            return {**details, "reason": self.seal(details["reason"])}
        return details

    def open_details(self, details: dict[str, Any]) -> dict[str, Any]:
        """Audit details as written, their `reason` opened."""
        if isinstance(details.get("reason"), str):
            return {**details, "reason": self.open(details["reason"])}
        return details
