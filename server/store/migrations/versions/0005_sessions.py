"""group sessions and attendance (PROTOCOL §5)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 20:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "group_sessions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column(
            "room_id",
            sa.String(length=32),
            sa.ForeignKey("rooms.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("opened_at", sa.BigInteger(), nullable=False),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.Column("opened_by", sa.String(length=16), nullable=False),
        sa.Column("ended_by", sa.String(length=16), nullable=True),
        sa.Column("slot_at", sa.BigInteger(), nullable=True),
        sa.Column("empty_since", sa.BigInteger(), nullable=True),
        sa.UniqueConstraint("room_id", "slot_at", name="uq_group_sessions_slot"),
    )
    op.create_index("ix_group_sessions_room_id", "group_sessions", ["room_id"])
    op.create_index(
        "uq_group_sessions_open",
        "group_sessions",
        ["room_id"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_table(
        "attendance",
        sa.Column(
            "session_id",
            _ID,
            sa.ForeignKey("group_sessions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_id",
            sa.String(length=32),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("first_joined", sa.BigInteger(), nullable=False),
        sa.Column("last_left", sa.BigInteger(), nullable=True),
        sa.Column("present_ms", sa.BigInteger(), nullable=False),
        sa.Column("stay_started", sa.BigInteger(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("attendance")
    op.drop_index("uq_group_sessions_open", table_name="group_sessions")
    op.drop_index("ix_group_sessions_room_id", table_name="group_sessions")
    op.drop_table("group_sessions")
