"""cost_stated: the figures a cost source states, kept beside its lines

A cost table states figures of its own (each line's annual cost and cost per user, and a
Total row: monthly, annual, per user and the overall potential, e.g. the platform's "18%"
where its lines give 15.0%). They were dropped when the lines were stored, so the API and
the Cost page could not show the stated-versus-computed flags. Kept now: three nullable
columns on cost_lines (the line's row in its file and its stated cells) and one row per
(source, month) for a Total row. Stated figures are kept as the decimal text read
(`18`, `149400`, `0.01245`): how many places a source wrote decides whether a computed
figure is the stated one rounded, so they are not normalised by a Numeric column.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cost_lines", sa.Column("line", sa.Integer(), nullable=True))
    op.add_column("cost_lines", sa.Column("stated_annual", sa.String(length=40), nullable=True))
    op.add_column("cost_lines", sa.Column("stated_per_user", sa.String(length=40), nullable=True))
    op.create_table(
        "cost_stated_totals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("monthly_cost", sa.String(length=40), nullable=True),
        sa.Column("annual_cost", sa.String(length=40), nullable=True),
        sa.Column("cost_per_user", sa.String(length=40), nullable=True),
        sa.Column("potential_percent", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "month"),
    )


def downgrade() -> None:
    op.drop_table("cost_stated_totals")
    with op.batch_alter_table("cost_lines") as batch:
        batch.drop_column("stated_per_user")
        batch.drop_column("stated_annual")
        batch.drop_column("line")
