"""Accounts endpoints: register, login, logout, me (PROTOCOL §2)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..accounts.passwords import MAX_LENGTH, password_problem
from ..accounts.tokens import new_token, token_hash
from ..language import DEFAULT_LANGUAGE, language_problem
from ..ops.metrics import THROTTLED
from ..store import audit as audit_store
from ..store import users as user_store
from ..store.models import User
from ..wire.text import display_name_problem
from ..wire.user import user_object
from .attempts import throttled_check
from .auth import COOKIE, Caller, must_enrol, require_caller
from .bodies import read_struct
from .errors import ApiError, json_response
from .second_factor import second_factor_ok
from .state import Hearth

__all__ = ["routes", "user_view", "username_problem"]

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,31}$")


class RegisterBody(msgspec.Struct, forbid_unknown_fields=True):
    username: str
    password: str
    display_name: str | None = None
    language: str | None = None


class LoginBody(msgspec.Struct, forbid_unknown_fields=True):
    username: str
    password: str
    code: str | None = None  # the second factor: a TOTP code or a recovery code


class PasswordBody(msgspec.Struct, forbid_unknown_fields=True):
    current_password: str
    new_password: str


def user_view(user: User, for_admin: bool = False) -> dict[str, Any]:
    """The contract's `user` object; in admin answers it also says `disabled` (§8)."""
    language = user.language or DEFAULT_LANGUAGE
    view = user_object(user.id, user.username, user.display_name, user.is_admin, language)
    if for_admin:
        view["disabled"] = user.disabled
    return view


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
    language = body.language if body.language is not None else DEFAULT_LANGUAGE
    problem = language_problem(language)
    if problem:
        raise ApiError("invalid", problem)
    request.state.language = language  # the language of this answer's error, if any
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
        user = await user_store.create_user(
            db, username, display_name, password_hash, language=language
        )
    if user is None:
        raise ApiError("conflict", "that username is taken")
    return json_response({"user": user_view(user)}, 201)


@dataclass(slots=True)
class _Found:
    """What checking a login found out."""

    user: User | None = None
    rehash: str | None = None  # a new hash when the hashing parameters changed
    needs_code: bool = False  # the password was right; the second factor is missing


async def _check_login(hearth: Hearth, body: LoginBody, address: str) -> tuple[User, str | None]:
    """The user whose password (and second factor) this is, and a new hash if the
    parameters changed; 401 or 429 otherwise."""
    username = body.username.lower()
    found = _Found()

    async def check() -> bool:
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
        # A disabled account is refused exactly as a wrong password is (PROTOCOL §8).
        if not ok or user is None or user.disabled:
            return False
        if user.totp_enabled:
            if body.code is None:
                found.needs_code = True
                return True
            if not await second_factor_ok(hearth, user, body.code):
                return False
        found.user, found.rehash = user, rehash
        return True

    if not await throttled_check(hearth, username, address, check):
        raise ApiError("bad_credentials", "wrong username or password")
    if found.needs_code:
        raise ApiError("totp_required", "enter the code from your authenticator app")
    assert found.user is not None
    return found.user, found.rehash


async def login(request: Request) -> Response:
    hearth = _hearth(request)
    body = await read_struct(request, hearth.settings.limits.max_request_bytes, LoginBody)
    user, rehash = await _check_login(hearth, body, _address(request))
    token = new_token()
    lifetimes = hearth.sessions.lifetimes
    async with hearth.db() as db:
        if rehash is not None:
            await user_store.set_password(db, user, rehash)
        await user_store.create_session(db, user.id, token_hash(token), lifetimes.max_ms)
    await hearth.sessions.bound(user.id, hearth.settings.sessions_per_user)
    answer: dict[str, Any] = {"token": token, "user": user_view(user)}
    if await must_enrol(hearth, user):
        answer["totp_setup_required"] = True
    response = json_response(answer)
    response.set_cookie(
        COOKIE,
        token,
        max_age=lifetimes.max_ms // 1000,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


async def change_password(request: Request) -> Response:
    hearth = _hearth(request)
    caller = await require_caller(hearth, request, changes=True, setting_up=True)
    body = await read_struct(request, hearth.settings.limits.max_request_bytes, PasswordBody)
    user = caller.user

    async def check() -> bool:
        ok, _ = await hearth.passwords.verify(user.password_hash, body.current_password)
        return ok

    if not await throttled_check(hearth, user.username, _address(request), check):
        raise ApiError("bad_credentials", "the current password is not right")
    refused = password_problem(body.new_password, user.username)
    if refused:
        raise ApiError(*refused)
    password_hash = await hearth.passwords.hash(body.new_password)
    async with hearth.db() as db:
        fresh = await user_store.user_by_id(db, user.id)
        if fresh is None:
            raise ApiError("unauthorized", "sign in first")
        await user_store.set_password(db, fresh, password_hash)
        await audit_store.write_entry(db, (user.id, user.username), "password.change", None)
    await hearth.sessions.end_all_of(user.id, keep=caller.session.id)
    return Response(status_code=204)


async def logout(request: Request) -> Response:
    hearth = _hearth(request)
    caller = await require_caller(hearth, request, changes=True, setting_up=True)
    await hearth.sessions.end([caller.session.id])
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/")
    return response


def _session_view(hearth: Hearth, caller: Caller) -> dict[str, Any]:
    session = caller.session
    return {
        "expires_at": hearth.sessions.ends_at(session),
        "absolute_expires_at": session.expires_at,
        "idle_seconds": hearth.sessions.lifetimes.idle_ms // 1000,
        "now": hearth.sessions.now(),
    }


async def me(request: Request) -> Response:
    hearth = _hearth(request)
    caller = await require_caller(hearth, request, setting_up=True)
    return json_response(
        {
            "user": user_view(caller.user),
            "session": _session_view(hearth, caller),
            "totp": {
                "enabled": caller.user.totp_enabled,
                "setup_required": await must_enrol(hearth, caller.user),
            },
        }
    )


async def session_status(request: Request) -> Response:
    """When this session ends; unlike every other request, asking is not activity (so a
    page can check whether the session was kept alive elsewhere before warning)."""
    hearth = _hearth(request)
    caller = await require_caller(hearth, request, setting_up=True, touch=False)
    return json_response({"session": _session_view(hearth, caller)})


routes = [
    Route("/api/auth/register", register, methods=["POST"]),
    Route("/api/auth/login", login, methods=["POST"]),
    Route("/api/auth/logout", logout, methods=["POST"]),
    Route("/api/auth/password", change_password, methods=["POST"]),
    Route("/api/auth/session", session_status, methods=["GET"]),
    Route("/api/me", me, methods=["GET"]),
]
