"""What a (re)entering client receives: `history` and `gap` (PROTOCOL §3 Resume). Pure."""

from __future__ import annotations

from ..broker.base import WindowRead

__all__ = ["parse_after_seq", "resume_history"]


def parse_after_seq(raw: str | None) -> int | None | str:
    """The `after_seq` query value: None if absent, an int if a whole number, else the text."""
    if raw is None:
        return None
    if raw.isascii() and raw.isdigit() and len(raw) < 19:
        return int(raw)
    return raw


def resume_history(
    after_seq: int | str | None,
    asked_epoch: str | None,
    window: WindowRead,
    first_seq: int,
) -> tuple[list[str], bool]:
    """(history frames, gap) for a client resuming after `after_seq`.

    Never returns a message at or before `first_seq` (the user's first entry since the
    room's last `end`); such withheld messages do not count as a gap. What an `end` cleared
    does: a client resuming from before the room's last `end` (A < `window.ended`) missed
    what was said between A and the end, so `gap` is true (nothing kept and A < `seq`).
    """
    if after_seq is None:
        return [], False
    if asked_epoch is not None and asked_epoch != window.epoch:
        return [], True
    if isinstance(after_seq, str) or not 0 <= after_seq <= window.seq:
        return [], True
    start = max(after_seq, first_seq)
    history = [frame for seq, frame in window.entries if seq > start]
    if after_seq < window.ended:
        gap = True
    elif window.floor < 0:
        gap = start < window.seq
    else:
        gap = start < window.floor
    return history, gap
