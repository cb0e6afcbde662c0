"""markers: deploys, incidents and other events, as Grafana's annotations

One row per marker: its kind, the service it concerns ('' for the whole platform), its time
and optional end (Unix seconds), text, tags, author and when it was written. Charts draw
them; SLO reports attribute the budget spent inside each one to it.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "markers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("service", sa.String(length=63), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("end_at", sa.BigInteger(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_markers")),
    )
    op.create_index("ix_markers_at", "markers", ["at"])
    op.create_index("ix_markers_service_at", "markers", ["service", "at"])


def downgrade() -> None:
    op.drop_index("ix_markers_service_at", table_name="markers")
    op.drop_index("ix_markers_at", table_name="markers")
    op.drop_table("markers")
