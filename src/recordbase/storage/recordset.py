"""PostgreSQL: many rows written by one statement, sent as one JSON text.

`INSERT … SELECT … FROM json_to_recordset(CAST($1 AS JSON)) AS r(c0 UUID, c1 TIMESTAMPTZ, …)`.
asyncpg encodes an array parameter value by value, with two abstract-class checks on each (about
a microsecond per value on the development machine: a third of a 1,000-record batch's CPU); orjson
writes the same rows as one text for a third of that, and PostgreSQL reads it for about a quarter
more than the arrays: less CPU in all (docs/benchmarks.md, "Speed per request", item 19). The
columns are named by position, so no field name is ever too long for an identifier, and each is
typed, so every value is read by its column type's own input (a decimal as it was written, never
through a float).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine

ROWS = "_rows"
"""The statement's one parameter (no field name starts with `_`)."""


class Recordset:
    """Rows of the given keys and column types, as a table a statement selects from. Every recordset
    has two keys or more (a record's id and what is written), so `itemgetter` gives a tuple."""

    def __init__(self, columns: Sequence[tuple[str, TypeEngine[Any]]]) -> None:
        assert len(columns) > 1, "a recordset names its rows' id and at least one column"
        self.keys = tuple(key for key, _ in columns)
        self._names = tuple(f"c{position}" for position in range(len(self.keys)))
        self._get = itemgetter(*self.keys)
        rows = sa.func.json_to_recordset(sa.cast(sa.bindparam(ROWS, type_=sa.Text), postgresql.JSON))
        typed = (sa.column(name, type_) for name, (_, type_) in zip(self._names, columns, strict=True))
        self.table = rows.table_valued(*typed).render_derived(name="r", with_types=True)

    @property
    def columns(self) -> list[sa.ColumnElement[Any]]:
        """The columns in the order of `keys`."""
        return list(self.table.c)

    def column(self, key: str) -> sa.ColumnElement[Any]:
        return self.table.c[self._names[self.keys.index(key)]]

    def params(self, rows: Iterable[Mapping[str, Any]]) -> dict[str, str]:
        """The statement's parameter for these rows (each carries every key)."""
        names, get = self._names, self._get
        return {ROWS: _json([dict(zip(names, get(row), strict=True)) for row in rows])}


def _json(rows: list[dict[str, Any]]) -> str:
    return orjson.dumps(rows, default=_decimal).decode()


def _decimal(value: Any) -> str:
    """Decimals as their exact text; orjson writes every other type a column here holds."""
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not written to PostgreSQL as JSON")
