"""The schema catalog, auto-number counters, principals and tokens.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _catalog_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name_key", sa.String(100), nullable=False, unique=True),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )


def upgrade() -> None:
    op.create_table(
        "rb_meta",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    _catalog_table("rb_entities")
    _catalog_table("rb_choice_sets")
    op.create_table(
        "rb_counters",
        sa.Column("field_id", sa.String(36), primary_key=True),
        sa.Column("next_value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "rb_principals",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "rb_tokens",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("principal_id", sa.String(36), sa.ForeignKey("rb_principals.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("is_admin", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32)),
        sa.Column("revoked_at", sa.String(32)),
    )
    op.bulk_insert(
        sa.table("rb_meta", sa.column("key"), sa.column("value")), [{"key": "schema_version", "value": "0"}]
    )


def downgrade() -> None:
    for name in ("rb_tokens", "rb_principals", "rb_counters", "rb_choice_sets", "rb_entities", "rb_meta"):
        op.drop_table(name)
