"""Run a caller's SQL: parse, check and rewrite against the schema as the caller may see it, run it
with the limits, and render each row as a JSON object (docs/sql.md).

    rows = await services.sql.execute("SELECT fullName FROM Customer LIMIT 5", SqlOptions(), actor)

Values of a column that reads a field are rendered as records render them (dates, decimals,
booleans alike on both backends). Relationship columns are `{"Id": …}` unless
`relationshipsAsScalar`; choice-set columns are their `NumberId` unless `resolveChoiceSets`, which
makes them `{"NumberId", "Name", "DisplayName"}` (a list of those for a multi-choice set).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from recordbase.core.actors import Actor
from recordbase.core.fields import KINDS
from recordbase.core.schema import Entity, Field, FieldType, Schema
from recordbase.core.schema_cache import SchemaCache
from recordbase.core.sql.catalog import SqlTable, require_reader, visible_tables
from recordbase.core.sql.parse import parse_sql
from recordbase.core.sql.rewrite import Physical, SqlStatement, rewrite
from recordbase.errors import UnknownEntity

Render = Callable[[Any], Any]
CACHE_SIZE = 256


@dataclass(frozen=True)
class SqlOptions:
    """`queryOptions` of the request, as the uipath SDK sends them."""

    relationships_as_scalar: bool = False
    resolve_choice_sets: bool = False


@dataclass(frozen=True)
class SqlRows:
    """What storage returns: result column names, the field each reads (or None), and the rows."""

    names: list[str]
    fields: list[Field | None]
    rows: list[tuple[Any, ...]]


class SqlStore(Protocol):
    """storage/sql_store.py."""

    @property
    def backend(self) -> str: ...
    def physical(self, entity: Entity) -> Physical: ...
    async def run(self, statement: SqlStatement, time_limit: float) -> SqlRows: ...


class SqlService:
    def __init__(self, schemas: SchemaCache, store: SqlStore, max_rows: int, time_limit: float) -> None:
        self.schemas = schemas
        self.store = store
        self.max_rows = max_rows
        self.time_limit = time_limit
        self._cache: OrderedDict[Any, SqlStatement] = OrderedDict()

    async def execute(self, text: object, options: SqlOptions, actor: Actor) -> list[dict[str, Any]]:
        """The rows of the caller's statement, each a JSON object keyed by the result's column names."""
        require_reader(actor.permissions)
        try:
            statement = self._plan(text, self.schemas.current, actor)
        except UnknownEntity:
            # Another process may have created the entity: look once more after a version check.
            if not await self.schemas.refresh_if_changed():
                raise
            statement = self._plan(text, self.schemas.current, actor)
        result = await self.store.run(statement, self.time_limit)
        renders = [_renderer(f, options, self.schemas.current) for f in result.fields]
        return [_row(result.names, renders, row) for row in result.rows]

    def rewritten(self, text: object, actor: Actor) -> str:
        """The SQL that `execute` would run for `actor` (benchmarks and tests)."""
        return self._plan(text, self.schemas.current, actor).sql

    def _plan(self, text: object, schema: Schema, actor: Actor) -> SqlStatement:
        """The checked, rewritten statement; the same text for the same view of the schema is parsed
        and rewritten once (a view is the schema version and exactly what the caller may read)."""
        tables = visible_tables(schema, actor.permissions)
        key = (text, schema.version, _view(tables)) if isinstance(text, str) else None
        found = self._cache.get(key) if key is not None else None
        if found is not None:
            self._cache.move_to_end(key)
            return found
        statement = rewrite(parse_sql(text), tables, self.store.physical, self.store.backend, self.max_rows)
        if key is not None:
            self._cache[key] = statement
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return statement


def _view(tables: Mapping[str, SqlTable]) -> tuple[tuple[str, str | None, tuple[str, ...]], ...]:
    return tuple((name, t.owner, tuple(f.name for f in t.columns)) for name, t in sorted(tables.items()))


def _row(names: Sequence[str], renders: Sequence[Render], row: tuple[Any, ...]) -> dict[str, Any]:
    return {name: None if v is None else r(v) for name, r, v in zip(names, renders, row, strict=True)}


def _same(value: Any) -> Any:
    return value


def _renderer(field: Field | None, options: SqlOptions, schema: Schema) -> Render:
    if field is None:
        return _same
    if field.type is FieldType.RELATIONSHIP and not options.relationships_as_scalar:
        return lambda value: {"Id": value}
    if field.type in (FieldType.CHOICE_SET, FieldType.MULTI_CHOICE_SET) and options.resolve_choice_sets:
        return _choice_renderer(field, schema)
    kind = KINDS[field.type]
    return lambda value: kind.render(field, value)


def _choice_renderer(field: Field, schema: Schema) -> Render:
    choice_set = schema.find_choice_set(field.choice_set_id or "")
    labels = {v.number_id: v for v in choice_set.values} if choice_set is not None else {}

    def one(number: Any) -> Any:
        found = labels.get(number) if isinstance(number, int) else None
        if found is None:
            return {"NumberId": number, "Name": None, "DisplayName": None}
        return {"NumberId": number, "Name": found.name, "DisplayName": found.display_name or found.name}

    if field.type is FieldType.MULTI_CHOICE_SET:
        return lambda value: [one(n) for n in value] if isinstance(value, list | tuple) else one(value)
    return one
