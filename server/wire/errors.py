"""The two ways of saying no on a socket (PROTOCOL §3). Pure.

`Refuse` refuses one frame: it becomes one `error` frame (code, message, optional `ref`,
`retry_after` and `reason`), encoded once by the socket layer, and the socket stays open.
`Close` ends the socket: a close code and a reason (a handshake refused, a removal, a full
room). Every part that says no returns one of these two values; neither is an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

from .out import error_frame

__all__ = ["Close", "Refuse"]


@dataclass(frozen=True, slots=True)
class Refuse:
    """One frame refused: the `error` frame's fields."""

    code: str
    message: str
    ref: str | None = None
    retry_after: float | None = None
    reason: str | None = None

    def answering(self, ref: str | None) -> Refuse:
        """The same refusal answering the frame with this `ref`."""
        return self if ref == self.ref else replace(self, ref=ref)

    def frame(self) -> str:
        """The `error` frame's JSON text."""
        return error_frame(self.code, self.message, self.ref, self.retry_after, self.reason)


class Close(NamedTuple):
    """A socket closed (or refused at its handshake): the close code and its reason.

    A tuple, so `conn.stop(*close)` reads as the call it makes."""

    code: int
    reason: str
