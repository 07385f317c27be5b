"""Check a query AST against one entity of a schema snapshot and produce a typed plan.

The plan holds resolved fields (through relationship hops for dot paths) and core values,
so storage compiles it to SQL and `evaluate.py` runs it in Python without looking anything
up again. Every problem in the query is collected and reported in one `INVALID_QUERY`.

Rules:
- Field names are case-sensitive; the system fields `Id`, `CreatedBy`, `CreateTime`,
  `UpdatedBy`, `UpdateTime` and `Revision` can be filtered and sorted like any other.
- `Customer.Country` follows the relationship field `Customer` to its target entity. A path
  with n dots needs `expansionLevel >= n + 1` (docs/compat-uipath.md#expansion-levels), as UiPath requires.
- Operators are checked against the matrix in `matrix.py`; values are coerced by `values.py`.
- The order always ends with `Id` ascending, so pages and cursors are stable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from recordbase.core.fields.base import FieldValueError
from recordbase.core.query import matrix, values
from recordbase.core.query.ast import Condition, Logic, Node, Operator, Query, Sort
from recordbase.core.schema import Entity, Field, FieldType, Schema
from recordbase.errors import FieldError, InvalidQuery

SYSTEM_TYPES = {
    "Id": FieldType.UUID,
    "CreatedBy": FieldType.UUID,
    "CreateTime": FieldType.DATETIME,
    "UpdatedBy": FieldType.UUID,
    "UpdateTime": FieldType.DATETIME,
    "Revision": FieldType.INTEGER,
}
SYSTEM = {name: Field(id=f"system:{name}", name=name, type=kind) for name, kind in SYSTEM_TYPES.items()}
"""The system columns as fields, so one code path handles them (ids are not real field ids).
`Revision` (a reserved field name) is the write counter the Pipeliner dialect shows as `revision`."""


@dataclass(frozen=True)
class Hop:
    """One step along a relationship: `field` of the source entity points at `target`."""

    field: Field
    target: Entity


@dataclass(frozen=True)
class FieldRef:
    """A resolved path: the relationship hops taken, then a field of the last entity reached."""

    hops: tuple[Hop, ...]
    entity: Entity
    field: Field

    @property
    def path(self) -> tuple[str, ...]:
        return (*(hop.field.name for hop in self.hops), self.field.name)

    @property
    def name(self) -> str:
        return ".".join(self.path)

    @property
    def is_system(self) -> bool:
        return self.field.id.startswith("system:")


@dataclass(frozen=True)
class Predicate:
    """A condition with core values: `value` None with `=`/`!=` is the null check."""

    ref: FieldRef
    operator: Operator
    value: Any = None
    values: tuple[Any, ...] = ()


@dataclass(frozen=True)
class PlanGroup:
    logic: Logic
    children: tuple[PlanNode, ...]


PlanNode = Predicate | PlanGroup


@dataclass(frozen=True)
class SortKey:
    ref: FieldRef
    descending: bool = False


@dataclass(frozen=True)
class Plan:
    """A checked query for one entity: filter, total order (ending with Id), projection and page."""

    entity: Entity
    filter: PlanNode | None
    order: tuple[SortKey, ...]
    select: tuple[str, ...] | None = None
    expand: tuple[str, ...] = ()
    start: int = 0
    limit: int = 100


@dataclass
class _Planner:
    entity: Entity
    schema: Schema
    expansion_level: int
    errors: list[FieldError] = field(default_factory=list)

    def fail(self, where: str, error: FieldValueError) -> None:
        self.errors.append(FieldError(where, error.code, error.message))


def plan_query(query: Query, entity: Entity, schema: Schema, *, expansion_level: int = 2) -> Plan:
    """Check `query` against `entity`; raise InvalidQuery listing every problem found."""
    planner = _Planner(entity, schema, expansion_level)
    plan = Plan(
        entity=entity,
        filter=None if query.filter is None else _node(query.filter, planner),
        order=_order(query.sort, planner),
        select=_select(query.select, planner),
        expand=_expand(query.expand, planner),
        start=query.start,
        limit=query.limit,
    )
    if planner.errors:
        raise InvalidQuery.collected(planner.errors)
    return plan


def restrict(plan: Plan, node: PlanNode) -> Plan:
    """The plan with `node` AND-ed to its filter (for row filters that permissions add)."""
    combined = node if plan.filter is None else PlanGroup(Logic.AND, (plan.filter, node))
    return Plan(plan.entity, combined, plan.order, plan.select, plan.expand, plan.start, plan.limit)


def resolve(path: tuple[str, ...], entity: Entity, schema: Schema, expansion_level: int) -> FieldRef:
    """Follow a dot path from `entity`; raise FieldValueError naming what is wrong with it."""
    name = ".".join(path)
    if not all(path):
        raise FieldValueError("INVALID_PATH", f"'{name}' is not a field name or a dot path.")
    if len(path) > 1 and expansion_level < len(path):
        raise FieldValueError(
            "EXPANSION_TOO_SHALLOW",
            f"Field path '{name}' needs expansionLevel {len(path)} or more "
            f"(the request has {expansion_level}).",
        )
    hops: list[Hop] = []
    current = entity
    for part in path[:-1]:
        hop = _hop(current, part, schema, name)
        hops.append(hop)
        current = hop.target
    return FieldRef(tuple(hops), current, lookup(current, path[-1]))


def lookup(entity: Entity, name: str) -> Field:
    """A user field or a system field by exact name; the error suggests the right case, but never
    the name of a field under access control (the caller may not be allowed to know it)."""
    found = SYSTEM.get(name) or entity.field(name)
    if found is not None:
        return found
    near = entity.field_ci(name) or next((f for n, f in SYSTEM.items() if n.lower() == name.lower()), None)
    near = None if near is not None and near.rbac else near
    hint = f" Did you mean '{near.name}'? Field names are case-sensitive." if near else ""
    raise FieldValueError(
        "FIELD_NOT_FOUND", f"Field '{name}' does not exist on entity '{entity.name}'.{hint}"
    )


def _hop(entity: Entity, name: str, schema: Schema, path: str) -> Hop:
    relation = lookup(entity, name)
    target = schema.find_entity(relation.reference_entity or "")
    if relation.type is not FieldType.RELATIONSHIP or target is None:
        raise FieldValueError(
            "INVALID_PATH", f"'{path}': field '{name}' of '{entity.name}' is not a relationship to follow."
        )
    return Hop(relation, target)


def _node(node: Node, planner: _Planner) -> PlanNode | None:
    if isinstance(node, Condition):
        return _predicate(node, planner)
    children = [_node(child, planner) for child in node.children]
    return PlanGroup(node.logic, tuple(child for child in children if child is not None))


def _predicate(condition: Condition, planner: _Planner) -> Predicate | None:
    try:
        ref = resolve(condition.path, planner.entity, planner.schema, planner.expansion_level)
        operator = condition.operator
        has_value = condition.value is not None or bool(condition.values)
        if not matrix.allows(ref.field.type, operator, has_value):
            raise FieldValueError(
                "OPERATOR_NOT_ALLOWED",
                f"Operator '{operator}' cannot be used on field '{ref.name}' of type {ref.field.type.value}.",
            )
        one = (
            None
            if condition.value is None
            else values.coerce(ref.field, operator, condition.value, planner.schema)
        )
        many = tuple(values.coerce(ref.field, operator, item, planner.schema) for item in condition.values)
    except FieldValueError as error:
        planner.fail(condition.name, error)
        return None
    return Predicate(ref, operator, one, tuple(dict.fromkeys(many)))


def _order(sorts: Iterable[Sort], planner: _Planner) -> tuple[SortKey, ...]:
    """The requested keys, without repeats, then `Id` ascending unless `Id` is already a key."""
    keys: dict[tuple[str, ...], SortKey] = {}
    for sort in sorts:
        try:
            ref = resolve(sort.path, planner.entity, planner.schema, planner.expansion_level)
        except FieldValueError as error:
            planner.fail(sort.name, error)
            continue
        if not matrix.sortable(ref.field.type):
            message = f"Field '{ref.name}' of type {ref.field.type.value} cannot be used for sorting."
            planner.fail(sort.name, FieldValueError("NOT_SORTABLE", message))
        keys.setdefault(ref.path, SortKey(ref, sort.descending))
    if ("Id",) not in keys:
        keys[("Id",)] = SortKey(FieldRef((), planner.entity, SYSTEM["Id"]))
    return tuple(keys.values())


def _select(names: tuple[str, ...] | None, planner: _Planner) -> tuple[str, ...] | None:
    """Projected names must be fields of the entity itself (the renderer picks them from records)."""
    if names is None:
        return None
    for name in names:
        try:
            lookup(planner.entity, name)
        except FieldValueError as error:
            planner.fail(name, error)
    return names


def _expand(names: tuple[str, ...], planner: _Planner) -> tuple[str, ...]:
    """Each expanded path must be made of relationship fields only."""
    for name in names:
        try:
            current = planner.entity
            for part in name.split("."):
                current = _hop(current, part, planner.schema, name).target
        except FieldValueError as error:
            planner.fail(name, error)
    return names
