"""Read permissions applied to a query plan, before it runs (so they shape counts and cursors too).

- READ on the entity is required; "own records only" restricts the plan to `CreatedBy = caller`.
- Every field the query names (filter, sort, projection, and each relationship a dot path
  follows) must be readable by the caller, and a dot path may only enter entities the caller
  may read. Otherwise the whole query is refused with the generic 403 text: saying which
  field is forbidden would tell the caller that the field exists.
- A dot path into an entity the caller reads "own records only" sees the related records of
  others as null: `Customer.Country = 'NL'` matches only when that customer is the caller's,
  and `Customer.Country != 'NL'` also matches when it is not. Sorting by such a path would
  order by values the caller may not see, so it is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from recordbase.core.fields.base import FieldValueError
from recordbase.core.permissions import FORBIDDEN_TEXT, Action, Permissions
from recordbase.core.query.ast import Logic, Operator
from recordbase.core.query.evaluate import matches
from recordbase.core.query.plan import (
    SYSTEM,
    FieldRef,
    Plan,
    PlanGroup,
    PlanNode,
    Predicate,
    resolve,
    restrict,
)
from recordbase.core.schema import Entity, Schema
from recordbase.errors import Forbidden


def authorize(plan: Plan, permissions: Permissions) -> Plan:
    """`plan` as `permissions` allow it to run; Forbidden when it names what they hide."""
    rule = permissions.require(plan.entity, Action.READ)
    _check_names(plan, permissions)
    guarded = _guard(plan.filter, permissions)
    plan = Plan(plan.entity, guarded, plan.order, plan.select, plan.expand, plan.start, plan.limit)
    if rule.created_by is None:
        return plan
    own = FieldRef((), plan.entity, SYSTEM["CreatedBy"])
    return restrict(plan, Predicate(own, Operator.EQ, rule.created_by))


def _check_names(plan: Plan, permissions: Permissions) -> None:
    for predicate in _predicates(plan.filter):
        _require_path(plan.entity, predicate.ref, permissions)
    for key in plan.order:
        _require_path(plan.entity, key.ref, permissions)
        if _own_only_hops(key.ref, permissions):
            raise Forbidden(FORBIDDEN_TEXT)
    for name in plan.select or ():
        _require_field(plan.entity, name, permissions)


def _require_path(source: Entity, ref: FieldRef, permissions: Permissions) -> None:
    """Each relationship along `ref` (starting at `source`) and its last field must be readable."""
    for hop in ref.hops:
        _require_field(source, hop.field.name, permissions)
        if permissions.row_rule(hop.target, Action.READ) is None:
            raise Forbidden(FORBIDDEN_TEXT)
        source = hop.target
    _require_field(ref.entity, ref.field.name, permissions)


def require_paths(
    entity: Entity, schema: Schema, paths: Iterable[tuple[str, ...]], permissions: Permissions, depth: int
) -> None:
    """Each dot path that names something must be readable along the way (403 otherwise); one that
    names nothing is left alone, as the projection it comes from shows nothing for it."""
    for path in paths:
        try:
            ref = resolve(path, entity, schema, depth)
        except FieldValueError:
            continue
        _require_path(entity, ref, permissions)


def _require_field(entity: Entity, name: str, permissions: Permissions) -> None:
    if not permissions.can_read_field(entity, name):
        raise Forbidden(FORBIDDEN_TEXT)


def _predicates(node: PlanNode | None) -> Iterator[Predicate]:
    if node is None:
        return
    if isinstance(node, Predicate):
        yield node
        return
    for child in node.children:
        yield from _predicates(child)


def _own_only_hops(ref: FieldRef, permissions: Permissions) -> list[int]:
    """Indexes of the hops of `ref` that enter an entity the caller reads "own records only"."""
    found = []
    for index, hop in enumerate(ref.hops):
        rule = permissions.row_rule(hop.target, Action.READ)
        if rule is not None and rule.created_by is not None:
            found.append(index)
    return found


def _guard(node: PlanNode | None, permissions: Permissions) -> PlanNode | None:
    return None if node is None else _guarded(node, permissions)


def _guarded(node: PlanNode, permissions: Permissions) -> PlanNode:
    """`node` with each predicate that reads through an own-records-only hop made to see others'
    related records as null: `P and visible` when P(null) is false, `P or hidden` when true."""
    if isinstance(node, PlanGroup):
        return PlanGroup(node.logic, tuple(_guarded(child, permissions) for child in node.children))
    hops = _own_only_hops(node.ref, permissions)
    if not hops:
        return node
    caller = permissions.principal_id
    owners = [FieldRef(node.ref.hops[: i + 1], node.ref.hops[i].target, SYSTEM["CreatedBy"]) for i in hops]
    if not matches(node, {}):
        visible = tuple(Predicate(owner, Operator.EQ, caller) for owner in owners)
        return PlanGroup(Logic.AND, (node, *visible))
    hidden = tuple(Predicate(owner, Operator.NE, caller) for owner in owners)
    return PlanGroup(Logic.OR, (node, *hidden))
