"""The contract's `user` object (PROTOCOL §2), the one way every part builds it. Pure."""

from __future__ import annotations

from typing import Any

__all__ = ["user_object"]


def user_object(
    user_id: str, username: str, display_name: str, is_admin: bool, language: str
) -> dict[str, Any]:
    """`{id, username, display_name, is_admin, language}`: in HTTP answers, `welcome` and
    `knock`."""
    return {
        "id": user_id,
        "username": username,
        "display_name": display_name,
        "is_admin": is_admin,
        "language": language,
    }
