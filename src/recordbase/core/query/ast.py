"""The neutral query AST both wire dialects parse into (UiPath bodies, OData parameters).

Nothing here knows a schema: paths are names as the client wrote them and values are
still wire values (strings from UiPath, typed literals from OData). `plan.py` checks
them against an entity and turns them into core values.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

WireValue = str | Decimal | bool
"""A literal as the client sent it: UiPath sends strings only, OData also numbers and booleans."""


class Operator(StrEnum):
    """The twelve comparison operators of the UiPath query API (docs/compat-uipath.md#query-body), then the
    case-insensitive text operators only the Pipeliner list accepts (`ieq`, `icontains`, ...)."""

    EQ = "="
    NE = "!="
    GT = ">"
    LT = "<"
    GE = ">="
    LE = "<="
    CONTAINS = "contains"
    NOT_CONTAINS = "not contains"
    STARTS_WITH = "startswith"
    ENDS_WITH = "endswith"
    IN = "in"
    NOT_IN = "not in"
    IEQ = "ieq"
    NOT_IEQ = "not ieq"
    ICONTAINS = "icontains"
    ISTARTS_WITH = "istartswith"
    IENDS_WITH = "iendswith"


UIPATH_OPERATORS = (
    Operator.EQ,
    Operator.NE,
    Operator.GT,
    Operator.LT,
    Operator.GE,
    Operator.LE,
    Operator.CONTAINS,
    Operator.NOT_CONTAINS,
    Operator.STARTS_WITH,
    Operator.ENDS_WITH,
    Operator.IN,
    Operator.NOT_IN,
)
"""The operators a UiPath body may name; anything else there is a 400, as on UiPath's server."""

CASE_INSENSITIVE = frozenset(
    {Operator.IEQ, Operator.NOT_IEQ, Operator.ICONTAINS, Operator.ISTARTS_WITH, Operator.IENDS_WITH}
)
"""Operators that compare text with ASCII letters folded to lower case (see `fold_case`)."""

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold_case(text: str) -> str:
    """`text` with A-Z lowered and nothing else changed.

    ASCII only, because that is what both backends do without extensions: SQLite's lower()
    and PostgreSQL's lower() under the "C" collation; so `ieq` means the same on both.
    """
    return text.translate(_ASCII_LOWER)


LIST_OPERATORS = frozenset({Operator.IN, Operator.NOT_IN})
"""Operators that take a list of values instead of one value."""

NULLABLE_OPERATORS = frozenset({Operator.EQ, Operator.NE})
"""Operators whose value may be null: `= null` is IS NULL, `!= null` is IS NOT NULL."""


class Logic(StrEnum):
    AND = "and"
    OR = "or"


@dataclass(frozen=True)
class Condition:
    """One comparison: `path operator value`, or `path in values` for the list operators."""

    path: tuple[str, ...]
    operator: Operator
    value: WireValue | None = None
    values: tuple[WireValue, ...] = ()

    @property
    def name(self) -> str:
        """The path as written on the wire, for error messages."""
        return ".".join(self.path)


@dataclass(frozen=True)
class Group:
    """Children joined by one logical operator; an empty AND is true and an empty OR is false."""

    logic: Logic
    children: tuple[Node, ...]


Node = Condition | Group


@dataclass(frozen=True)
class Sort:
    path: tuple[str, ...]
    descending: bool = False

    @property
    def name(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Query:
    """A whole read request: filter, order, projection, expansion and page."""

    filter: Node | None = None
    sort: tuple[Sort, ...] = ()
    select: tuple[str, ...] | None = None
    start: int = 0
    limit: int = 100
    expand: tuple[str, ...] = ()


def split_path(name: str) -> tuple[str, ...]:
    """`Customer.Country` -> ("Customer", "Country"); empty segments are kept for the planner to refuse."""
    return tuple(name.split("."))
