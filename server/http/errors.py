"""The HTTP error shape (PROTOCOL §2): `{"error": {"code", "message"}}` with its status."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import HTTPConnection
from starlette.responses import Response

from ..language import DEFAULT_LANGUAGE, preferred_language, translate
from ..ops.dependencies import dependency_failed

__all__ = ["ApiError", "dependency_failed", "error_response", "json_response", "reader_language"]

STATUS = {
    "invalid": 422,
    "unauthorized": 401,
    "bad_credentials": 401,
    "totp_required": 401,
    "totp_setup_required": 403,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "too_large": 413,
    "weak_password": 422,
    "rate_limited": 429,
    "timeout": 408,
    "unavailable": 503,
    "internal": 500,
}


class ApiError(Exception):
    """Raised inside a route to answer with the contract's error shape."""

    def __init__(
        self, code: str, message: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.code, self.message = code, message
        self.status = status or STATUS[code]
        self.retry_after = retry_after


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response encoded with orjson."""
    return Response(
        orjson.dumps(data), status_code=status, media_type="application/json", headers=headers
    )


def error_response(error: ApiError, language: str = DEFAULT_LANGUAGE) -> Response:
    """The response for an ApiError, its message in `language` (the code never changes)."""
    headers = None
    if error.retry_after is not None:
        headers = {"Retry-After": str(max(1, int(error.retry_after + 0.999)))}
    if error.status == 408:  # the rest of the body may still trickle in: do not wait for it
        headers = {"Connection": "close"}
    message = translate(error.message, language)
    return json_response({"error": {"code": error.code, "message": message}}, error.status, headers)


def reader_language(request: HTTPConnection) -> str:
    """The language to answer in: the signed-in caller's (or the one a request just chose),
    else the best of the browser's `Accept-Language`."""
    chosen = getattr(request.state, "language", None)
    if isinstance(chosen, str):
        return chosen
    return preferred_language(request.headers.get("accept-language"))
