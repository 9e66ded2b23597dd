"""Password hashing with argon2id (RFC 9106 parameters), off the event loop, and password rules."""

from __future__ import annotations

import asyncio
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["Passwords", "password_problem"]

MIN_LENGTH = 8
MAX_LENGTH = 128


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    text = resources.files("server.accounts").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def password_problem(password: str, username: str) -> tuple[str, str] | None:
    """(code, message) if a new password is refused (NIST SP 800-63B), else None."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return ("invalid", f"password must be {MIN_LENGTH} to {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered == username.lower() or lowered in _common():
        return ("weak_password", "this password is too common or too easy to guess")
    return None


class Passwords:
    """argon2id hashing; defaults are RFC 9106's second recommended option (64 MiB, t=3)."""

    def __init__(
        self, time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 4, at_once: int = 2
    ) -> None:
        # Each hash holds `memory_kib` while it runs: at most `at_once` run in this process,
        # so a burst of logins queues for CPU instead of taking memory without bound.
        self._slots = asyncio.Semaphore(at_once)
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        # Verified against when the user does not exist, so both cases take the same time.
        self._dummy = self._hasher.hash("hearth-dummy-password")

    async def hash(self, password: str) -> str:
        """An argon2id hash of `password`, computed in a worker thread."""
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> tuple[bool, str | None]:
        """(matches, new hash if the parameters changed); `stored` None checks a dummy."""
        if len(password) > MAX_LENGTH:
            return False, None
        target = stored if stored is not None else self._dummy
        async with self._slots:
            ok = await asyncio.to_thread(self._check, target, password)
        if not ok or stored is None:
            return False, None
        if self._hasher.check_needs_rehash(stored):
            return True, await self.hash(password)
        return True, None

    def _check(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
