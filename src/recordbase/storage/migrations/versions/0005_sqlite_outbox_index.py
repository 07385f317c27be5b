"""SQLite: drop the outbox's partial index on pending events, which SQLite never reads.

SQLite finds pending events (`position IS NULL ORDER BY seq`) through the unique index on `position`
(entries with equal keys are in rowid order, and `seq` is the rowid), with or without the partial
index, so that index only cost every write: one more page in the log per event appended, and one
more when the event is placed. PostgreSQL reads it (its unique index does not order NULLs by `seq`),
so it keeps it.

Revision ID: 0005_sqlite_outbox_index
Revises: 0004_events
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_sqlite_outbox_index"
down_revision = "0004_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("rb_outbox_pending", table_name="rb_outbox")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.create_index("rb_outbox_pending", "rb_outbox", ["seq"], sqlite_where=sa.text("position IS NULL"))
