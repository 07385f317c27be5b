"""Events: the transactional outbox, webhook subscriptions and their deliveries.

Revision ID: 0004_events
Revises: 0003_sec
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_events"
down_revision = "0003_sec"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rb_outbox",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("position", sa.BigInteger, nullable=True, unique=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("entity", sa.String(200), nullable=False),
        sa.Column("entity_id", sa.String(36), nullable=False),
        sa.Column("record_id", sa.String(36), nullable=True),
        sa.Column("operation", sa.String(20), nullable=False),
        sa.Column("revision", sa.Integer, nullable=True),
        sa.Column("fields", sa.Text, nullable=False),
        sa.Column("actor_id", sa.String(36), nullable=False),
        sa.Column("owner_id", sa.String(36), nullable=True),
    )
    op.create_index(
        "rb_outbox_pending", "rb_outbox", ["seq"], postgresql_where=sa.text("position IS NULL"),
        sqlite_where=sa.text("position IS NULL"),
    )  # fmt: skip
    op.create_table(
        "rb_outbox_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("last_position", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(
        sa.table("rb_outbox_state", sa.column("id"), sa.column("last_position")),
        [{"id": 1, "last_position": 0}],
    )
    op.create_table(
        "rb_webhooks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("owner_id", sa.String(36), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("topics", sa.Text, nullable=False),
        sa.Column("filter", sa.Text, nullable=True),
        sa.Column("dialect", sa.String(20), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("disabled_reason", sa.Text, nullable=True),
        sa.Column("failure_streak", sa.Integer, nullable=False),
    )
    op.create_table(
        "rb_deliveries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("webhook_id", sa.String(36), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("record_key", sa.String(80), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("window_start", sa.Float, nullable=False),
        sa.Column("next_at", sa.Float, nullable=False),
        sa.Column("lease_until", sa.Float, nullable=True),
        sa.Column("last_status", sa.Integer, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("delivered_at", sa.Float, nullable=True),
    )
    op.create_index("rb_deliveries_webhook", "rb_deliveries", ["webhook_id", "position"])
    op.create_index("rb_deliveries_due", "rb_deliveries", ["status", "next_at"])
    op.create_index("rb_deliveries_record", "rb_deliveries", ["webhook_id", "record_key", "position"])


def downgrade() -> None:
    for name in ("rb_deliveries", "rb_webhooks", "rb_outbox_state", "rb_outbox"):
        op.drop_table(name)
