"""The tables a caller's SQL may name: the entities it may read, each with its readable columns only.

Permissions are the query engine's (core/query/access.py): no READ on an entity makes it unknown,
a field under access control the caller may not read is no column at all, and "own records only"
becomes a row filter on `CreatedBy` that storage puts inside the table's subquery.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from recordbase.core.permissions import FORBIDDEN_TEXT, Action, Permissions, Scope
from recordbase.core.query.plan import SYSTEM
from recordbase.core.schema import Entity, Field, Schema
from recordbase.errors import Forbidden

SYSTEM_COLUMNS = tuple(SYSTEM[name] for name in ("Id", "CreatedBy", "CreateTime", "UpdatedBy", "UpdateTime"))


@dataclass(frozen=True)
class SqlTable:
    """One entity as the caller's SQL sees it: its columns, and the owner its rows are limited to."""

    entity: Entity
    columns: tuple[Field, ...]
    owner: str | None = None

    def column(self, name: str) -> Field | None:
        """The column of this name, ignoring case (SQL identifiers do; field names are unique that way)."""
        lowered = name.lower()
        return next((f for f in self.columns if f.name.lower() == lowered), None)


def visible_tables(schema: Schema, permissions: Permissions) -> Mapping[str, SqlTable]:
    """Readable entities by lower-cased name; Forbidden when the caller may read no entity at all."""
    require_reader(permissions)
    tables: dict[str, SqlTable] = {}
    for entity in schema.entities:
        rule = permissions.row_rule(entity, Action.READ)
        if rule is None:
            continue
        fields = tuple(f for f in entity.fields if permissions.can_read_field(entity, f.name))
        tables[entity.name.lower()] = SqlTable(entity, (*SYSTEM_COLUMNS, *fields), rule.created_by)
    return tables


def require_reader(permissions: Permissions) -> None:
    """SQL needs the data-read scope and READ granted on some entity (or every entity) by a role;
    checked before the SQL is even parsed, so a caller without either learns nothing from errors."""
    grants = (grant for role in permissions.roles for grant in role.entities.values())
    if Scope.DATA_READ not in permissions.scopes or not any(Action.READ in g.actions for g in grants):
        raise Forbidden(FORBIDDEN_TEXT)
