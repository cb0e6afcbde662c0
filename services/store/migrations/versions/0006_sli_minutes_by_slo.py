"""sli_minutes by SLO: an index on (slo_id, minute, good, total)

The minute table is keyed time first (minute, slo_id, instance), so one SLO's 30 days of
minutes lie spread among every SLO's rows and a read of them scans the whole range. The
SLO report reads exactly that (`stored_series`); this index holds each SLO's minutes as
one run with their counts, so the read never touches the table (on SQLite, 30 days of one
SLO among 15: ~31 ms against ~78 ms by the key, and ~55 ms with an index on (slo_id,
minute) alone, which has to look each row up in the table).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sli_minutes_slo_minute", "sli_minutes",
                    ["slo_id", "minute", "good", "total"])


def downgrade() -> None:
    op.drop_index("ix_sli_minutes_slo_minute", table_name="sli_minutes")
