"""SQLAlchemy 2 models: the schema Alembic migrates. Times are Unix milliseconds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AgreementAcceptance",
    "Attendance",
    "AuditEntry",
    "Ban",
    "Base",
    "ConsentRecord",
    "GroupSession",
    "RecordedMessage",
    "RecoveryCode",
    "Room",
    "RoomEntry",
    "RoomRole",
    "Session",
    "User",
]


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    display_name: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str] = mapped_column(String(8), default="en")  # PROTOCOL §7
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The TOTP secret, sealed (server/sealing.py); set at enrolment, in use once confirmed.
    totp_secret: Mapped[str | None] = mapped_column(String(255), nullable=True)
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last time step whose code was accepted: a code works once.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Session(Base):
    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)  # the absolute end
    last_seen_at: Mapped[int] = mapped_column(BigInteger)  # idle time counts from here


class RecoveryCode(Base):
    """A single-use TOTP recovery code: only its SHA-256 is kept."""

    __tablename__ = "recovery_codes"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)


class Room(Base):
    __tablename__ = "rooms"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    agreement: Mapped[str | None] = mapped_column(Text, nullable=True)
    agreement_version: Mapped[int] = mapped_column(Integer, default=0)
    access: Mapped[str] = mapped_column(String(16), default="open")
    transcripts: Mapped[str] = mapped_column(String(16), default="off")
    transcript_readers: Mapped[str] = mapped_column(String(16), default="facilitators")
    # No Python default: the ORM would put it in place of an explicit None ("keep forever").
    retention_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    slow_mode_seconds: Mapped[int] = mapped_column(Integer, default=0)
    max_message_chars: Mapped[int] = mapped_column(Integer, default=2000)
    resume_window_seconds: Mapped[int] = mapped_column(Integer, default=300)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    crisis_resources: Mapped[str] = mapped_column(Text)
    crisis_resources_es: Mapped[str] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[int] = mapped_column(BigInteger)


class RoomRole(Base):
    __tablename__ = "room_roles"

    room_id: Mapped[str] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16))


class AgreementAcceptance(Base):
    __tablename__ = "agreement_acceptances"

    room_id: Mapped[str] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer)
    accepted_at: Mapped[int] = mapped_column(BigInteger)


class RoomEntry(Base):
    """When a user first entered a room (got `welcome`): who may read a `members`
    transcript, and from when (PROTOCOL §2 `transcript_readers`)."""

    __tablename__ = "room_entries"

    room_id: Mapped[str] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    first_entered_at: Mapped[int] = mapped_column(BigInteger)


class ConsentRecord(Base):
    __tablename__ = "consents"

    room_id: Mapped[str] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    recorded: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class Ban(Base):
    __tablename__ = "bans"

    room_id: Mapped[str] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    by_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[int] = mapped_column(BigInteger)


class RecordedMessage(Base):
    """A transcript row: only messages whose author consented; the body is sealed."""

    __tablename__ = "recorded_messages"
    __table_args__ = (
        UniqueConstraint("room_id", "message_id"),
        Index("ix_recorded_room_seq", "room_id", "seq"),
        Index("ix_recorded_room_author", "room_id", "author_id"),
        Index("ix_recorded_ts", "ts"),
        # Rows still without a seq (a handful at any time): the upkeep that settles them.
        Index(
            "ix_recorded_unnumbered",
            "id",
            postgresql_where=text("seq IS NULL"),
            sqlite_where=text("seq IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(32))
    # Null until the message is published and numbered (it is stored before it is sent).
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    epoch: Mapped[str | None] = mapped_column(String(32), nullable=True)
    author_id: Mapped[str] = mapped_column(String(32))
    author: Mapped[dict[str, Any]] = mapped_column(JSON)
    key_id: Mapped[str] = mapped_column(String(32))
    body_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    ts: Mapped[int] = mapped_column(BigInteger)
    stored_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_room", "room_slug", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    ts: Mapped[int] = mapped_column(BigInteger)
    actor_id: Mapped[str] = mapped_column(String(32))
    actor_username: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    room_slug: Mapped[str | None] = mapped_column(String(64), nullable=True)
    target_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    target_username: Mapped[str | None] = mapped_column(String(32), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class GroupSession(Base):
    """One meeting of a room's group (PROTOCOL §5). At most one per room is open: the
    partial unique index lets exactly one writer open it, whichever process that is."""

    __tablename__ = "group_sessions"
    __table_args__ = (
        Index(
            "uq_group_sessions_open",
            "room_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        # A scheduled start opens one session, once, even if it is ended within its minute.
        UniqueConstraint("room_id", "slot_at", name="uq_group_sessions_slot"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    opened_at: Mapped[int] = mapped_column(BigInteger)
    ended_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    opened_by: Mapped[str] = mapped_column(String(16))
    ended_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    slot_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    empty_since: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Attendance(Base):
    """Who attended a session and for how long; never anything they said."""

    __tablename__ = "attendance"

    session_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("group_sessions.id", ondelete="CASCADE"),
        primary_key=True,
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16))
    first_joined: Mapped[int] = mapped_column(BigInteger)
    last_left: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Closed stays, summed (ms); the current stay runs from `stay_started`.
    present_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    stay_started: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
