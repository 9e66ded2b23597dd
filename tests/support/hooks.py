"""Moderation hooks for tests, loaded by a server through `[moderation] hooks`.

Each misbehaves only on a trigger word, so the rest of a room's messages pass normally.
"""

from __future__ import annotations

import asyncio

from server.moderation.verdicts import Allow, MessageContext, Verdict

__all__ = ["explodes", "sleeps"]


async def explodes(ctx: MessageContext) -> Verdict:
    """Raises on messages holding "boom" (a hook with a bug)."""
    if "boom" in ctx.body:
        raise RuntimeError("a bug in a moderation hook")
    return Allow()


async def sleeps(ctx: MessageContext) -> Verdict:
    """Takes far too long on messages holding "slowpoke"."""
    if "slowpoke" in ctx.body:
        await asyncio.sleep(30)
    return Allow()
