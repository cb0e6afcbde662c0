"""alerting: alert identities and states, transitions, outbox, silences, acknowledgements

The alerting tables of 0001 were never written; they are made again in the shape the alert
lifecycle and the delivery worker need: times as Unix seconds, an idempotency key per
transition, outbox rows with a claim (lease) and a deadline, every delivery attempt, silences
by label matchers, acknowledgements per episode, and each SLO's evaluation cursor.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _drop_old() -> None:
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_outbox_due")
    op.drop_table("delivery_attempts")
    op.drop_table("notification_outbox")
    op.drop_table("alert_transitions")
    op.drop_table("alerts")


def upgrade() -> None:
    _drop_old()
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=80), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slo", sa.String(length=200), nullable=False),
        sa.Column("service", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("episode", sa.Integer(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=False),
        sa.Column("active_since", sa.Float(), nullable=True),
        sa.Column("fired_at", sa.Float(), nullable=True),
        sa.Column("last_active_at", sa.Float(), nullable=True),
        sa.Column("resolved_at", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_alerts_fingerprint")),
    )
    op.create_index("ix_alerts_state", "alerts", ["state"])
    op.create_index("ix_alerts_slo", "alerts", ["slo"])
    op.create_table(
        "alert_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=False),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("episode", sa.Integer(), nullable=False),
        sa.Column("burn_rates", sa.JSON(), nullable=False),
        sa.Column("budget_remaining", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("silenced", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], ondelete="CASCADE",
                                name=op.f("fk_alert_transitions_alert_id_alerts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_transitions")),
        sa.UniqueConstraint("key", name=op.f("uq_alert_transitions_key")),
    )
    op.create_index("ix_alert_transitions_alert_at", "alert_transitions", ["alert_id", "at"])
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_key", sa.String(length=400), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("notifier", sa.String(length=63), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("transition_id", sa.Integer(), nullable=True),
        sa.Column("group_key", sa.String(length=500), nullable=False),
        sa.Column("group_wait_s", sa.Float(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("deadline_at", sa.Float(), nullable=False),
        sa.Column("claimed_by", sa.String(length=120), nullable=True),
        sa.Column("claimed_until", sa.Float(), nullable=True),
        sa.Column("sent_at", sa.Float(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], ondelete="SET NULL",
                                name=op.f("fk_notification_outbox_alert_id_alerts")),
        sa.ForeignKeyConstraint(
            ["transition_id"], ["alert_transitions.id"], ondelete="SET NULL",
            name=op.f("fk_notification_outbox_transition_id_alert_transitions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
        sa.UniqueConstraint("message_key", name=op.f("uq_notification_outbox_message_key")),
    )
    op.create_index("ix_notification_outbox_due", "notification_outbox",
                    ["status", "next_attempt_at"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("worker", sa.String(length=120), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["notification_outbox.id"], ondelete="CASCADE",
                                name=op.f("fk_delivery_attempts_outbox_id_notification_outbox")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
    )
    op.create_index(op.f("ix_delivery_attempts_outbox_id"), "delivery_attempts", ["outbox_id"])
    op.create_table(
        "silences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("matchers", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.Float(), nullable=False),
        sa.Column("ends_at", sa.Float(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_silences")),
    )
    op.create_table(
        "alert_acknowledgements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("episode", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], ondelete="CASCADE",
                                name=op.f("fk_alert_acknowledgements_alert_id_alerts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_acknowledgements")),
    )
    op.create_index(op.f("ix_alert_acknowledgements_alert_id"), "alert_acknowledgements",
                    ["alert_id"])
    op.create_table(
        "alert_cursors",
        sa.Column("slo", sa.String(length=200), nullable=False),
        sa.Column("through", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("slo", name=op.f("pk_alert_cursors")),
    )


def downgrade() -> None:
    for table in ("alert_cursors", "alert_acknowledgements", "silences", "delivery_attempts",
                  "notification_outbox", "alert_transitions", "alerts"):
        op.drop_table(table)
