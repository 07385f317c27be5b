"""Which operators each field type accepts, and which types can be sorted.

The vendor's own matrix (docs/compat-uipath.md#query-body) is advice its server does not enforce (it runs
`<` on text lexicographically and 400s only on unknown operators). recordbase enforces a
matrix instead, so every query that runs means the same thing on SQLite and PostgreSQL:

- no ordering (`> < >= <=`) on text: it would sort by code point, which users read as a bug;
- no `contains` on numbers, dates, booleans: it would depend on how each backend prints them;
- `contains` on a multi-choice set is membership of one NumberId; `=` is exact set equality;
- `in`/`not in` on single values only (not booleans, multi-choice or files);
- file fields answer only the empty checks (`=`/`!=` without a value);
- the case-insensitive operators (Pipeliner's `ieq`, `icontains`, ...) on text only.

`=`/`!=` without a value (IS NULL / IS NOT NULL) work on every type. `matrix_markdown()`
renders the table for the docs.
"""

from __future__ import annotations

from recordbase.core.query.ast import CASE_INSENSITIVE, Operator
from recordbase.core.schema import FieldType

EQUALITY = frozenset({Operator.EQ, Operator.NE})
ORDERING = frozenset({Operator.GT, Operator.LT, Operator.GE, Operator.LE})
MEMBERSHIP = frozenset({Operator.CONTAINS, Operator.NOT_CONTAINS})
AFFIXES = frozenset({Operator.STARTS_WITH, Operator.ENDS_WITH})
LISTS = frozenset({Operator.IN, Operator.NOT_IN})

TEXTUAL = EQUALITY | MEMBERSHIP | AFFIXES | LISTS | CASE_INSENSITIVE
ORDERED = EQUALITY | ORDERING | LISTS

ALLOWED: dict[FieldType, frozenset[Operator]] = {
    FieldType.TEXT: TEXTUAL,
    FieldType.MULTILINE_TEXT: TEXTUAL,
    FieldType.INTEGER: ORDERED,
    FieldType.DECIMAL: ORDERED,
    FieldType.AUTO_NUMBER: ORDERED,
    FieldType.DATE: ORDERED,
    FieldType.DATETIME: ORDERED,
    FieldType.BOOLEAN: EQUALITY,
    FieldType.CHOICE_SET: EQUALITY | LISTS,
    FieldType.MULTI_CHOICE_SET: EQUALITY | MEMBERSHIP,
    FieldType.RELATIONSHIP: EQUALITY | LISTS,
    FieldType.UUID: ORDERED,
    FieldType.FILE: frozenset(),
}
"""Operators that take a value, per type; the null checks are allowed everywhere on top of these."""

UNSORTABLE = frozenset({FieldType.MULTI_CHOICE_SET, FieldType.FILE})

COLUMNS: tuple[tuple[str, tuple[FieldType, ...]], ...] = (
    ("Text, Multi-line", (FieldType.TEXT, FieldType.MULTILINE_TEXT)),
    ("Number, Auto-number", (FieldType.INTEGER, FieldType.DECIMAL, FieldType.AUTO_NUMBER)),
    ("Date, Date-time", (FieldType.DATE, FieldType.DATETIME)),
    ("Yes/No", (FieldType.BOOLEAN,)),
    ("Choice set", (FieldType.CHOICE_SET,)),
    ("Multi-choice set", (FieldType.MULTI_CHOICE_SET,)),
    ("Relationship", (FieldType.RELATIONSHIP,)),
    ("Unique ID (Id, CreatedBy, UpdatedBy)", (FieldType.UUID,)),
    ("File", (FieldType.FILE,)),
)
ROWS: tuple[tuple[str, frozenset[Operator]], ...] = (
    ("`=` `!=` with a value", EQUALITY),
    ("`=` `!=` without a value (IS NULL / IS NOT NULL)", frozenset()),
    ("`>` `<` `>=` `<=`", ORDERING),
    ("`contains` `not contains`", MEMBERSHIP),
    ("`startswith` `endswith`", AFFIXES),
    ("`in` `not in`", LISTS),
    ("`ieq` `not ieq` `icontains` `istartswith` `iendswith` (Pipeliner list)", CASE_INSENSITIVE),
)


def allows(field_type: FieldType, operator: Operator, has_value: bool) -> bool:
    """Whether `operator` may be used on a field of `field_type` (`has_value` False: a null check)."""
    if not has_value and operator in EQUALITY:
        return True
    return operator in ALLOWED[field_type]


def sortable(field_type: FieldType) -> bool:
    return field_type not in UNSORTABLE


def matrix_markdown() -> str:
    """The operator x type matrix as a markdown table (rows: operators; columns: field types)."""
    header = "| Operator | " + " | ".join(label for label, _ in COLUMNS) + " |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 1)]
    for label, operators in ROWS:
        cells = [_mark(types, operators) for _, types in COLUMNS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    sort_cells = ["✗" if t[0] in UNSORTABLE else "✓" for _, t in COLUMNS]
    lines.append("| sort (`sortOptions`, `$orderby`) | " + " | ".join(sort_cells) + " |")
    return "\n".join(lines)


def _mark(types: tuple[FieldType, ...], operators: frozenset[Operator]) -> str:
    if not operators:
        return "✓"
    return "✓" if all(operators <= ALLOWED[t] for t in types) else "✗"
