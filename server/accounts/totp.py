"""The optional second factor: TOTP (RFC 6238, via pyotp) and single-use recovery codes.

Pure: secrets, codes and their checks; the store keeps the sealed secret, the last
accepted time step (so a code works once) and the recovery codes' hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

import pyotp

from ..sealing import Sealer, derive_key

__all__ = [
    "ISSUER",
    "RECOVERY_CODES",
    "is_recovery_code",
    "matching_step",
    "new_recovery_codes",
    "new_secret",
    "otpauth_uri",
    "recovery_hash",
    "totp_sealer",
]

ISSUER = "Hearth"
RECOVERY_CODES = 10
_SIX_DIGITS = re.compile(r"^[0-9]{6}$")
_RECOVERY = re.compile(r"^[a-z2-7]{16}$")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


def totp_sealer(secret_key: str) -> Sealer:
    """Seals TOTP secrets at rest under a key derived from the server secret."""
    return Sealer({"t1": derive_key(secret_key, "hearth-totp")}, "t1")


def new_secret() -> str:
    """A fresh TOTP secret: 160 random bits in base32 (RFC 4226's recommended length)."""
    return pyotp.random_base32()


def otpauth_uri(secret: str, username: str) -> str:
    """The `otpauth://` URI authenticator apps accept (typed or pasted: no QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def matching_step(secret: str, code: str, now_s: float, after_step: int | None) -> int | None:
    """The time step (30 s) whose code `code` is, allowing one step of clock drift either
    way, if it is later than `after_step` (a code is accepted once); else None."""
    code = code.strip()
    if not _SIX_DIGITS.match(code):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now_s // totp.interval)
    for step in (current - 1, current, current + 1):
        if after_step is not None and step <= after_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _normal(code: str) -> str:
    return re.sub(r"[\s-]", "", code).lower()


def is_recovery_code(code: str) -> bool:
    """Whether `code` has the shape of a recovery code (16 base32 letters, dashes allowed)."""
    return len(code) <= 64 and bool(_RECOVERY.match(_normal(code)))


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """Fresh recovery codes, `xxxx-xxxx-xxxx-xxxx` (80 random bits each)."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    return codes


def recovery_hash(code: str) -> str:
    """What the store keeps of a recovery code: the SHA-256 of its letters (80 random bits
    each, so a fast hash is enough, as for session tokens)."""
    return hashlib.sha256(_normal(code).encode()).hexdigest()
