"""Typed settings, read once at start-up from `HEARTH_CONFIG` (TOML) and the environment."""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import secrets
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

__all__ = ["LOG_FORMATS", "LOG_LEVELS", "Limits", "Settings", "load_settings", "transcript_keys"]

log = logging.getLogger("hearth.config")

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///hearth.db"
# Heartbeats (and sweeps) per presence bound: a live socket's entry survives four missed ones.
PRESENCE_ROUNDS = 6
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS = ("text", "json")
# Listening on every interface would put /metrics on the public network.
_WILDCARD_HOSTS = ("", "0.0.0.0", "::", "[::]", "*")


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-socket and per-request limits (PROTOCOL §2, §3)."""

    max_frame_bytes: int = 65536
    max_request_bytes: int = 65536
    frames_per_second: float = 20.0
    frame_burst: int = 40
    sends_per_window: int = 5
    send_window_seconds: float = 5.0
    error_frames_before_close: int = 200
    error_window_seconds: float = 60.0
    send_queue_frames: int = 512
    login_failures_per_user: int = 10
    login_failures_per_address: int = 50
    login_window_seconds: int = 900
    logins_per_minute_per_address: int = 60
    registrations_per_minute_per_address: int = 60
    sockets_per_user: int = 5
    max_header_bytes: int = 16384
    max_headers: int = 100
    request_head_seconds: float = 10.0
    request_body_seconds: float = 30.0
    reports_per_window: int = 5
    report_window_seconds: float = 60.0
    open_flags_per_room: int = 200
    open_held_per_room: int = 200


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server reads from configuration; immutable once loaded."""

    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    secret_key: str = ""
    secret_key_generated: bool = False
    allowed_origins: tuple[str, ...] = ()
    registration_open: bool = True
    session_idle_minutes: float = 60.0
    session_max_hours: float = 12.0
    sessions_per_user: int = 10
    session_check_seconds: float = 5.0
    totp_required_for_staff: bool = False
    limits: Limits = field(default_factory=Limits)
    rooms_file: Path | None = None
    transcript_key_file: Path | None = None
    transcript_keys: tuple[tuple[str, str], ...] = ()
    hooks: tuple[str, ...] = ()
    hook_timeout_seconds: float = 2.0
    hooks_fail_open: tuple[str, ...] = ()
    crisis_phrases_file: Path | None = None
    crisis_phrases_es_file: Path | None = None
    purge_interval_seconds: int = 3600
    # The presence bound: a member of a process that dies is shown as left within this.
    presence_ttl_seconds: float = 30.0
    forwarded_allow_ips: str = ""
    password_time_cost: int = 3
    password_memory_kib: int = 65536
    session_scan_seconds: float = 10.0  # how often sessions' upkeep runs (≤ 30: see README)
    password_hashes_at_once: int = 2
    log_level: str = "warning"  # uvicorn's per-connection lines are at info
    log_format: str = "text"
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None  # None: no /metrics listener

    @property
    def presence_interval(self) -> float:
        """Seconds between two heartbeats (and sweeps) of a process: a sixth of the bound."""
        return self.presence_ttl_seconds / PRESENCE_ROUNDS

    @property
    def presence_entry_ttl(self) -> float:
        """How long a socket's presence entry outlives its last heartbeat. A process that
        dies right after a heartbeat leaves entries that expire this long after it, and the
        next sweep (at most one interval later) announces them: entry TTL + interval is
        exactly the bound, `presence_ttl_seconds`."""
        return self.presence_ttl_seconds - self.presence_interval


def _operations(data: dict[str, Any]) -> dict[str, Any]:
    """The [logging] and [metrics] tables as Settings fields, checked."""
    logs, metrics = data.get("logging", {}), data.get("metrics", {})
    unknown = sorted(
        {f"logging.{k}" for k in set(logs) - {"level", "format"}}
        | {f"metrics.{k}" for k in set(metrics) - {"host", "port"}}
    )
    if unknown:
        raise ValueError(f"unknown settings: {unknown}")
    port = metrics.get("port")
    return {
        "log_level": check_log_level(str(logs.get("level", "warning"))),
        "log_format": check_log_format(str(logs.get("format", "text"))),
        "metrics_host": check_metrics_host(str(metrics.get("host", "127.0.0.1"))),
        "metrics_port": None if port is None else check_port(port),
    }


def check_log_level(level: str) -> str:
    """`level` if it is one of LOG_LEVELS (any case), lower-cased; else ValueError."""
    if level.lower() not in LOG_LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}: {level!r}")
    return level.lower()


def check_log_format(form: str) -> str:
    """`form` if it is `text` or `json`; else ValueError."""
    if form not in LOG_FORMATS:
        raise ValueError(f"[logging] format must be one of {', '.join(LOG_FORMATS)}: {form!r}")
    return form


def check_metrics_host(host: str) -> str:
    """The metrics listener's address: one interface (the operator's network), never all."""
    if host.strip() in _WILDCARD_HOSTS:
        raise ValueError(
            "[metrics] host must name one interface (default 127.0.0.1), not every interface"
        )
    return host


def check_port(port: object) -> int:
    """A TCP port number, 1–65535; else ValueError."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"a port must be a whole number from 1 to 65535: {port!r}")
    return port


def _presence_bound(value: Any) -> float:
    bound = float(value)
    if not 0.6 <= bound <= 3600:
        raise ValueError("[server] presence_ttl_seconds must be from 0.6 to 3600")
    return bound


def _limits_from(table: dict[str, Any]) -> Limits:
    known = {f.name for f in fields(Limits)}
    unknown = set(table) - known
    if unknown:
        raise ValueError(f"unknown [limits] settings: {sorted(unknown)}")
    return Limits(**table)


def _positive(table: dict[str, Any], key: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"[accounts] {key} must be a positive number")
    return float(value)


def _whole(table: dict[str, Any], key: str, default: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"[accounts] {key} must be a whole number of at least 1")
    return value


def _accounts_from(accounts: dict[str, Any]) -> dict[str, Any]:
    """The `[accounts]` table's settings, checked."""
    return {
        "registration_open": bool(accounts.get("registration_open", True)),
        "session_idle_minutes": _positive(accounts, "session_idle_minutes", 60.0),
        "session_max_hours": _positive(accounts, "session_max_hours", 12.0),
        "sessions_per_user": _whole(accounts, "sessions_per_user", 10),
        "session_check_seconds": _positive(accounts, "session_check_seconds", 5.0),
        "totp_required_for_staff": bool(accounts.get("totp_required_for_staff", False)),
        "password_time_cost": int(accounts.get("password_hash_time_cost", 3)),
        "password_memory_kib": int(accounts.get("password_hash_memory_kib", 65536)),
        "password_hashes_at_once": _whole(accounts, "password_hashes_at_once", 2),
    }


def _path(base: Path, value: Any) -> Path | None:
    if not value:
        return None
    p = Path(str(value))
    return p if p.is_absolute() else (base / p)


_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


def transcript_keys(text: str) -> tuple[tuple[str, str], ...]:
    """The `key_id:base64` lines of a transcript key file (the first is the current key),
    as (key id, base64 text). Blank lines and `#` comments are skipped; anything else that is
    not a unique key id and 32 bytes of base64 raises ValueError (naming the line, never the
    key)."""
    keys: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key_id, _, data = (part.strip() for part in line.partition(":"))
        try:
            size = len(base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError):
            size = -1
        if not _KEY_ID.match(key_id) or size != 32 or any(k == key_id for k, _ in keys):
            raise ValueError(
                f"transcript key file, line {number}: expected a unique key_id:base64 of 32 bytes"
            )
        keys.append((key_id, data))
    if not keys:
        raise ValueError("the transcript key file holds no key")
    return tuple(keys)


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read the TOML file named by HEARTH_CONFIG (or config/hearth.toml), then the environment.

    Environment variables win over the file. Refuses unknown keys so typos do not pass silently.
    """
    env = dict(os.environ) if env is None else env
    settings = _with_environment(_from_file(*_read_file(env)), env)
    if settings.transcript_key_file is not None:
        keys = transcript_keys(settings.transcript_key_file.read_text(encoding="utf-8"))
        settings = replace(settings, transcript_keys=keys)
    return _with_secret(settings, env)


def _read_file(env: dict[str, str]) -> tuple[dict[str, Any], Path]:
    """The configuration file's tables (none if the default file is absent), and the folder
    its relative paths are read from."""
    cfg_path = Path(env.get("HEARTH_CONFIG", "config/hearth.toml"))
    if cfg_path.is_file():
        return tomllib.loads(cfg_path.read_text(encoding="utf-8")), cfg_path.resolve().parent
    if "HEARTH_CONFIG" in env:
        raise FileNotFoundError(f"HEARTH_CONFIG names a missing file: {cfg_path}")
    return {}, Path.cwd()


def _from_file(data: dict[str, Any], base: Path) -> Settings:
    """The settings of the file's tables, checked."""
    server = data.get("server", {})
    transcripts = data.get("transcripts", {})
    moderation = data.get("moderation", {})
    sessions = data.get("sessions", {})
    settings = Settings(
        database_url=str(server.get("database_url", DEFAULT_DATABASE_URL)),
        redis_url=server.get("redis_url") or None,
        allowed_origins=tuple(server.get("allowed_origins", ())),
        **_accounts_from(data.get("accounts", {})),
        presence_ttl_seconds=_presence_bound(server.get("presence_ttl_seconds", 30)),
        forwarded_allow_ips=str(server.get("forwarded_allow_ips", "")),
        limits=_limits_from(data.get("limits", {})),
        rooms_file=_path(base, data.get("rooms", {}).get("seed_file")),
        transcript_key_file=_path(base, transcripts.get("key_file")),
        hooks=tuple(moderation.get("hooks", ())),
        hook_timeout_seconds=float(moderation.get("hook_timeout_seconds", 2.0)),
        hooks_fail_open=tuple(moderation.get("fail_open", ())),
        crisis_phrases_file=_path(base, moderation.get("crisis_phrases_file")),
        crisis_phrases_es_file=_path(base, moderation.get("crisis_phrases_es_file")),
        purge_interval_seconds=int(transcripts.get("purge_interval_seconds", 3600)),
        session_scan_seconds=float(sessions.get("scan_interval_seconds", 10.0)),
        **_operations(data),
    )
    if not 0.2 <= settings.session_scan_seconds <= 30:
        # Scheduled sessions open within 60 s of their start: the upkeep must run often.
        raise ValueError("[sessions] scan_interval_seconds must be from 0.2 to 30")
    return settings


def _with_environment(settings: Settings, env: dict[str, str]) -> Settings:
    """`settings` with what the HEARTH_* variables override (all but the secret key)."""
    if "HEARTH_DATABASE_URL" in env:
        settings = replace(settings, database_url=env["HEARTH_DATABASE_URL"])
    if env.get("HEARTH_REDIS_URL"):
        settings = replace(settings, redis_url=env["HEARTH_REDIS_URL"])
    if env.get("HEARTH_ALLOWED_ORIGINS"):
        origins = tuple(o.strip().rstrip("/") for o in env["HEARTH_ALLOWED_ORIGINS"].split(","))
        settings = replace(settings, allowed_origins=tuple(o for o in origins if o))
    if env.get("HEARTH_FORWARDED_ALLOW_IPS"):
        settings = replace(settings, forwarded_allow_ips=env["HEARTH_FORWARDED_ALLOW_IPS"])
    if env.get("HEARTH_TRANSCRIPT_KEY_FILE"):
        settings = replace(settings, transcript_key_file=Path(env["HEARTH_TRANSCRIPT_KEY_FILE"]))
    return settings


def _with_secret(settings: Settings, env: dict[str, str]) -> Settings:
    """`settings` with HEARTH_SECRET_KEY, or a random key for a lone process."""
    secret = env.get("HEARTH_SECRET_KEY", "")
    if not secret:
        log.warning("HEARTH_SECRET_KEY is unset: generated a random one for this process only")
        settings = replace(
            settings, secret_key=secrets.token_urlsafe(32), secret_key_generated=True
        )
    else:
        if len(secret) < 16:
            raise ValueError("HEARTH_SECRET_KEY must be at least 16 characters")
        settings = replace(settings, secret_key=secret)
    if settings.redis_url and settings.secret_key_generated:
        # Processes sharing Redis must share the key that encrypts the resume window.
        raise ValueError(
            "HEARTH_SECRET_KEY must be set when HEARTH_REDIS_URL is (several processes)"
        )
    return settings
