"""The reference semantics of a plan, in plain Python: what the SQL must return, row for row.

Records are dicts of core values keyed by field name plus the system names, as
storage/records.py returns them. A dot path reads the related record from `related`
(any record by its Id: ids are unique across entities); a relationship that is null or
points at a record not given reads as null.

Null rule: a null field value satisfies no positive comparison (`=` with a value, `>`,
`contains`, `startswith`, `in`, ...), and every negative operator is the exact complement of
its positive one: `!=`, `not contains`, `not in` and `not ieq` therefore DO match nulls ("a null is
different from 'x'"). `= null` / `!= null` are IS NULL / IS NOT NULL.

Order: ascending puts nulls first and descending puts them last (null is the smallest value),
text compares by code point (case-sensitive), and `Id` ascending breaks ties.
"""

from __future__ import annotations

import operator as op
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from recordbase.core.query.ast import Logic, Operator, fold_case
from recordbase.core.query.plan import FieldRef, Plan, PlanGroup, PlanNode, Predicate

Record = Mapping[str, Any]
Related = Mapping[str, Record]

POSITIVE: dict[Operator, Callable[[Any, Predicate], bool]] = {
    Operator.EQ: lambda x, p: bool(x == p.value),
    Operator.GT: lambda x, p: bool(op.gt(x, p.value)),
    Operator.LT: lambda x, p: bool(op.lt(x, p.value)),
    Operator.GE: lambda x, p: bool(op.ge(x, p.value)),
    Operator.LE: lambda x, p: bool(op.le(x, p.value)),
    Operator.CONTAINS: lambda x, p: p.value in x,
    Operator.STARTS_WITH: lambda x, p: bool(x.startswith(p.value)),
    Operator.ENDS_WITH: lambda x, p: bool(x.endswith(p.value)),
    Operator.IN: lambda x, p: x in p.values,
    Operator.IEQ: lambda x, p: fold_case(x) == p.value,
    Operator.ICONTAINS: lambda x, p: p.value in fold_case(x),
    Operator.ISTARTS_WITH: lambda x, p: fold_case(x).startswith(p.value),
    Operator.IENDS_WITH: lambda x, p: fold_case(x).endswith(p.value),
}
"""Case-insensitive operators compare the folded record value with the value the planner folded."""
NEGATED = {
    Operator.NE: Operator.EQ,
    Operator.NOT_CONTAINS: Operator.CONTAINS,
    Operator.NOT_IN: Operator.IN,
    Operator.NOT_IEQ: Operator.IEQ,
}
"""Each negative operator and the positive one it complements."""


def field_value(ref: FieldRef, record: Record, related: Related | None = None) -> Any:
    """The value `ref` reads from `record`, following relationship hops through `related`."""
    current: Record | None = record
    for hop in ref.hops:
        target_id = current.get(hop.field.name) if current is not None else None
        current = (related or {}).get(target_id) if isinstance(target_id, str) else None
    return None if current is None else current.get(ref.field.name)


def matches(node: PlanNode | None, record: Record, related: Related | None = None) -> bool:
    """Whether `record` satisfies the filter node (None: no filter, everything matches)."""
    if node is None:
        return True
    if isinstance(node, PlanGroup):
        results = (matches(child, record, related) for child in node.children)
        return all(results) if node.logic is Logic.AND else any(results)
    return _predicate(node, field_value(node.ref, record, related))


def evaluate(plan: Plan, record: Record, related: Related | None = None) -> bool:
    """Whether `record` is in the result of `plan` (ignoring the page)."""
    return matches(plan.filter, record, related)


def _predicate(predicate: Predicate, value: Any) -> bool:
    operator = predicate.operator
    if predicate.value is None and not predicate.values and operator in (Operator.EQ, Operator.NE):
        return (value is None) == (operator is Operator.EQ)
    if operator in NEGATED:
        positive = NEGATED[operator]
        return value is None or not POSITIVE[positive](value, predicate)
    return value is not None and POSITIVE[operator](value, predicate)


class Descending:
    """Wraps a sort component so that larger values sort first."""

    __slots__ = ("inner",)

    def __init__(self, inner: tuple[Any, ...]) -> None:
        self.inner = inner

    def __lt__(self, other: Descending) -> bool:
        return bool(other.inner < self.inner)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Descending) and self.inner == other.inner

    def __hash__(self) -> int:
        return hash(self.inner)


def sort_key(plan: Plan, record: Record, related: Related | None = None) -> tuple[Any, ...]:
    """A key that orders records exactly as the SQL's ORDER BY does (see the module docstring)."""
    parts: list[Any] = []
    for key in plan.order:
        value = field_value(key.ref, record, related)
        part = (0,) if value is None else (1, value)
        parts.append(Descending(part) if key.descending else part)
    return tuple(parts)


def run(plan: Plan, records: Iterable[Record], related: Related | None = None) -> tuple[list[Record], int]:
    """The page of `plan` over `records`, and the number of matches before paging."""
    found = sorted(
        (r for r in records if evaluate(plan, r, related)), key=lambda r: sort_key(plan, r, related)
    )
    return found[plan.start : plan.start + plan.limit], len(found)
