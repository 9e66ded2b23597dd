"""The optional second factor over HTTP (a Hearth addition, see the README): set up TOTP,
confirm it (receiving recovery codes), turn it off; and the check at login."""

from __future__ import annotations

import logging
import time

import msgspec
from cryptography.exceptions import InvalidTag
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..accounts.totp import (
    is_recovery_code,
    matching_step,
    new_recovery_codes,
    new_secret,
    otpauth_uri,
    recovery_hash,
    totp_sealer,
)
from ..store import audit as audit_store
from ..store import second_factor as factor_store
from ..store import users as user_store
from ..store.models import User
from .attempts import throttled_check
from .auth import Caller, require_caller
from .bodies import read_struct
from .errors import ApiError, json_response
from .state import Hearth

__all__ = ["routes", "second_factor_ok"]

log = logging.getLogger("hearth.accounts")


class CodeBody(msgspec.Struct, forbid_unknown_fields=True):
    code: str


class PasswordBody(msgspec.Struct, forbid_unknown_fields=True):
    password: str


def _secret(hearth: Hearth, user: User) -> str | None:
    """The user's TOTP secret, or None if there is none or it cannot be opened (sealed
    under another HEARTH_SECRET_KEY: recovery codes still work)."""
    if user.totp_secret is None:
        return None
    try:
        return totp_sealer(hearth.settings.secret_key).open(user.totp_secret, user.id.encode())
    except (InvalidTag, KeyError, ValueError):
        log.error("a TOTP secret cannot be opened: was HEARTH_SECRET_KEY changed?")
        return None


async def second_factor_ok(hearth: Hearth, user: User, code: str) -> bool:
    """Whether `code` is a current TOTP code not used before, or an unspent recovery code
    (which it spends)."""
    if len(code) > 64:
        return False
    if is_recovery_code(code):
        async with hearth.db() as db:
            return await factor_store.use_recovery_code(db, user.id, recovery_hash(code))
    secret = _secret(hearth, user)
    if secret is None:
        return False
    step = matching_step(secret, code, time.time(), user.totp_last_step)
    if step is None:
        return False
    async with hearth.db() as db:
        return await factor_store.use_step(db, user.id, step)


async def _caller(request: Request) -> tuple[Hearth, Caller]:
    hearth: Hearth = request.app.state.hearth
    caller = await require_caller(hearth, request, changes=True, setting_up=True)
    return hearth, caller


async def setup(request: Request) -> Response:
    """A new secret to type into an authenticator app; not in use until confirmed."""
    hearth, caller = await _caller(request)
    if caller.user.totp_enabled:
        raise ApiError("conflict", "two-step sign-in is already on; turn it off first")
    secret = new_secret()
    sealed = totp_sealer(hearth.settings.secret_key).seal(secret, caller.user.id.encode())
    async with hearth.db() as db:
        user = await user_store.user_by_id(db, caller.user.id)
        assert user is not None  # the session's user (sessions end with their user)
        await factor_store.set_pending(db, user, sealed)
    return json_response({"secret": secret, "uri": otpauth_uri(secret, caller.user.username)})


async def confirm(request: Request) -> Response:
    """Turn the second factor on with a code from the app; answers the recovery codes
    (shown this once; only their hashes are kept)."""
    hearth, caller = await _caller(request)
    body = await read_struct(request, hearth.settings.limits.max_request_bytes, CodeBody)
    user = caller.user
    secret = _secret(hearth, user)
    if user.totp_enabled or secret is None:
        raise ApiError("conflict", "start the set-up first")
    step = matching_step(secret, body.code, time.time(), None)
    if step is None:
        raise ApiError("invalid", "that code is not right; check the app's clock and try again")
    codes = new_recovery_codes()
    async with hearth.db() as db:
        fresh = await user_store.user_by_id(db, user.id)
        assert fresh is not None
        await factor_store.confirm(db, fresh, step, [recovery_hash(c) for c in codes])
        await audit_store.write_entry(db, (user.id, user.username), "totp.enable", None)
    return json_response({"recovery_codes": codes})


async def turn_off(request: Request) -> Response:
    """Turn the second factor off (the password again, as proof); not while it is
    required of this user."""
    hearth, caller = await _caller(request)
    body = await read_struct(request, hearth.settings.limits.max_request_bytes, PasswordBody)
    user, address = caller.user, request.client.host if request.client else "unknown"

    async def check() -> bool:  # guesses count as failed logins
        ok, _ = await hearth.passwords.verify(user.password_hash, body.password)
        return ok

    if not await throttled_check(hearth, user.username, address, check):
        raise ApiError("bad_credentials", "the password is not right")
    async with hearth.db() as db:
        fresh = await user_store.user_by_id(db, user.id)
        assert fresh is not None
        staff = fresh.is_admin or await user_store.facilitates_any(db, user.id)
        if hearth.settings.totp_required_for_staff and staff:
            raise ApiError("forbidden", "two-step sign-in is required for staff")
        await factor_store.remove(db, fresh)
        await audit_store.write_entry(db, (user.id, user.username), "totp.disable", None)
    return Response(status_code=204)


routes = [
    Route("/api/auth/totp/setup", setup, methods=["POST"]),
    Route("/api/auth/totp/confirm", confirm, methods=["POST"]),
    Route("/api/auth/totp/disable", turn_off, methods=["POST"]),
]
