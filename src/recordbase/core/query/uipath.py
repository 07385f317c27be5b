"""Parse a UiPath "Query Entity Records" body (docs/compat-uipath.md#query-body) into the AST.

Group semantics, as recordbase reads them (the vendor docs do not say):

- `logicalOperator` (0 = AND, 1 = OR; "AND"/"OR" also accepted) joins the `queryFilters` of a
  group, and also joins its `filterGroups` when they carry no `continueLogicalOperator`. That
  keeps the documented example (a root OR over two groups) meaning what it says.
- A child group's `continueLogicalOperator` joins it to whatever precedes it in its parent:
  the parent's filters, or the previous sibling group. On the first child of a group without
  filters it has nothing to join and is ignored.
- A mixed chain is read with SQL precedence: `a AND b OR c` is `(a AND b) OR c`.
- Empty groups and `null` entries (the documented sample has `"filterGroups": [null]`) are skipped.

Every shape problem is collected and reported at once; nesting or size beyond `QueryLimits`
stops parsing with `QUERY_TOO_COMPLEX`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from recordbase.core.query.ast import (
    LIST_OPERATORS,
    NULLABLE_OPERATORS,
    UIPATH_OPERATORS,
    Condition,
    Group,
    Logic,
    Node,
    Operator,
    Query,
    Sort,
    WireValue,
    split_path,
)
from recordbase.core.query.limits import (
    DEFAULT_LIMITS,
    QueryLimits,
    check_size,
    page_limit,
    page_start,
    raise_collected,
    too_deep,
)
from recordbase.errors import FieldError, InvalidQuery

BODY_KEYS = (
    "filterGroup", "filterGroups", "queryFilters", "logicalOperator", "continueLogicalOperator",
    "fieldName", "operator", "value", "valueList", "sortOptions", "isDescending", "selectedFields",
    "start", "limit", "cursor", "expansions", *("aggregates", "groupBy", "havingFilter", "joins", "binnings"),
)  # fmt: skip
CAMEL = {key.lower(): key for key in BODY_KEYS}
LOGIC_CODES: dict[object, Logic] = {0: Logic.AND, 1: Logic.OR, "and": Logic.AND, "or": Logic.OR}
UNSUPPORTED_KEYS = ("aggregates", "groupBy", "havingFilter", "joins", "binnings")
OPERATORS = {op.value: op for op in UIPATH_OPERATORS}


@dataclass
class _Context:
    limits: QueryLimits
    errors: list[FieldError] = field(default_factory=list)

    def error(self, where: str, code: str, message: str) -> None:
        self.errors.append(FieldError(where, code, message))


def canonical_keys(body: object, depth: int = 0) -> Any:
    """The body with its keys in the SDKs' camelCase (`FilterGroup` -> `filterGroup`) at any depth;
    values are left alone. Where both spellings are given, the camelCase one wins."""
    if depth > 64:
        return body  # deeper than any limit allows: parsing refuses it anyway
    if isinstance(body, list):
        return [canonical_keys(item, depth + 1) for item in body]
    if not isinstance(body, Mapping):
        return body
    out: dict[str, Any] = {}
    for key, value in body.items():
        name = CAMEL.get(key.lower(), key) if isinstance(key, str) else key
        if name not in out or name == key:
            out[name] = value if name in ("value", "valueList") else canonical_keys(value, depth + 1)
    return out


def parse_query(body: object, limits: QueryLimits = DEFAULT_LIMITS) -> Query:
    """The AST of a query body; raises InvalidQuery (all problems) or QueryTooComplex.

    Keys are read in either letter case (`filterGroup` or `FilterGroup`)."""
    if not isinstance(body, Mapping):
        raise InvalidQuery("The query body must be a JSON object.")
    keyed: Mapping[str, Any] = canonical_keys(body)
    context = _Context(limits)
    for key in UNSUPPORTED_KEYS:
        if keyed.get(key):
            context.error(key, "UNSUPPORTED", f"'{key}' is not supported by this server.")
    raw_filter = keyed.get("filterGroup")
    node = None if raw_filter is None else _group(raw_filter, "filterGroup", 1, context)
    query = Query(
        filter=node,
        sort=_sort_options(keyed.get("sortOptions"), context),
        select=_selected_fields(keyed.get("selectedFields"), context),
        start=page_start(keyed.get("start"), "start", context.errors),
        limit=page_limit(keyed.get("limit"), "limit", limits, context.errors),
    )
    raise_collected(context.errors)
    # Depth is bounded while descending (`_group`): the body's own nesting is what counts, not
    # the extra level that AND-over-OR precedence may add to the AST.
    check_size(query.filter, limits)
    return query


def _group(raw: object, where: str, level: int, context: _Context) -> Node | None:
    """One filterGroup, recursively; None when it holds nothing."""
    if level > context.limits.max_depth:
        raise too_deep(context.limits)
    if not isinstance(raw, Mapping):
        context.error(where, "INVALID_FILTER", f"'{where}' must be an object.")
        return None
    logic = _logic(raw.get("logicalOperator"), f"{where}.logicalOperator", context) or Logic.AND
    chain: list[tuple[Logic, Node]] = []
    for index, item in _items(raw.get("queryFilters"), f"{where}.queryFilters", context):
        condition = _condition(item, f"{where}.queryFilters[{index}]", context)
        if condition is not None:
            chain.append((logic, condition))
    for index, item in _items(raw.get("filterGroups"), f"{where}.filterGroups", context):
        at = f"{where}.filterGroups[{index}]"
        child = _group(item, at, level + 1, context)
        link = _logic(item.get("continueLogicalOperator"), f"{at}.continueLogicalOperator", context)
        if child is not None:
            chain.append((link or logic, child))
    return combine(chain)


def combine(chain: Sequence[tuple[Logic, Node]]) -> Node | None:
    """Join `(operator before it, node)` pairs with AND binding tighter than OR."""
    if not chain:
        return None
    links = {link for link, _ in chain[1:]}
    if len(links) <= 1:
        return Group(links.pop() if links else Logic.AND, tuple(node for _, node in chain))
    runs: list[list[Node]] = [[chain[0][1]]]
    for link, node in chain[1:]:
        if link is Logic.OR:
            runs.append([node])
        else:
            runs[-1].append(node)
    branches = tuple(run[0] if len(run) == 1 else Group(Logic.AND, tuple(run)) for run in runs)
    return Group(Logic.OR, branches)


def _items(raw: object, where: str, context: _Context) -> list[tuple[int, Mapping[str, Any]]]:
    """The non-null object entries of a JSON list, with their index for error messages."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        context.error(where, "INVALID_FILTER", f"'{where}' must be a list.")
        return []
    found: list[tuple[int, Mapping[str, Any]]] = []
    for index, item in enumerate(raw):
        if isinstance(item, Mapping):
            found.append((index, item))
        elif item is not None:
            context.error(f"{where}[{index}]", "INVALID_FILTER", f"'{where}[{index}]' must be an object.")
    return found


def _logic(raw: object, where: str, context: _Context) -> Logic | None:
    if raw is None:
        return None
    found = None
    if isinstance(raw, str):
        found = LOGIC_CODES.get(raw.lower())
    elif isinstance(raw, int) and not isinstance(raw, bool):
        found = LOGIC_CODES.get(raw)
    if found is None:
        context.error(where, "INVALID_LOGICAL_OPERATOR", f"'{where}' must be 0 (AND) or 1 (OR).")
    return found


def _condition(raw: Mapping[str, Any], where: str, context: _Context) -> Condition | None:
    """One queryFilter, with the operand rules the UiPath SDK copies from the server."""
    name = raw.get("fieldName")
    if not isinstance(name, str) or not name:
        context.error(where, "INVALID_FILTER", f"'{where}.fieldName' must be a non-empty string.")
        return None
    raw_operator = raw.get("operator")
    operator = OPERATORS.get(raw_operator) if isinstance(raw_operator, str) else None
    if operator is None:
        known = ", ".join(f"'{op}'" for op in OPERATORS)
        message = f"Unknown operator {raw.get('operator')!r} on field '{name}'; use one of {known}."
        context.error(name, "INVALID_OPERATOR", message)
        return None
    value = _value(raw.get("value"), name, context)
    values = _value_list(raw.get("valueList"), name, context)
    if not _operands_ok(name, operator, raw, values, context):
        return None
    return Condition(split_path(name), operator, value, values or ())


def _operands_ok(
    name: str,
    operator: Operator,
    raw: Mapping[str, Any],
    values: tuple[WireValue, ...] | None,
    context: _Context,
) -> bool:
    has_value = raw.get("value") is not None
    problem = None
    if operator in LIST_OPERATORS:
        if not values:
            problem = f"Operator '{operator}' on field '{name}' needs a non-empty 'valueList'."
        elif has_value:
            problem = f"Operator '{operator}' on field '{name}' takes 'valueList'; omit 'value'."
        elif len(values) > context.limits.max_list:
            problem = f"'valueList' of field '{name}' has more than {context.limits.max_list} values."
    elif raw.get("valueList") is not None:
        problem = f"Operator '{operator}' on field '{name}' takes 'value'; omit 'valueList'."
    elif not has_value and operator not in NULLABLE_OPERATORS:
        problem = f"Operator '{operator}' on field '{name}' needs a non-null 'value'."
    if problem:
        context.error(name, "INVALID_OPERAND", problem)
    return problem is None


def _value(raw: object, name: str, context: _Context) -> WireValue | None:
    """A filter value: the wire sends strings; JSON numbers and booleans are tolerated as such."""
    if raw is None or isinstance(raw, str | bool):
        return raw
    if isinstance(raw, int | float) and math.isfinite(raw):
        return Decimal(str(raw))
    context.error(name, "INVALID_VALUE", f"The value for field '{name}' must be a string.")
    return None


def _value_list(raw: object, name: str, context: _Context) -> tuple[WireValue, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        context.error(name, "INVALID_VALUE", f"'valueList' of field '{name}' must be a list of strings.")
        return None
    found = [_value(item, name, context) for item in raw]
    if any(item is None for item in found):
        context.error(name, "INVALID_VALUE", f"'valueList' of field '{name}' may not contain null.")
    return tuple(item for item in found if item is not None)


def _sort_options(raw: object, context: _Context) -> tuple[Sort, ...]:
    sorts: list[Sort] = []
    for index, item in _items(raw, "sortOptions", context):
        name, descending = item.get("fieldName"), item.get("isDescending")
        if not isinstance(name, str) or not name:
            context.error(f"sortOptions[{index}]", "INVALID_SORT", "'fieldName' must be a non-empty string.")
        elif descending is not None and not isinstance(descending, bool):
            message = f"'isDescending' of sort field '{name}' must be true or false."
            context.error(name, "INVALID_SORT", message)
        else:
            sorts.append(Sort(split_path(name), bool(descending)))
    return tuple(sorts)


def _selected_fields(raw: object, context: _Context) -> tuple[str, ...] | None:
    """None means every field; so does an empty list (docs/compat-uipath.md#query-body)."""
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(item, str) and item for item in raw):
        context.error("selectedFields", "INVALID_SELECT", "'selectedFields' must be a list of field names.")
        return None
    return tuple(dict.fromkeys(raw)) or None
