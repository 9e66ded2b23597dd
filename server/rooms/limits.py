"""Frame limits (PROTOCOL §3): per socket a token bucket and an error budget; per user in a
room a send window shared by all that user's sockets there; per user a cap on sockets.
Pure (this process's counts; no I/O)."""

from __future__ import annotations

from collections import deque

from ..config import Limits

__all__ = ["SocketLimits", "UserSockets"]


class SocketLimits:
    """Decides, per frame, whether a socket is over its limits. Times are monotonic seconds."""

    __slots__ = ("_cfg", "_tokens", "_last", "_sends", "_errors")

    def __init__(self, cfg: Limits, now: float, sends: deque[float] | None = None) -> None:
        self._cfg = cfg
        self._tokens = float(cfg.frame_burst)
        self._last = now
        # `sends` is shared by the user's sockets in the room (see UserSockets); else created
        # at first use, as the error budget is: most sockets never send an error.
        self._sends: deque[float] | None = sends
        self._errors: deque[float] | None = None

    def frame(self, now: float) -> float | None:
        """Take one frame token; None if allowed, else seconds until one is available."""
        cfg = self._cfg
        self._tokens = min(
            float(cfg.frame_burst), self._tokens + (now - self._last) * cfg.frames_per_second
        )
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        return (1.0 - self._tokens) / cfg.frames_per_second

    def send(self, now: float) -> float | None:
        """Count one `send`; None if allowed, else seconds until the window frees one."""
        window = self._cfg.send_window_seconds
        if self._sends is None:
            self._sends = deque()
        while self._sends and self._sends[0] <= now - window:
            self._sends.popleft()
        if len(self._sends) >= self._cfg.sends_per_window:
            return self._sends[0] + window - now
        self._sends.append(now)
        return None

    def error(self, now: float) -> bool:
        """Count one error frame; True when the socket has earned a 4429 close."""
        window = self._cfg.error_window_seconds
        if self._errors is None:
            self._errors = deque()
        while self._errors and self._errors[0] <= now - window:
            self._errors.popleft()
        self._errors.append(now)
        return len(self._errors) >= self._cfg.error_frames_before_close


class UserSockets:
    """This process's sockets per user, at most `cap`, and each user's send window per room,
    one `deque` shared by all their sockets in that room: more sockets, no more sends."""

    __slots__ = ("_cap", "_open", "_sends")

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._open: dict[str, int] = {}
        self._sends: dict[tuple[str, str], tuple[int, deque[float]]] = {}

    def open(self, user_id: str, room: str) -> deque[float] | None:
        """Count one more socket of the user in the room: the room's shared send window, or
        None (nothing counted) when the user already has `cap` sockets."""
        sockets = self._open.get(user_id, 0)
        if sockets >= self._cap:
            return None
        self._open[user_id] = sockets + 1
        users, window = self._sends.get((room, user_id), (0, deque()))
        self._sends[(room, user_id)] = (users + 1, window)
        return window

    def close(self, user_id: str, room: str) -> None:
        """Count one socket fewer (one `open` returned a window for)."""
        sockets = self._open.pop(user_id, 0) - 1
        if sockets > 0:
            self._open[user_id] = sockets
        users, window = self._sends.pop((room, user_id), (0, deque()))
        if users > 1:
            self._sends[(room, user_id)] = (users - 1, window)
