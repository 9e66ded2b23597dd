"""The pure parts of account safety, without a server or an event loop: session lifetimes,
TOTP codes (drift, single use), recovery codes, sealing of the secret, the settings."""

from __future__ import annotations

from pathlib import Path

import pyotp
import pytest

from server.accounts.sessions import Lifetimes
from server.accounts.totp import (
    is_recovery_code,
    matching_step,
    new_recovery_codes,
    new_secret,
    otpauth_uri,
    recovery_hash,
    totp_sealer,
)
from server.config import Settings, load_settings


def test_a_session_ends_at_the_earlier_of_idle_and_absolute() -> None:
    life = Lifetimes.of(Settings(session_idle_minutes=60, session_max_hours=12))
    assert (life.idle_ms, life.max_ms) == (3_600_000, 43_200_000)
    assert life.ends_at(expires_at=10_000_000, last_seen=1_000) == 3_601_000
    assert life.ends_at(expires_at=2_000_000, last_seen=1_000) == 2_000_000


def test_totp_codes_allow_one_step_of_drift_and_work_once() -> None:
    secret = new_secret()
    totp = pyotp.TOTP(secret)
    now = 1_800_000_015.0
    step = int(now // 30)
    assert matching_step(secret, totp.at(now), now, None) == step
    assert matching_step(secret, totp.at(now - 30), now, None) == step - 1
    assert matching_step(secret, totp.at(now + 30), now, None) == step + 1
    assert matching_step(secret, totp.at(now + 60), now, None) is None
    assert matching_step(secret, totp.at(now - 60), now, None) is None
    # Used once: that step and earlier ones are refused afterwards.
    assert matching_step(secret, totp.at(now), now, step) is None
    assert matching_step(secret, totp.at(now - 30), now, step) is None
    assert matching_step(secret, totp.at(now + 30), now, step) == step + 1
    for bad in ("", "12345", "1234567", "abcdef", "１２３４５６"):
        assert matching_step(secret, bad, now, None) is None


def test_recovery_codes_are_random_and_matched_loosely() -> None:
    codes = new_recovery_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    for code in codes:
        assert len(code) == 19 and code.count("-") == 3 and is_recovery_code(code)
        squashed = code.replace("-", "").upper()
        assert is_recovery_code(squashed) and recovery_hash(squashed) == recovery_hash(code)
        assert recovery_hash(code) != code and len(recovery_hash(code)) == 64
    assert not is_recovery_code("123456")
    assert not is_recovery_code("a" * 70)


def test_the_secret_is_sealed_to_its_user() -> None:
    sealer = totp_sealer("a server secret of some length")
    secret = new_secret()
    sealed = sealer.seal(secret, b"user-1")
    assert secret not in sealed
    assert sealer.open(sealed, b"user-1") == secret
    with pytest.raises(Exception):  # noqa: B017 - any failure: the context is bound
        sealer.open(sealed, b"user-2")
    assert otpauth_uri(secret, "sam").startswith("otpauth://totp/Hearth:sam?secret=")


def test_accounts_settings_are_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "hearth.toml"
    path.write_text(
        "[accounts]\nsession_idle_minutes = 0.5\nsession_max_hours = 2\n"
        "sessions_per_user = 3\nsession_check_seconds = 1\ntotp_required_for_staff = true\n"
    )
    settings = load_settings({"HEARTH_CONFIG": str(path), "HEARTH_SECRET_KEY": "k" * 32})
    assert settings.session_idle_minutes == 0.5 and settings.session_max_hours == 2
    assert settings.sessions_per_user == 3 and settings.session_check_seconds == 1
    assert settings.totp_required_for_staff is True
    for bad in ("session_idle_minutes = 0", "session_max_hours = -1", "sessions_per_user = 'x'",
                "sessions_per_user = 0.5"):
        path.write_text(f"[accounts]\n{bad}\n")
        with pytest.raises(ValueError):
            load_settings({"HEARTH_CONFIG": str(path), "HEARTH_SECRET_KEY": "k" * 32})
