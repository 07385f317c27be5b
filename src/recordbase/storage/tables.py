"""Table definitions: recordbase's own tables, and one table per entity built from its definition.

Entity tables are named after the entity's id and columns after the field's name (or its
id when the name is longer than PostgreSQL's 63-byte identifiers), so names never collide.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine

from recordbase.core.schema import Entity, Field, FieldType, Schema

metadata = sa.MetaData()

UUID_TYPE: TypeEngine[Any] = sa.String(36).with_variant(postgresql.UUID(as_uuid=False), "postgresql")
TIMESTAMP_TYPE: TypeEngine[Any] = sa.Text().with_variant(postgresql.TIMESTAMP(timezone=True), "postgresql")

meta = sa.Table(
    "rb_meta",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


def _definitions(name: str) -> sa.Table:
    """Entities and choice sets are stored alike: one JSON definition a row, unique by lower-cased name."""
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name_key", sa.String(100), nullable=False, unique=True),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )


entities = _definitions("rb_entities")
choice_sets = _definitions("rb_choice_sets")
counters = sa.Table(
    "rb_counters",
    metadata,
    sa.Column("field_id", sa.String(36), primary_key=True),
    sa.Column("next_value", sa.BigInteger, nullable=False),
)
principals = sa.Table(
    "rb_principals",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)
tokens = sa.Table(
    "rb_tokens",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("principal_id", sa.String(36), sa.ForeignKey("rb_principals.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("is_admin", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("expires_at", sa.String(32)),
    sa.Column("revoked_at", sa.String(32)),
    sa.Column("scopes", sa.Text),
)

MAX_IDENTIFIER = 63
REVISION = "_rev"


def table_name(entity: Entity) -> str:
    return "e_" + entity.id.replace("-", "")


def column_name(field: Field) -> str:
    return field.name if len(field.name.encode()) <= MAX_IDENTIFIER else "c_" + field.id.replace("-", "")


def unique_index_name(field: Field) -> str:
    return "uq_" + field.id.replace("-", "")


def index_name(field_or_index_id: str) -> str:
    return "ix_" + field_or_index_id.replace("-", "")


def declared_index_name(entity: Entity, index_name: str) -> str:
    """Index names are global in a PostgreSQL schema, so a declared index's name includes its entity."""
    return "ix_" + hashlib.sha1(f"{entity.id}:{index_name.lower()}".encode()).hexdigest()[:32]


def column_type(field: Field) -> TypeEngine[Any]:
    """The column type for a field; SQLite gets types whose affinity keeps our encodings as they are."""
    kind = field.type
    if kind in (FieldType.INTEGER, FieldType.AUTO_NUMBER, FieldType.CHOICE_SET):
        return sa.BigInteger()
    if kind is FieldType.DECIMAL:
        return sa.Float().with_variant(postgresql.NUMERIC(28, field.decimal_places or 0), "postgresql")
    if kind is FieldType.BOOLEAN:
        return sa.Boolean()
    if kind is FieldType.DATE:
        return sa.Text().with_variant(sa.Date(), "postgresql")
    if kind is FieldType.DATETIME:
        return TIMESTAMP_TYPE
    if kind in (FieldType.RELATIONSHIP, FieldType.UUID):
        return UUID_TYPE
    return sa.Text()


@dataclass
class SchemaTables:
    """SQLAlchemy tables for every entity of one schema version (foreign keys need them together)."""

    schema: Schema
    metadata: sa.MetaData = field(default_factory=sa.MetaData)
    tables: dict[str, sa.Table] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for entity in self.schema.entities:
            self.tables[entity.id] = build_table(entity, self.schema, self.metadata)

    def table(self, entity: Entity) -> sa.Table:
        return self.tables[entity.id]


def build_table(entity: Entity, schema: Schema, into: sa.MetaData) -> sa.Table:
    columns: list[sa.schema.SchemaItem] = [
        sa.Column("Id", UUID_TYPE, primary_key=True),
        sa.Column("CreatedBy", UUID_TYPE, nullable=False),
        sa.Column("CreateTime", TIMESTAMP_TYPE, nullable=False),
        sa.Column("UpdatedBy", UUID_TYPE, nullable=False),
        sa.Column("UpdateTime", TIMESTAMP_TYPE, nullable=False),
        sa.Column(REVISION, sa.BigInteger, nullable=False),
    ]
    columns += [field_column(f, schema) for f in entity.fields]
    return sa.Table(table_name(entity), into, *columns)


def field_column(field: Field, schema: Schema) -> sa.Column[Any]:
    args: list[sa.ForeignKey] = []
    if field.type is FieldType.RELATIONSHIP and field.reference_entity:
        target = schema.find_entity(field.reference_entity)
        if target is not None:
            args.append(sa.ForeignKey(f"{table_name(target)}.Id", name="fk_" + field.id.replace("-", "")))
    return sa.Column(column_name(field), column_type(field), *args, key=field.name, nullable=True)


# Identity and permissions (migration 0002).
principal_secrets = sa.Table(
    "rb_principal_secrets",
    metadata,
    sa.Column("principal_id", sa.String(36), sa.ForeignKey("rb_principals.id"), primary_key=True),
    sa.Column("login", sa.String(200), nullable=False, unique=True),
    sa.Column("secret_hash", sa.Text, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
)
group_members = sa.Table(
    "rb_group_members",
    metadata,
    sa.Column("group_id", sa.String(36), sa.ForeignKey("rb_principals.id"), primary_key=True),
    sa.Column("member_id", sa.String(36), sa.ForeignKey("rb_principals.id"), primary_key=True),
)
roles = sa.Table(
    "rb_roles",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name_key", sa.String(100), nullable=False, unique=True),
    sa.Column("definition", sa.Text, nullable=False),
)
role_assignments = sa.Table(
    "rb_role_assignments",
    metadata,
    sa.Column("principal_id", sa.String(36), sa.ForeignKey("rb_principals.id"), primary_key=True),
    sa.Column("role_id", sa.String(36), sa.ForeignKey("rb_roles.id"), primary_key=True),
)
refresh_tokens = sa.Table(
    "rb_refresh_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("family_id", sa.String(36), nullable=False, index=True),
    sa.Column("principal_id", sa.String(36), sa.ForeignKey("rb_principals.id"), nullable=False),
    sa.Column("scopes", sa.Text, nullable=False),
    sa.Column("expires_at", sa.String(32), nullable=False),
    sa.Column("used_at", sa.String(32)),
)
revocations = sa.Table(
    "rb_revocations",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("expires_at", sa.String(32), nullable=False),
)
login_failures = sa.Table(
    "rb_login_failures",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("key", sa.String(64), nullable=False, index=True),
    sa.Column("at", sa.Float, nullable=False),
)
audit = sa.Table(
    "rb_audit",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("at", sa.String(32), nullable=False, index=True),
    sa.Column("actor_id", sa.String(36), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("target", sa.String(200), nullable=False),
    sa.Column("details", sa.Text, nullable=False),
)
