"""The process's Prometheus metrics (README, Operations).

Defined once at import, so any package can count without a reference handed around. Labels
are only ever drawn from small fixed sets (an error code, a configured hook's name, a kind of
throttle): never a username, a room slug, a message or anything a member typed. The hot path
pays a counter increment or one histogram observation; the children of labelled metrics are
bound once and cached, not looked up per message.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "DELIVERIES",
    "HOOK_SECONDS",
    "HOOK_TIMEOUTS",
    "RECORDER_BATCH_ROWS",
    "RECORDER_COMMIT_SECONDS",
    "REDIS_RECONNECTS",
    "ROOMS",
    "SEND_SECONDS",
    "SOCKETS",
    "THROTTLED",
    "refused",
    "watch_hub",
]

SOCKETS = Gauge("hearth_sockets", "WebSockets open on this process")
ROOMS = Gauge("hearth_rooms", "Rooms with at least one socket on this process")
DELIVERIES = Counter(
    "hearth_deliveries", "Message copies handed to this process's sockets (fan-out)"
)
SEND_SECONDS = Histogram(
    "hearth_send_seconds",
    "From a `send` frame read to its answer (published, or refused)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
_REFUSED = Counter("hearth_sends_refused", "Sends answered with an error, by code", ["code"])
HOOK_SECONDS = Histogram(
    "hearth_hook_seconds",
    "Time one moderation hook took on one message",
    ["hook"],
    buckets=(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0),
)
HOOK_TIMEOUTS = Counter("hearth_hook_timeouts", "Moderation hooks that ran out of time", ["hook"])
REDIS_RECONNECTS = Counter(
    "hearth_redis_reconnects", "Times the pub/sub connection to Redis was lost and restored"
)
RECORDER_BATCH_ROWS = Histogram(
    "hearth_recorder_batch_rows",
    "Rows (new transcript rows and numberings) in one committed transaction",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200),
)
RECORDER_COMMIT_SECONDS = Histogram(
    "hearth_recorder_commit_seconds",
    "Time one transcript transaction took to commit",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
THROTTLED = Counter(
    "hearth_throttled", "Logins and registrations refused by the throttle", ["kind"]
)

# Every code a send can be refused with is a short word of the contract (PROTOCOL §3 and
# the README's additions); anything else is counted as "other", so no caller can grow the
# label set.
_CODES = frozenset(
    {
        "invalid",
        "too_long",
        "too_large",
        "held",
        "duplicate",
        "rate_limited",
        "forbidden",
        "not_found",
        "muted",
        "locked",
        "slow_mode",
        "rejected",
        "unavailable",
        "internal",
    }
)
_refused = {code: _REFUSED.labels(code) for code in (*_CODES, "other")}


def refused(code: str) -> None:
    """Count one send refused with `code`."""
    _refused.get(code, _refused["other"]).inc()


def watch_hub(sockets: Callable[[], int], rooms: Callable[[], int]) -> None:
    """Read the socket and room gauges from the hub when scraped (nothing on the hot path)."""
    SOCKETS.set_function(lambda: float(sockets()))
    ROOMS.set_function(lambda: float(rooms()))
