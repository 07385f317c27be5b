"""Identity and permissions: login secrets, groups, roles, assignments, refresh tokens, revocations, audit.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rb_principal_secrets",
        sa.Column("principal_id", sa.String(36), sa.ForeignKey("rb_principals.id"), primary_key=True),
        sa.Column("login", sa.String(200), nullable=False, unique=True),
        sa.Column("secret_hash", sa.Text, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
    )
    op.create_table(
        "rb_group_members",
        sa.Column("group_id", sa.String(36), sa.ForeignKey("rb_principals.id"), primary_key=True),
        sa.Column("member_id", sa.String(36), sa.ForeignKey("rb_principals.id"), primary_key=True),
    )
    op.create_table(
        "rb_roles",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name_key", sa.String(100), nullable=False, unique=True),
        sa.Column("definition", sa.Text, nullable=False),
    )
    op.create_table(
        "rb_role_assignments",
        sa.Column("principal_id", sa.String(36), sa.ForeignKey("rb_principals.id"), primary_key=True),
        sa.Column("role_id", sa.String(36), sa.ForeignKey("rb_roles.id"), primary_key=True),
    )
    op.create_table(
        "rb_refresh_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("family_id", sa.String(36), nullable=False, index=True),
        sa.Column("principal_id", sa.String(36), sa.ForeignKey("rb_principals.id"), nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=False),
        sa.Column("used_at", sa.String(32)),
    )
    op.create_table(
        "rb_revocations",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("expires_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "rb_audit",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("at", sa.String(32), nullable=False, index=True),
        sa.Column("actor_id", sa.String(36), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
    )
    with op.batch_alter_table("rb_tokens") as batch:
        batch.add_column(sa.Column("scopes", sa.Text, nullable=True))
    meta = sa.table("rb_meta", sa.column("key"), sa.column("value"))
    op.bulk_insert(meta, [{"key": "security_version", "value": "0"}])


def downgrade() -> None:
    with op.batch_alter_table("rb_tokens") as batch:
        batch.drop_column("scopes")
    for name in (
        "rb_audit",
        "rb_revocations",
        "rb_refresh_tokens",
        "rb_role_assignments",
        "rb_roles",
        "rb_group_members",
        "rb_principal_secrets",
    ):
        op.drop_table(name)
    op.execute("DELETE FROM rb_meta WHERE key = 'security_version'")
