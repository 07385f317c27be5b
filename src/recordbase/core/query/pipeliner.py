"""Parse the Pipeliner list parameters (docs/compat-pipeliner.md#list-parameters) into the query
AST and a page window.

    GET …/entities/Accounts?filter[name]=Acme&filter-op[name]=icontains&order-by=-created&first=50

- `filter[f]=v` with `filter-op[f]=op` (default `eq`); several `filter[f]` values mean any of
  them (`eq` -> IN, `not-eq` -> NOT IN, others OR-ed, negative ones AND-ed); filters on
  different fields are AND-ed. `between` takes two values (repeated, or one "low,high").
- `null`/`not-null` ignore the value; `empty`/`not-empty` also count '' as empty on text.
- `order-by=a,-b` (`-` descending); `first` (default 30, max 100) with `after`, `last` with
  `before` (`last` alone: the end of the result; `first` and `last`: the last of the first);
  `load-only` picks the fields returned; `include-deleted` is accepted and changes nothing,
  because a delete in recordbase removes the record.

Names are translated by the caller's `translate` (wire name -> core path), so this module knows
Pipeliner's operators and paging, not its field naming.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from recordbase.core.fields.base import FieldValueError
from recordbase.core.query.ast import Condition, Group, Logic, Node, Operator, Query, Sort
from recordbase.core.query.limits import DEFAULT_LIMITS, QueryLimits, check_complexity
from recordbase.core.query.plan import resolve
from recordbase.core.schema import Entity, FieldType, Schema
from recordbase.errors import FieldError, InvalidQuery

DEFAULT_FIRST = 30
MAX_FIRST = 100
COUNT = re.compile(r"^[0-9]{1,9}$")
"""ASCII digits only (`str.isdigit` takes '²', which `int` refuses), and few enough to convert at once."""
TEXT_TYPES = frozenset({FieldType.TEXT, FieldType.MULTILINE_TEXT})

ONE_OR_ANY: dict[str, tuple[Operator, Logic]] = {
    "ieq": (Operator.IEQ, Logic.OR),
    "not-ieq": (Operator.NOT_IEQ, Logic.AND),
    "contains": (Operator.CONTAINS, Logic.OR),
    "starts": (Operator.STARTS_WITH, Logic.OR),
    "ends": (Operator.ENDS_WITH, Logic.OR),
    "icontains": (Operator.ICONTAINS, Logic.OR),
    "istarts": (Operator.ISTARTS_WITH, Logic.OR),
    "iends": (Operator.IENDS_WITH, Logic.OR),
}
"""Operators that take one value; with several, each value is tried (OR), or each excluded (AND)."""
SINGLE = {"gt": Operator.GT, "gte": Operator.GE, "lt": Operator.LT, "lte": Operator.LE}
LISTS = {"eq": (Operator.EQ, Operator.IN), "not-eq": (Operator.NE, Operator.NOT_IN)}
VALUELESS = ("null", "not-null", "empty", "not-empty")
OPERATORS = (*LISTS, *ONE_OR_ANY, *SINGLE, "between", *VALUELESS)
"""All nineteen, in the order the docs list them."""

Translate = Callable[[str], tuple[str, ...]]


@dataclass(frozen=True)
class ListQuery:
    """The parsed list request: the query (start 0, limit = page size) and its window."""

    query: Query
    after: str | None
    before: str | None
    from_end: bool
    last: int | None
    load_only: tuple[str, ...] | None
    load_paths: tuple[tuple[str, ...], ...] = ()
    """The dot paths of `load-only` (core names): what they show must be readable."""


@dataclass(frozen=True)
class _Context:
    entity: Entity
    schema: Schema
    translate: Translate
    limits: QueryLimits


def parse_list(
    params: Sequence[tuple[str, str]],
    entity: Entity,
    schema: Schema,
    translate: Translate,
    limits: QueryLimits = DEFAULT_LIMITS,
) -> ListQuery:
    """The list request of `params` (query parameters in order, repeats kept)."""
    context = _Context(entity, schema, translate, limits)
    errors: list[FieldError] = []
    single = dict(params)
    first = _count(single.get("first"), "first", errors)
    last = _count(single.get("last"), "last", errors)
    after, before = single.get("after") or None, single.get("before") or None
    _check_window(first, last, after, before, errors)
    node = _filters(params, context, errors)
    if errors:
        raise InvalidQuery.collected(errors)
    check_complexity(node, limits)
    query = Query(
        filter=node,
        sort=_order(single.get("order-by", ""), translate),
        select=_load_only(single.get("load-only"), translate),
        limit=first or last or DEFAULT_FIRST,
    )
    from_end = before is not None or (last is not None and first is None)
    keep = last if first is not None else None
    load_only = tuple(_names(single["load-only"])) if "load-only" in single else None
    paths = tuple(translate(name) for name in load_only or () if "." in name)
    return ListQuery(query, after, before, from_end, keep, load_only, paths)


def _check_window(
    first: int | None, last: int | None, after: str | None, before: str | None, errors: list[FieldError]
) -> None:
    """Pages run forwards (`first`, `after`) or backwards (`last`, `before`); crossing them is refused."""
    if after is not None and last is not None and first is None:
        errors.append(
            FieldError("last", "INVALID_PARAMETER", "'after' pages forwards: send 'first', not 'last'.")
        )
    if before is not None and first is not None:
        errors.append(
            FieldError("first", "INVALID_PARAMETER", "'before' pages backwards: send 'last', not 'first'.")
        )


def _count(raw: str | None, name: str, errors: list[FieldError]) -> int | None:
    if raw is None or raw == "":
        return None
    text = raw.strip()
    if COUNT.match(text) and 1 <= int(text) <= MAX_FIRST:
        return int(text)
    message = f"'{name}' must be an integer from 1 to {MAX_FIRST}."
    errors.append(FieldError(name, "INVALID_PARAMETER", message))
    return None


def _filters(params: Sequence[tuple[str, str]], context: _Context, errors: list[FieldError]) -> Node | None:
    """One condition (or group) per filtered field, AND-ed, in the order the fields first appear."""
    values: dict[str, list[str]] = {}
    operators: dict[str, str] = {}
    for key, value in params:
        if key.startswith("filter[") and key.endswith("]"):
            values.setdefault(key[7:-1].removesuffix("]["), []).append(value)
        elif key.startswith("filter-op[") and key.endswith("]"):
            operators[key[10:-1]] = value
    for name in operators.keys() - values.keys():
        if operators[name] not in VALUELESS:
            errors.append(FieldError(name, "INVALID_FILTER", f"'filter-op[{name}]' has no 'filter[{name}]'."))
        else:
            values[name] = []
    nodes = [
        _condition(name, operators.get(name, "eq"), given, context, errors) for name, given in values.items()
    ]
    found = [node for node in nodes if node is not None]
    return None if not found else found[0] if len(found) == 1 else Group(Logic.AND, tuple(found))


def _condition(
    name: str, operator: str, given: list[str], context: _Context, errors: list[FieldError]
) -> Node | None:
    path = context.translate(name)
    if operator in VALUELESS:
        return _valueless(path, operator, context)
    if not given:
        errors.append(FieldError(name, "INVALID_FILTER", f"Filter '{name}' with '{operator}' needs a value."))
        return None
    if len(given) > context.limits.max_list:
        message = f"Filter '{name}' has more than {context.limits.max_list} values."
        errors.append(FieldError(name, "INVALID_OPERAND", message))
        return None
    if operator in LISTS:
        one, many = LISTS[operator]
        return (
            Condition(path, one, given[0]) if len(given) == 1 else Condition(path, many, None, tuple(given))
        )
    if operator in ONE_OR_ANY:
        single, logic = ONE_OR_ANY[operator]
        return _any(logic, [Condition(path, single, value) for value in given])
    if operator in SINGLE and len(given) == 1:
        return Condition(path, SINGLE[operator], given[0])
    if operator == "between":
        return _between(name, path, given, errors)
    errors.append(FieldError(name, "INVALID_OPERATOR", _operator_message(name, operator, len(given))))
    return None


def _operator_message(name: str, operator: str, count: int) -> str:
    if operator in SINGLE:
        return f"Filter '{name}' with '{operator}' takes one value, not {count}."
    known = ", ".join(OPERATORS)
    return f"Unknown filter operator '{operator}' on field '{name}'; use one of {known}."


def _any(logic: Logic, conditions: list[Condition]) -> Node:
    return conditions[0] if len(conditions) == 1 else Group(logic, tuple(conditions))


def _between(name: str, path: tuple[str, ...], given: list[str], errors: list[FieldError]) -> Node | None:
    bounds = given if len(given) != 1 else given[0].split(",")
    if len(bounds) != 2 or not all(bound.strip() for bound in bounds):
        message = f"Filter '{name}' with 'between' takes two values: low,high (or the parameter twice)."
        errors.append(FieldError(name, "INVALID_OPERAND", message))
        return None
    low, high = (bound.strip() for bound in bounds)
    return Group(Logic.AND, (Condition(path, Operator.GE, low), Condition(path, Operator.LE, high)))


def _valueless(path: tuple[str, ...], operator: str, context: _Context) -> Node:
    """`null` is IS NULL; `empty` on text also takes ''; the `not-` forms are the complements."""
    negative = operator.startswith("not-")
    null = Condition(path, Operator.NE if negative else Operator.EQ)
    if operator.endswith("null") or not _is_text(path, context):
        return null
    blank = Condition(path, Operator.NE if negative else Operator.EQ, "")
    return Group(Logic.AND if negative else Logic.OR, (null, blank))


def _is_text(path: tuple[str, ...], context: _Context) -> bool:
    try:
        found = resolve(path, context.entity, context.schema, len(path))
    except FieldValueError:
        return False  # the planner reports the unknown field
    return found.field.type in TEXT_TYPES


def _order(text: str, translate: Translate) -> tuple[Sort, ...]:
    return tuple(Sort(translate(name.removeprefix("-")), name.startswith("-")) for name in _names(text))


def _load_only(raw: str | None, translate: Translate) -> tuple[str, ...] | None:
    """The entity's own fields among `load-only` (`owner.name` asks for `owner`); the planner checks them."""
    if raw is None:
        return None
    heads = dict.fromkeys(translate(name.split(".")[0])[0] for name in _names(raw))
    return tuple(heads) or None


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
