"""language: users choose English or Spanish; rooms have Spanish crisis resources

PROTOCOL §7: `user.language` ("en" or "es", existing users "en") and the room setting
`crisis_resources_es` (existing rooms get the Spanish 988 notice: call and press 2, or text
AYUDA to 988).

Revision ID: 0004
Revises: 0006
Create Date: 2026-11-30 20:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0004"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The default of server/rooms/settings.py at the time of this revision (a migration never
# imports the code it migrates).
CRISIS_RESOURCES_ES = (
    "No estás solo ni sola. Si estás pensando en el suicidio o estás en crisis, llama al 988 "
    "y oprime 2 para hablar en español, o envía la palabra AYUDA por mensaje de texto al 988: "
    "es la Línea 988 de Prevención del Suicidio y Crisis (EE. UU.), a cualquier hora, gratis y "
    "confidencial. Si estás en peligro inmediato, llama al 911. Ya le avisamos a quien facilita "
    "tu grupo, y está aquí para ti."
)


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("language", sa.String(length=8), nullable=False, server_default="en")
        )
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "crisis_resources_es",
                sa.Text(),
                nullable=False,
                server_default=CRISIS_RESOURCES_ES,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.drop_column("crisis_resources_es")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("language")
