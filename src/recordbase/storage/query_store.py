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
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.compiler import SQLCompiler

from recordbase.core.query.aggregate import AggregationPlan, Key, Measure
from recordbase.core.query.cursor import Cursor
from recordbase.core.query.plan import Plan
from recordbase.core.schema import Schema
from recordbase.storage import codecs
from recordbase.storage.aggregate import compile_aggregation
from recordbase.storage.codecs import Codec
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

    async def aggregate(self, schema: Schema, agg: AggregationPlan) -> tuple[list[tuple[Any, ...]], int]:
        """The page of an aggregation's rows (keys then measures, as core values) and their total."""
        compiled = compile_aggregation(agg, self.records.schema_tables(schema), self.database.name)
        rows_sql, rows_params = self.cache.bind(compiled.rows)
        count_sql, count_params = self.cache.bind(compiled.count)
        async with self.database.read() as connection, stale_schema_guard():
            rows = await connection.fetch(rows_sql, rows_params)
            total = await connection.fetch(count_sql, count_params)
        decoders = [*(_key_decoder(self.database.name, k) for k in agg.keys)]
        decoders += [_measure_decoder(self.database.name, m) for m in agg.measures]
        return [_decoded(decoders, row) for row in rows], int(total[0][0])

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


def _key_decoder(backend: str, key: Key) -> Codec:
    if key.size is not None or key.part is not None:
        return _number
    return codecs.decoder(backend, key.ref.field)


def _measure_decoder(backend: str, measure: Measure) -> Codec:
    if measure.ref is not None and measure.function in ("MIN", "MAX"):
        return codecs.decoder(backend, measure.ref.field)
    return _number


def _number(value: Any) -> Any:
    """Counts, sums, averages and numeric bins as JSON numbers (whole numbers as integers)."""
    if isinstance(value, Decimal | float) and value == int(value):
        return int(value)
    return float(value) if isinstance(value, Decimal) else value


def _decoded(decoders: Sequence[Codec], row: Row) -> tuple[Any, ...]:
    return tuple(None if v is None else d(v) for d, v in zip(decoders, row, strict=True))
