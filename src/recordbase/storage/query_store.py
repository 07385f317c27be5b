"""Run query plans (storage/query.py compiles them) on a read connection.

Each statement *shape* is compiled once: a plan is built into SQLAlchemy Core every time (cheap),
but its compiled text is looked up by SQLAlchemy's cache key, which leaves the bound values out,
and the values of this request are bound into the cached text. The same filter with other values,
or the next page of a cursor walk, never compiles again (reference/stack-floor.md: compiling is
what makes SQLAlchemy slow, not building).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.compiler import SQLCompiler

from recordbase.core.query.cursor import Cursor
from recordbase.core.query.plan import Plan
from recordbase.core.schema import Schema
from recordbase.storage import codecs
from recordbase.storage.database import Row
from recordbase.storage.query import compile_count, compile_rows
from recordbase.storage.records import Record, RecordStore, stale_schema_guard
from recordbase.storage.sql import Prepared

CACHE_SIZE = 512
Keyed = tuple[Record, Cursor]
"""A record of the page and its cursor (its values of the plan's order keys)."""


class StatementCache:
    """Compiled statements by SQLAlchemy cache key, least recently used dropped beyond `size`."""

    def __init__(self, dialect: sa.engine.Dialect, size: int = CACHE_SIZE) -> None:
        self.dialect = dialect
        self.size = size
        self._compiled: OrderedDict[Any, Prepared] = OrderedDict()

    def bind(self, statement: sa.Select[Any]) -> tuple[Prepared, Mapping[str, Any]]:
        """The compiled form of `statement` and the parameters that carry its values."""
        key = statement._generate_cache_key()
        if key is None:  # pragma: no cover - every construct compile_query uses is cacheable
            fresh = _compile(statement, self.dialect, None)
            return fresh, fresh.defaults
        prepared = self._compiled.get(key.key)
        if prepared is None:
            prepared = self._compiled[key.key] = _compile(statement, self.dialect, key)
            if len(self._compiled) > self.size:
                self._compiled.popitem(last=False)
        else:
            self._compiled.move_to_end(key.key)
        params = prepared.compiled.construct_params(extracted_parameters=key.bindparams, _check=False)
        return prepared, params


def _compile(statement: sa.Select[Any], dialect: sa.engine.Dialect, key: Any) -> Prepared:
    compiled = statement.compile(dialect=dialect, cache_key=key)
    assert isinstance(compiled, SQLCompiler)
    names = tuple(compiled.positiontup or ())
    return Prepared(compiled, compiled.string, names, compiled.construct_params(_check=False), ())


class QueryStore:
    """Pages and counts of query plans, over the entity tables `RecordStore` knows."""

    def __init__(self, records: RecordStore) -> None:
        self.records = records
        self.database = records.database
        self.cache = StatementCache(records.database.dialect)

    async def page(self, schema: Schema, plan: Plan, after: Cursor | None = None) -> list[Keyed]:
        """The records of `plan`'s page (after `after` when given), each with its cursor."""
        tables = self.records.schema_tables(schema)
        statement = compile_rows(plan, tables, self.database.name, after=after, related_keys=True)
        prepared, params = self.cache.bind(statement)
        async with self.database.read() as connection, stale_schema_guard():
            rows = await connection.fetch(prepared, params)
        return self._keyed(schema, plan, rows)

    async def count(self, schema: Schema, plan: Plan) -> int:
        """How many records match `plan`'s filter (page and cursor ignored)."""
        statement = compile_count(plan, self.records.schema_tables(schema), self.database.name)
        prepared, params = self.cache.bind(statement)
        async with self.database.read() as connection, stale_schema_guard():
            rows = await connection.fetch(prepared, params)
        return int(rows[0][0])

    def _keyed(self, schema: Schema, plan: Plan, rows: Sequence[Row]) -> list[Keyed]:
        shape = self.records.shape(schema, plan.entity)
        names = [key.ref.field.name for key in plan.order]
        related = [codecs.decoder(self.database.name, key.ref.field) for key in plan.order if key.ref.hops]
        if not related:
            decoded = [shape.decode(row) for row in rows]
            return [(record, tuple(record[name] for name in names)) for record in decoded]
        width = len(shape.keys)
        found: list[Keyed] = []
        for row in rows:
            record = shape.decode(row[:width])
            values = iter(None if v is None else f(v) for f, v in zip(related, row[width:], strict=True))
            cursor = tuple(
                next(values) if key.ref.hops else record[name]
                for key, name in zip(plan.order, names, strict=True)
            )
            found.append((record, cursor))
        return found
