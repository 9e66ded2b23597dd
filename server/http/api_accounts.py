"""Accounts endpoints: register, login, logout, me (PROTOCOL §2)."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..accounts.passwords import MAX_LENGTH, password_problem
from ..accounts.tokens import new_token, token_hash
from ..ops.metrics import THROTTLED
from ..store import users as user_store
from ..store.models import User
from ..wire.text import display_name_problem
from .auth import COOKIE, require_caller
from .bodies import read_struct
from .errors import ApiError, json_response
from .state import Hearth

__all__ = ["routes", "user_view", "username_problem"]

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,31}$")


class RegisterBody(msgspec.Struct, forbid_unknown_fields=True):
    username: str
    password: str
    display_name: str | None = None


class LoginBody(msgspec.Struct, forbid_unknown_fields=True):
    username: str
    password: str


def user_view(user: User) -> dict[str, Any]:
    """The contract's `user` object."""
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "is_admin": user.is_admin,
    }


def username_problem(username: str) -> str | None:
    """Why a (lower-cased) username is not valid, or None."""
    if not _USERNAME.match(username):
        return "username must be 3–32 of a-z 0-9 _ . -, starting with a letter or digit"
    return None


def _hearth(request: Request) -> Hearth:
    hearth: Hearth = request.app.state.hearth
    return hearth


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def register(request: Request) -> Response:
    hearth = _hearth(request)
    if not hearth.settings.registration_open:
        raise ApiError("forbidden", "registration is closed")
    body = await read_struct(request, hearth.settings.limits.max_request_bytes, RegisterBody)
    username = body.username.lower()
    problem = username_problem(username)
    if problem:
        raise ApiError("invalid", problem)
    display_name = body.display_name if body.display_name is not None else username
    problem = display_name_problem(display_name)
    if problem:
        raise ApiError("invalid", problem)
    refused = password_problem(body.password, username)
    if refused:
        raise ApiError(*refused)
    wait = await hearth.throttle.registration_blocked(_address(request))
    if wait is not None:
        THROTTLED.labels("registration").inc()
        raise ApiError("rate_limited", "too many registrations; try again later", retry_after=wait)
    password_hash = await hearth.passwords.hash(body.password)
    async with hearth.db() as db:
        user = await user_store.create_user(db, username, display_name, password_hash)
    if user is None:
        raise ApiError("conflict", "that username is taken")
    return json_response({"user": user_view(user)}, 201)


async def login(request: Request) -> Response:
    hearth = _hearth(request)
    body = await read_struct(request, hearth.settings.limits.max_request_bytes, LoginBody)
    username = body.username.lower()
    address = _address(request)
    # One attempt per username at a time in this process, so the failure count is read
    # after the previous attempt was counted: parallel guesses cannot outrun the throttle.
    async with hearth.throttle.guard(username):
        wait = await hearth.throttle.login_blocked(username, address)
        if wait is not None:
            THROTTLED.labels("login").inc()
            raise ApiError("rate_limited", "too many attempts; try again later", retry_after=wait)
        user = None
        if len(username) <= 64:
            async with hearth.db() as db:
                user = await user_store.user_by_username(db, username)
        if len(body.password) > MAX_LENGTH:
            ok, rehash = False, None
        else:
            ok, rehash = await hearth.passwords.verify(
                user.password_hash if user else None, body.password
            )
        if not ok or user is None:
            await hearth.throttle.login_failed(username, address)
            raise ApiError("bad_credentials", "wrong username or password")
        await hearth.throttle.login_succeeded(address)
    token = new_token()
    async with hearth.db() as db:
        if rehash is not None:
            await user_store.set_password(db, user, rehash)
        await user_store.create_session(
            db, user.id, token_hash(token), hearth.settings.session_days
        )
    response = json_response({"token": token, "user": user_view(user)})
    response.set_cookie(
        COOKIE,
        token,
        max_age=hearth.settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


async def logout(request: Request) -> Response:
    hearth = _hearth(request)
    caller = await require_caller(hearth, request, changes=True)
    async with hearth.db() as db:
        await user_store.delete_session(db, caller.session.id)
    await hearth.rooms.session_ended(caller.session.id)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/")
    return response


async def me(request: Request) -> Response:
    caller = await require_caller(_hearth(request), request)
    return json_response({"user": user_view(caller.user)})


routes = [
    Route("/api/auth/register", register, methods=["POST"]),
    Route("/api/auth/login", login, methods=["POST"]),
    Route("/api/auth/logout", logout, methods=["POST"]),
    Route("/api/me", me, methods=["GET"]),
]
