"""an index of the transcript rows still without a seq

The upkeep that settles rows left unnumbered (transcripts/orphans.py) looked for them with
one query per room, every minute on every process; with this partial index (only rows whose
seq is null, a handful at any time) one query finds them in every room.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-01 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNNUMBERED = sa.text("seq IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_recorded_unnumbered",
        "recorded_messages",
        ["id"],
        postgresql_where=UNNUMBERED,
        sqlite_where=UNNUMBERED,
    )


def downgrade() -> None:
    op.drop_index("ix_recorded_unnumbered", table_name="recorded_messages")
