"""Repository for users' second factor: the sealed TOTP secret, the last accepted step and
single-use recovery codes."""

from __future__ import annotations

from sqlalchemy import delete, or_, update

from .engine import DbSession
from .models import RecoveryCode, User

__all__ = ["confirm", "remove", "set_pending", "use_recovery_code", "use_step"]


async def set_pending(db: DbSession, user: User, sealed_secret: str) -> None:
    """Keep a new, not yet confirmed secret for `user`."""
    user.totp_secret, user.totp_enabled, user.totp_last_step = sealed_secret, False, None
    db.add(user)
    await db.commit()


async def confirm(db: DbSession, user: User, step: int, recovery_hashes: list[str]) -> None:
    """Turn the second factor on, with fresh recovery codes (replacing any old ones)."""
    user.totp_enabled, user.totp_last_step = True, step
    db.add(user)
    await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.add_all(RecoveryCode(user_id=user.id, code_hash=h) for h in recovery_hashes)
    await db.commit()


async def remove(db: DbSession, user: User) -> None:
    """Turn the second factor off and forget its secret and recovery codes."""
    user.totp_secret, user.totp_enabled, user.totp_last_step = None, False, None
    db.add(user)
    await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    await db.commit()


async def use_step(db: DbSession, user_id: str, step: int) -> bool:
    """Accept a code of time step `step` once: False if it (or a later one) was used."""
    result = await db.execute(
        update(User)
        .where(
            User.id == user_id, or_(User.totp_last_step.is_(None), User.totp_last_step < step)
        )
        .values(totp_last_step=step)
    )
    await db.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def use_recovery_code(db: DbSession, user_id: str, code_hash: str) -> bool:
    """Spend a recovery code: True once, for a code the user holds."""
    result = await db.execute(
        delete(RecoveryCode).where(
            RecoveryCode.user_id == user_id, RecoveryCode.code_hash == code_hash
        )
    )
    await db.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]
