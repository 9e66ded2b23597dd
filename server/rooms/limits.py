"""Per-socket frame limits (PROTOCOL §3): a token bucket, a send window, an error budget. Pure."""

from __future__ import annotations

from collections import deque

from ..config import Limits

__all__ = ["SocketLimits"]


class SocketLimits:
    """Decides, per frame, whether a socket is over its limits. Times are monotonic seconds."""

    __slots__ = ("_cfg", "_tokens", "_last", "_sends", "_errors")

    def __init__(self, cfg: Limits, now: float) -> None:
        self._cfg = cfg
        self._tokens = float(cfg.frame_burst)
        self._last = now
        # Created at first use: most sockets never send an error, many never send at all.
        self._sends: deque[float] | None = None
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
