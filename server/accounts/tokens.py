"""Session tokens: 256 random bits handed to the client, only their SHA-256 stored."""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["new_token", "token_hash"]


def new_token() -> str:
    """A fresh session token (URL-safe text, 256 bits of randomness)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the store keeps of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()
