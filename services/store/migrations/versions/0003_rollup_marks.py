"""roll-up marks: minute rows written behind the newest roll-up

A write of minute rows notes the oldest and newest minute it wrote; reads at 5-minute and
hour steps aggregate minute rows from the oldest mark on, and the roll-up rolls from there
and clears the marks it covered. So rows written into the past (a backfill, the demo fleet's
history) are seen at once and rolled by the next roll-up, whoever wrote them.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rollup_marks",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("minute", sa.BigInteger(), nullable=False),
        sa.Column("until", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "minute", name=op.f("pk_rollup_marks")),
    )


def downgrade() -> None:
    op.drop_table("rollup_marks")
