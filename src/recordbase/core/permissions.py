"""Roles, scopes and what they allow: entity actions, field access and "own records only" rules.

What a request may do is its token's scopes intersected with the roles of its principal
(and of the groups the principal belongs to). The core asks `Permissions` before every
read and write; storage receives the answers as row filters and field masks, so a
forbidden record or field never leaves the database layer and never shapes a count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from recordbase.core.schema import Entity, FieldType, Schema
from recordbase.errors import Forbidden

FORBIDDEN_TEXT = (
    "You don't have permission to access the entity, field or record or you are using an unsupported "
    "robot type. Please contact your administrator for necessary permissions."
)


class Scope(StrEnum):
    SCHEMA_READ = "DataService.Schema.Read"
    DATA_READ = "DataService.Data.Read"
    DATA_WRITE = "DataService.Data.Write"
    ADMIN = "DataService.Admin"


ALL_SCOPES = frozenset(Scope)


class Action(StrEnum):
    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class AdminRight(StrEnum):
    VIEW_SCHEMA = "view_schema"
    CUSTOMIZE_SCHEMA = "customize_schema"
    MANAGE_PERMISSIONS = "manage_permissions"


ACTION_SCOPE = {
    Action.READ: Scope.DATA_READ,
    Action.CREATE: Scope.DATA_WRITE,
    Action.UPDATE: Scope.DATA_WRITE,
    Action.DELETE: Scope.DATA_WRITE,
}
ALL_ENTITIES = "*"


@dataclass(frozen=True)
class EntityGrant:
    """Actions a role allows on an entity; `own_only` limits some of them to records the caller created."""

    actions: frozenset[Action] = frozenset()
    own_only: frozenset[Action] = frozenset()


@dataclass(frozen=True)
class FieldGrant:
    read: bool = False
    write: bool = False


@dataclass(frozen=True)
class Role:
    id: str
    name: str
    builtin: bool = False
    rights: frozenset[AdminRight] = frozenset()
    entities: Mapping[str, EntityGrant] = field(default_factory=dict)
    fields: Mapping[str, Mapping[str, FieldGrant]] = field(default_factory=dict)
    all_fields: bool = False

    def grant_for(self, entity: Entity) -> EntityGrant | None:
        """Per-entity grants win; the `*` grant covers only entities without access control, except
        for the built-in Administrator (`all_fields`), whose `*` covers every entity."""
        explicit = self.entities.get(entity.name.lower())
        if explicit is not None:
            return explicit
        return None if entity.rbac and not self.all_fields else self.entities.get(ALL_ENTITIES)


_EVERY_ACTION = frozenset(Action)
BUILTIN_ROLES = (
    Role(
        "00000000-0000-0000-0000-00000000a001",
        "Administrator",
        True,
        frozenset(AdminRight),
        {ALL_ENTITIES: EntityGrant(_EVERY_ACTION)},
        all_fields=True,
    ),
    Role(
        "00000000-0000-0000-0000-00000000a002",
        "Designer",
        True,
        frozenset({AdminRight.VIEW_SCHEMA, AdminRight.CUSTOMIZE_SCHEMA}),
        {ALL_ENTITIES: EntityGrant(_EVERY_ACTION)},
    ),
    Role(
        "00000000-0000-0000-0000-00000000a003",
        "Data Writer",
        True,
        frozenset({AdminRight.VIEW_SCHEMA}),
        {ALL_ENTITIES: EntityGrant(_EVERY_ACTION)},
    ),
    Role(
        "00000000-0000-0000-0000-00000000a004",
        "Data Reader",
        True,
        frozenset({AdminRight.VIEW_SCHEMA}),
        {ALL_ENTITIES: EntityGrant(frozenset({Action.READ}))},
    ),
)
ADMINISTRATOR = BUILTIN_ROLES[0]


@dataclass(frozen=True)
class RowRule:
    """Which records of an entity an action may touch: all, or only those `CreatedBy` the caller."""

    created_by: str | None = None


@dataclass(frozen=True)
class Permissions:
    """The effective permissions of one request."""

    principal_id: str
    roles: tuple[Role, ...]
    scopes: frozenset[str]
    _rules: dict[tuple[str, bool, Action], RowRule | None] = field(
        default_factory=dict, compare=False, repr=False
    )
    """`row_rule`'s answers: it depends on the entity's name and access control only, and the same
    permissions serve every request of a principal until its security version moves."""

    @property
    def is_admin(self) -> bool:
        return Scope.ADMIN in self.scopes and any(r.all_fields for r in self.roles)

    def has_right(self, right: AdminRight) -> bool:
        needed = Scope.SCHEMA_READ if right is AdminRight.VIEW_SCHEMA else Scope.ADMIN
        return needed in self.scopes and any(right in r.rights for r in self.roles)

    def require_right(self, right: AdminRight) -> None:
        if not self.has_right(right):
            raise Forbidden(FORBIDDEN_TEXT)

    def row_rule(self, entity: Entity, action: Action) -> RowRule | None:
        """None when `action` is not allowed at all; otherwise the rows it may touch."""
        key = (entity.name, entity.rbac, action)
        try:
            return self._rules[key]
        except KeyError:
            rule = self._rules[key] = self._row_rule(entity, action)
            return rule

    def _row_rule(self, entity: Entity, action: Action) -> RowRule | None:
        if ACTION_SCOPE[action] not in self.scopes:
            return None
        grants = [
            g for g in (r.grant_for(entity) for r in self.roles) if g is not None and action in g.actions
        ]
        if not grants:
            return None
        if any(action not in g.own_only for g in grants):
            return RowRule()
        return RowRule(created_by=self.principal_id)

    def require(self, entity: Entity, action: Action) -> RowRule:
        rule = self.row_rule(entity, action)
        if rule is None:
            raise Forbidden(FORBIDDEN_TEXT)
        return rule

    def can_view_entity(self, entity: Entity) -> bool:
        """Schema visibility: everything with View All Schema, else the entities some action is granted on."""
        if Scope.SCHEMA_READ not in self.scopes:
            return False
        if self.has_right(AdminRight.VIEW_SCHEMA):
            return True
        return any(g is not None and g.actions for g in (r.grant_for(entity) for r in self.roles))

    def require_view(self, entity: Entity) -> None:
        if not self.can_view_entity(entity):
            raise Forbidden(FORBIDDEN_TEXT)

    def schema_fields(self, entity: Entity) -> frozenset[str] | None:
        """Fields whose definitions the caller may see; None means all of them."""
        if self.has_right(AdminRight.VIEW_SCHEMA):
            return None
        return self.readable_fields(entity)

    def require_schema_read(self) -> None:
        """Listing the schema needs View All Schema, or some entity granted by a role."""
        allowed = self.has_right(AdminRight.VIEW_SCHEMA) or any(r.entities for r in self.roles)
        if Scope.SCHEMA_READ not in self.scopes or not allowed:
            raise Forbidden(FORBIDDEN_TEXT)

    def can_read_field(self, entity: Entity, name: str) -> bool:
        return self._field_access(entity, name, write=False)

    def can_write_field(self, entity: Entity, name: str) -> bool:
        """Writing needs reading too: a write-only field would answer `NOT_UNIQUE` or not
        depending on other records' hidden values (an existence test)."""
        return self._field_access(entity, name, write=True) and self.can_read_field(entity, name)

    def knows_field(self, entity: Entity, name: str) -> bool:
        """Readable, or named by one of the caller's field grants: a write to it is a 403, not an
        unknown field."""
        if self.can_read_field(entity, name):
            return True
        return any(name in r.fields.get(entity.name.lower(), {}) for r in self.roles)

    def readable_fields(self, entity: Entity) -> frozenset[str]:
        return frozenset(f.name for f in entity.fields if self.can_read_field(entity, f.name))

    def _field_access(self, entity: Entity, name: str, *, write: bool) -> bool:
        found = entity.field(name)
        if found is None or not found.rbac:
            return True
        for role in self.roles:
            if role.all_fields:
                return True
            grant = role.fields.get(entity.name.lower(), {}).get(name)
            if grant is not None and (grant.write if write else grant.read):
                return True
        return False


def visible_schema(schema: Schema, permissions: Permissions | None) -> Schema:
    """The schema as the caller may see it (the OpenAPI document): all of it with View All Schema
    (or with no caller, when the operator made the document public); otherwise the entities the
    caller has a grant on, with the fields it may read and no relationship to an entity it cannot see."""
    if permissions is None or permissions.has_right(AdminRight.VIEW_SCHEMA):
        return schema
    entities = [e for e in schema.entities if permissions.can_view_entity(e)]
    names = {e.name.lower() for e in entities}
    shown = tuple(
        e.with_fields(
            f
            for f in e.fields
            if permissions.can_read_field(e, f.name)
            and (f.type is not FieldType.RELATIONSHIP or (f.reference_entity or "").lower() in names)
        )
        for e in entities
    )
    return replace(schema, entities=shown)


def effective(principal_id: str, roles: Iterable[Role], scopes: Iterable[str]) -> Permissions:
    return Permissions(principal_id, tuple(roles), frozenset(scopes) & ALL_SCOPES)


def everything(principal_id: str) -> Permissions:
    """The built-in administrator with every scope (CLI and system work)."""
    return effective(principal_id, [ADMINISTRATOR], ALL_SCOPES)
