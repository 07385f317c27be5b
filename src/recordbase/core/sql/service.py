"""Run a caller's SQL: parse, check and rewrite against the schema as the caller may see it, run it
with the limits, and render each row as a JSON object (docs/sql.md).

    rows = await services.sql.execute("SELECT fullName FROM Customer LIMIT 5", SqlOptions(), actor)

Values of a column that reads a field are rendered as records render them (dates, decimals,
booleans alike on both backends). Relationship columns are `{"Id": …}` unless
`relationshipsAsScalar`; choice-set columns are their `NumberId` unless `resolveChoiceSets`, which
makes them `{"NumberId", "Name", "DisplayName"}` (a list of those for a multi-choice set).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlglot import exp

from recordbase.core.actors import Actor
from recordbase.core.fields import KINDS
from recordbase.core.schema import Entity, Field, FieldType, Schema
from recordbase.core.schema_cache import SchemaCache
from recordbase.core.sql.catalog import require_reader, visible_tables
from recordbase.core.sql.parse import parse_sql
from recordbase.core.sql.rewrite import Physical, SqlStatement, rewrite
from recordbase.errors import UnknownEntity

Render = Callable[[Any], Any]


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

    async def execute(self, text: object, options: SqlOptions, actor: Actor) -> list[dict[str, Any]]:
        """The rows of the caller's statement, each a JSON object keyed by the result's column names."""
        require_reader(actor.permissions)
        tree = parse_sql(text)
        try:
            statement = self._plan(tree.copy(), self.schemas.current, actor)
        except UnknownEntity:
            # Another process may have created the entity: look once more after a version check.
            if not await self.schemas.refresh_if_changed():
                raise
            statement = self._plan(tree, self.schemas.current, actor)
        result = await self.store.run(statement, self.time_limit)
        renders = [_renderer(f, options, self.schemas.current) for f in result.fields]
        return [_row(result.names, renders, row) for row in result.rows]

    def rewritten(self, text: object, actor: Actor) -> str:
        """The SQL that `execute` would run for `actor` (benchmarks and tests)."""
        return self._plan(parse_sql(text), self.schemas.current, actor).sql

    def _plan(self, tree: exp.Query, schema: Schema, actor: Actor) -> SqlStatement:
        tables = visible_tables(schema, actor.permissions)
        return rewrite(tree, tables, self.store.physical, self.store.backend, self.max_rows)


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
