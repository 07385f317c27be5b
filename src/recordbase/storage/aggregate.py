"""Compile an aggregation plan (core/query/aggregate.py) to SQL, the same on SQLite and PostgreSQL.

The filter, the relationship joins and the permission filters are the query engine's own
(`storage/query.py`'s builder), so an aggregate counts exactly the records a query would list.
Groups come out ordered by their keys (nulls first); a numeric bin is `floor(value / size) * size`
and a date part is the text `YYYY`, `YYYY-MM` or `YYYY-MM-DD` of the date (of a date-time in UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from recordbase.core.query.aggregate import AggregationPlan, Key, Measure
from recordbase.core.query.plan import SYSTEM, FieldRef
from recordbase.core.schema import FieldType
from recordbase.storage.query import _Builder
from recordbase.storage.tables import SchemaTables

PART_LENGTH = {"year": 4, "month": 7, "day": 10}
PART_FORMAT = {"year": "YYYY", "month": "YYYY-MM", "day": "YYYY-MM-DD"}


@dataclass(frozen=True)
class CompiledAggregation:
    rows: sa.Select[Any]
    count: sa.Select[Any]


def compile_aggregation(agg: AggregationPlan, tables: SchemaTables, backend: str) -> CompiledAggregation:
    """The page of result rows (keys, then measures) and how many rows there are in all."""
    builder = _Builder(tables, agg.plan, backend)
    where = [builder.condition(agg.plan.filter)]
    where += [builder.column(ref).is_not(None) for ref in agg.inner]
    keys = [_key(builder, key) for key in agg.keys]
    measures = [_measure(builder, measure) for measure in agg.measures]
    columns = [c.label(f"c{i}") for i, c in enumerate([*keys, *measures])]
    base = sa.select(*columns).select_from(builder.from_clause()).where(*where)
    if agg.grouped:
        grouped = base.group_by(*keys) if keys else base
        ordered = grouped.order_by(*(k.asc().nulls_first() for k in keys))
        count = sa.select(sa.func.count()).select_from(grouped.subquery())
    else:
        ordered = base.order_by(builder.column(FieldRef((), agg.plan.entity, SYSTEM["Id"])))
        count = sa.select(sa.func.count()).select_from(builder.from_clause()).where(*where)
    page = ordered.limit(agg.plan.limit).offset(agg.plan.start)
    return CompiledAggregation(page, count)


def _key(builder: _Builder, key: Key) -> ColumnElement[Any]:
    column = builder.ordered(key.ref)
    if key.size is not None:
        return _numeric_bin(column, float(key.size), builder.postgres)
    if key.part is not None:
        return _date_part(column, key.part, key.ref.field.type, builder.postgres)
    return column


def _numeric_bin(column: ColumnElement[Any], size: float, postgres: bool) -> ColumnElement[Any]:
    width = sa.bindparam(None, size, type_=sa.Float())
    ratio = column * sa.literal(1.0, sa.Float()) / width
    if postgres:
        return sa.func.floor(ratio) * width
    whole = sa.cast(ratio, sa.Integer())
    # CAST truncates towards zero; a negative value that is not on a boundary belongs one bin lower.
    below = sa.case((sa.and_(ratio < 0, ratio != whole), 1), else_=0)
    return (whole - below) * width


def _date_part(column: ColumnElement[Any], part: str, kind: FieldType, postgres: bool) -> ColumnElement[Any]:
    if not postgres:
        return sa.func.substr(column, 1, PART_LENGTH[part])
    source = sa.func.timezone("UTC", column) if kind is FieldType.DATETIME else column
    return sa.func.to_char(source, PART_FORMAT[part])


def _measure(builder: _Builder, measure: Measure) -> ColumnElement[Any]:
    if measure.ref is None:
        return sa.func.count()
    if measure.function == "COUNT":
        return sa.func.count(builder.column(measure.ref))
    if measure.function == "COUNT_DISTINCT":
        return sa.func.count(sa.distinct(builder.column(measure.ref)))
    extreme = measure.function in ("MIN", "MAX")
    column = builder.ordered(measure.ref) if extreme else builder.column(measure.ref)
    function: ColumnElement[Any] = getattr(sa.func, measure.function.lower())(column)
    return function
