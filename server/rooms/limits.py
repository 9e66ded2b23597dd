"""Frame limits (PROTOCOL §3): per socket a token bucket and an error budget; per user in a
room a send window shared by all that user's sockets there; per user a cap on sockets.
Pure (this process's counts; no I/O)."""

from __future__ import annotations

from collections import deque

from ..config import Limits

__all__ = ["SendWindow", "SocketLimits", "UserSockets"]


class SendWindow:
    """A user's recent sends in one room, shared by all their sockets there. The times are
    kept from the first send on: most sockets never send (a deque is 760 bytes)."""

    __slots__ = ("sockets", "times")

    def __init__(self) -> None:
        self.sockets = 0  # the user's sockets in the room sharing it (UserSockets)
        self.times: deque[float] | None = None


class SocketLimits:
    """Decides, per frame, whether a socket is over its limits. Times are monotonic seconds."""

    __slots__ = ("_cfg", "_tokens", "_last", "_sends", "_errors")

    def __init__(self, cfg: Limits, now: float, sends: SendWindow | None = None) -> None:
        self._cfg = cfg
        self._tokens = float(cfg.frame_burst)
        self._last = now
        # `sends` is shared by the user's sockets in the room (see UserSockets). The error
        # budget is created at first use: most sockets never send an error.
        self._sends = sends if sends is not None else SendWindow()
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
        sends = self._sends.times
        if sends is None:
            sends = self._sends.times = deque()
        while sends and sends[0] <= now - window:
            sends.popleft()
        if len(sends) >= self._cfg.sends_per_window:
            return sends[0] + window - now
        sends.append(now)
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
    one `SendWindow` shared by all their sockets in that room: more sockets, no more sends."""

    __slots__ = ("_cap", "_open", "_sends")

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._open: dict[str, int] = {}
        self._sends: dict[tuple[str, str], SendWindow] = {}

    def open(self, user_id: str, room: str) -> SendWindow | None:
        """Count one more socket of the user in the room: the room's shared send window, or
        None (nothing counted) when the user already has `cap` sockets."""
        sockets = self._open.get(user_id, 0)
        if sockets >= self._cap:
            return None
        self._open[user_id] = sockets + 1
        window = self._sends.get((room, user_id))
        if window is None:
            window = self._sends[(room, user_id)] = SendWindow()
        window.sockets += 1
        return window

    def close(self, user_id: str, room: str) -> None:
        """Count one socket fewer (one `open` returned a window for)."""
        sockets = self._open.pop(user_id, 0) - 1
        if sockets > 0:
            self._open[user_id] = sockets
        window = self._sends.get((room, user_id))
        if window is not None:
            window.sockets -= 1
            if window.sockets <= 0:
                del self._sends[(room, user_id)]
