"""The process's log lines: the familiar text, or one JSON object per line for a collector.

A JSON line carries `ts`, `level`, `logger`, `event` (the rendered message) and, when the line
was written for a socket or a request that knows them, `room_id` and `user_id` (from
`log_context`, set once per connection, so no log call has to pass them). No line carries a
message body: log calls pass identifiers and exception *types*; a bug's traceback is written
by `withheld_traceback`, frames without the exception's message, which could quote input.
"""

from __future__ import annotations

import contextvars
import logging
import logging.handlers
import sys
import time
import traceback

import orjson

__all__ = [
    "JsonLines",
    "TextLines",
    "configure_logging",
    "hold_early_records",
    "log_context",
    "withheld_traceback",
]

# (room id, user id) of the connection this task serves; the default: none.
log_context: contextvars.ContextVar[tuple[str | None, str | None]] = contextvars.ContextVar(
    "hearth_log_context", default=(None, None)
)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _Context(logging.Filter):
    """Puts the connection's room and user ids on every record written in its task."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.room_id, record.user_id = log_context.get()
        return True


class JsonLines(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key in ("room_id", "user_id"):
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            line["traceback"] = withheld_traceback(record.exc_info[1])
        return orjson.dumps(line).decode()


class TextLines(logging.Formatter):
    """The familiar text line; a traceback without the exception's message."""

    def format(self, record: logging.LogRecord) -> str:
        cached, record.exc_text = record.exc_text, None  # another handler's, with the message
        try:
            return super().format(record)
        finally:
            record.exc_text = cached

    def formatException(self, ei: object) -> str:  # noqa: N802 (logging's name)
        exc = ei[1] if isinstance(ei, tuple) else None
        return withheld_traceback(exc) if isinstance(exc, BaseException) else ""


def withheld_traceback(exc: BaseException) -> str:
    """`exc`'s traceback (with its causes) naming each exception's type but not its message:
    a message can quote what a member sent or a statement's parameters."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        cause = current.__cause__
        current = cause if cause is not None or current.__suppress_context__ else (
            current.__context__
        )
    parts: list[str] = []
    for item in reversed(chain):
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(item.__traceback__))
        kind = type(item)
        parts.append(f"{kind.__module__}.{kind.__qualname__} (message withheld)\n")
    return "".join(parts).rstrip("\n")


def hold_early_records() -> None:
    """Keep what is logged before the settings say how (reading them logs) until
    `configure_logging` writes it in the configured form."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(logging.handlers.BufferingHandler(capacity=1000))
    root.setLevel(logging.INFO)


def configure_logging(level: str, form: str) -> None:
    """Route every logger (Hearth's, uvicorn's, libraries') to stderr in `form` at `level`,
    after the records held since `hold_early_records`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if form == "json" else TextLines(TEXT_FORMAT))
    handler.addFilter(_Context())
    root = logging.getLogger()
    held: list[logging.LogRecord] = []
    for old in list(root.handlers):
        if isinstance(old, logging.handlers.BufferingHandler):
            held += old.buffer
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for record in held:
        if record.levelno >= root.level:
            handler.handle(record)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(level.upper())
