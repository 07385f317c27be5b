"""Bounds on what one query may ask for, checked by both parsers before anything is planned.

A filter is a grammar a client controls; without a bound a single request could nest a
thousand groups or list ten thousand conditions and cost the database far more than a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recordbase.core.query.ast import Condition, Node
from recordbase.errors import FieldError, InvalidQuery, QueryTooComplex


@dataclass(frozen=True)
class QueryLimits:
    """Beyond these the parser answers 400 (`QUERY_TOO_COMPLEX` / `INVALID_QUERY`) and runs nothing."""

    default_limit: int = 100
    max_limit: int = 1000
    max_depth: int = 8
    max_conditions: int = 200
    max_list: int = 1000


DEFAULT_LIMITS = QueryLimits()
MAX_START = 2**31
"""The largest offset (`start`, `$skip`) any list takes; beyond it is a 400, never a database overflow."""


def count_conditions(node: Node | None) -> int:
    if node is None:
        return 0
    if isinstance(node, Condition):
        return 1
    return sum(count_conditions(child) for child in node.children)


def depth(node: Node | None) -> int:
    """Group nesting depth: a bare condition is 0, a group of conditions is 1."""
    if node is None or isinstance(node, Condition):
        return 0
    return 1 + max((depth(child) for child in node.children), default=0)


def too_deep(limits: QueryLimits) -> QueryTooComplex:
    return QueryTooComplex(f"The filter nests groups deeper than {limits.max_depth} levels.")


def check_complexity(node: Node | None, limits: QueryLimits) -> None:
    """Refuse filters deeper or larger than the limits (parsers also stop early while descending)."""
    if depth(node) > limits.max_depth:
        raise too_deep(limits)
    check_size(node, limits)


def check_size(node: Node | None, limits: QueryLimits) -> None:
    if count_conditions(node) > limits.max_conditions:
        raise QueryTooComplex(f"The filter has more than {limits.max_conditions} conditions.")


def page_start(value: Any, where: str, errors: list[FieldError]) -> int:
    """`start` (offset): an integer from 0 to MAX_START, 0 when absent."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_START:
        message = f"'{where}' must be an integer from 0 to {MAX_START}."
        errors.append(FieldError(where, "INVALID_START", message))
        return 0
    return value


def page_limit(value: Any, where: str, limits: QueryLimits, errors: list[FieldError]) -> int:
    """`limit`: 1..max_limit; absent or 0 means the default.

    0 means "not given" because the UiPath body model is a .NET class whose unset `limit`
    serializes as 0 (the documented sample body says `"limit": 0`).
    """
    if value is None or value == 0:
        return limits.default_limit
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= limits.max_limit:
        message = f"'{where}' must be an integer between 1 and {limits.max_limit}."
        errors.append(FieldError(where, "INVALID_LIMIT", message))
        return limits.default_limit
    return value


def raise_collected(errors: list[FieldError]) -> None:
    if errors:
        raise InvalidQuery.collected(errors)
