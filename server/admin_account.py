"""Creating an admin from the command line, or promoting a user and resetting its password."""

from __future__ import annotations

from .accounts.passwords import Passwords, password_problem
from .config import Settings
from .http.api_accounts import username_problem
from .store import second_factor as factor_store
from .store import users as user_store
from .store.engine import make_engine, make_sessions
from .store.schema import SchemaState, schema_state, upgrade_in_thread

__all__ = ["create_admin"]


async def create_admin(settings: Settings, username: str, password: str) -> str | None:
    """Create or promote `username` as an admin with `password` (ending its sessions,
    enabling it if it was disabled and turning its second factor off); a problem text or
    None."""
    username = username.lower()
    problem = username_problem(username)
    if problem:
        return problem
    refused = password_problem(password, username)
    if refused:
        return refused[1]
    if await schema_state(settings.database_url) != SchemaState.CURRENT:
        await upgrade_in_thread(settings.database_url)
    passwords = Passwords(settings.password_time_cost, settings.password_memory_kib)
    password_hash = await passwords.hash(password)
    engine = make_engine(settings.database_url)
    try:
        async with make_sessions(engine)() as db:
            user = await user_store.user_by_username(db, username)
            if user is None:
                created = await user_store.create_user(db, username, username, password_hash, True)
                if created is None:
                    return "that username was just taken; try again"
            else:
                # A reset password ends every session of the account (each process closes
                # their sockets within `session_check_seconds`), so no session opened with
                # the old password lives on with admin rights. The CLI is also the way
                # back in for a disabled account.
                await user_store.set_password(db, user, password_hash, is_admin=True)
                await user_store.set_disabled(db, user, False)
                # ... and for one who lost both their phone and recovery codes: the second
                # factor is turned off (set it up again at the next sign-in).
                await factor_store.remove(db, user)
                await user_store.delete_sessions(db, await user_store.sessions_of(db, user.id))
    finally:
        await engine.dispose()
    return None
