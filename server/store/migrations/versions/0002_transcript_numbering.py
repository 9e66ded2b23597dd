"""transcript rows are stored before they are numbered

A recorded message is committed before it is sent, and numbered when it is published, so
`seq` and `epoch` start out null; `stored_at` tells a row whose numbering never came (a
send that failed after storing) from one still on its way.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("recorded_messages", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.BigInteger(), nullable=True)
        batch_op.alter_column("epoch", existing_type=sa.String(length=32), nullable=True)
        batch_op.add_column(sa.Column("stored_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM recorded_messages WHERE seq IS NULL OR epoch IS NULL")
    with op.batch_alter_table("recorded_messages", schema=None) as batch_op:
        batch_op.drop_column("stored_at")
        batch_op.alter_column("epoch", existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
