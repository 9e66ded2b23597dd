"""Reading JSON request bodies: size limit (413), time limit (408), JSON (400), shape (422)."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

import msgspec
import orjson
from starlette.requests import Request

from .errors import ApiError

__all__ = ["read_json", "read_struct"]

T = TypeVar("T")


async def _read_bytes(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isascii() and length.isdigit() and int(length) > limit:
        raise ApiError("too_large", f"request body is over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    seconds = request.app.state.hearth.settings.limits.request_body_seconds
    try:
        async with asyncio.timeout(seconds):  # a trickled body holds no request for long
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise ApiError("too_large", f"request body is over {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise ApiError("timeout", f"the request body took over {seconds} s to arrive") from None
    return b"".join(chunks)


async def read_json(request: Request, limit: int) -> dict[str, Any]:
    """The body as a JSON object."""
    raw = await _read_bytes(request, limit)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError("invalid", "body is not JSON", 400) from None
    if not isinstance(data, dict):
        raise ApiError("invalid", "body must be a JSON object")
    return data


async def read_struct(request: Request, limit: int, kind: type[T]) -> T:
    """The body validated as `kind` (a msgspec Struct that forbids unknown fields)."""
    data = await read_json(request, limit)
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        raise ApiError("invalid", str(exc)) from None
    except RecursionError:
        raise ApiError("invalid", "body is nested too deeply") from None
