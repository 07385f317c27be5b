"""The schema catalog in the database: entity and choice-set definitions, and the DDL that follows them.

Definitions are stored as JSON documents, one row each; the schema version in `rb_meta`
goes up with every change, in the same transaction as the change and its DDL.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.schema import CreateColumn, CreateIndex, CreateTable, DropIndex

from recordbase.core.schema import ChoiceSet, ChoiceValue, Entity, Field, FieldType, Index, Schema
from recordbase.storage import tables
from recordbase.storage.database import Connection, Database

SCHEMA_CHANNEL = "schema"


def _now() -> str:
    return datetime.now(UTC).isoformat()


def field_to_json(field: Field) -> dict[str, Any]:
    data = dataclasses.asdict(field)
    data["type"] = field.type.value
    for key in ("min_value", "max_value"):
        if data[key] is not None:
            data[key] = str(data[key])
    return data


def field_from_json(data: dict[str, Any]) -> Field:
    values = dict(data)
    values["type"] = FieldType(values["type"])
    for key in ("min_value", "max_value"):
        if values.get(key) is not None:
            values[key] = Decimal(values[key])
    return Field(**values)


def entity_to_json(entity: Entity) -> bytes:
    return orjson.dumps(
        {
            "id": entity.id,
            "name": entity.name,
            "display_name": entity.display_name,
            "description": entity.description,
            "rbac": entity.rbac,
            "fields": [field_to_json(f) for f in entity.fields],
            "indexes": [dataclasses.asdict(i) for i in entity.indexes],
        }
    )


def entity_from_json(text: str) -> Entity:
    data = orjson.loads(text)
    return Entity(
        id=data["id"],
        name=data["name"],
        display_name=data["display_name"],
        description=data["description"],
        rbac=data["rbac"],
        fields=tuple(field_from_json(f) for f in data["fields"]),
        indexes=tuple(Index(i["name"], tuple(i["fields"]), i["unique"]) for i in data.get("indexes", [])),
    )


def choice_set_to_json(choice_set: ChoiceSet) -> bytes:
    return orjson.dumps(dataclasses.asdict(choice_set))


def choice_set_from_json(text: str) -> ChoiceSet:
    data = orjson.loads(text)
    values = tuple(ChoiceValue(**v) for v in data.pop("values"))
    return ChoiceSet(**data, values=values)


class CatalogStore:
    """Reads and changes the catalog; every method runs on a connection the caller holds."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def version(self, connection: Connection) -> int:
        rows = await connection.fetch(
            sa.select(tables.meta.c.value).where(tables.meta.c.key == "schema_version")
        )
        return int(rows[0][0])

    async def load(self, connection: Connection) -> Schema:
        version = await self.version(connection)
        entity_rows = await connection.fetch(sa.select(tables.entities.c.definition))
        choice_rows = await connection.fetch(sa.select(tables.choice_sets.c.definition))
        return Schema(
            version=version,
            entities=tuple(
                sorted((entity_from_json(r[0]) for r in entity_rows), key=lambda e: e.name.lower())
            ),
            choice_sets=tuple(
                sorted((choice_set_from_json(r[0]) for r in choice_rows), key=lambda c: c.name.lower())
            ),
        )

    async def bump_version(self, connection: Connection) -> int:
        current = await self.version(connection)
        await connection.execute(
            sa.update(tables.meta).where(tables.meta.c.key == "schema_version").values(value=str(current + 1))
        )
        await self.database.notify(connection, SCHEMA_CHANNEL)
        return current + 1

    async def save_entity(self, connection: Connection, entity: Entity, *, new: bool) -> None:
        row = {"definition": entity_to_json(entity).decode(), "updated_at": _now()}
        if new:
            await connection.execute(
                sa.insert(tables.entities).values(
                    id=entity.id, name_key=entity.name.lower(), created_at=_now(), **row
                )
            )
        else:
            await connection.execute(
                sa.update(tables.entities).where(tables.entities.c.id == entity.id).values(**row)
            )

    async def delete_entity(self, connection: Connection, entity: Entity) -> None:
        await connection.execute(sa.delete(tables.entities).where(tables.entities.c.id == entity.id))
        field_ids = [f.id for f in entity.fields]
        if field_ids:
            await connection.execute(
                sa.delete(tables.counters).where(tables.counters.c.field_id.in_(field_ids))
            )

    async def save_choice_set(self, connection: Connection, choice_set: ChoiceSet, *, new: bool) -> None:
        row = {"definition": choice_set_to_json(choice_set).decode(), "updated_at": _now()}
        if new:
            await connection.execute(
                sa.insert(tables.choice_sets).values(
                    id=choice_set.id, name_key=choice_set.name.lower(), created_at=_now(), **row
                )
            )
        else:
            await connection.execute(
                sa.update(tables.choice_sets).where(tables.choice_sets.c.id == choice_set.id).values(**row)
            )

    async def delete_choice_set(self, connection: Connection, choice_set: ChoiceSet) -> None:
        await connection.execute(
            sa.delete(tables.choice_sets).where(tables.choice_sets.c.id == choice_set.id)
        )

    # DDL ---------------------------------------------------------------------------------------

    async def create_table(self, connection: Connection, entity: Entity, schema: Schema) -> None:
        table = tables.SchemaTables(schema).table(entity)
        await self._ddl(connection, CreateTable(table))
        for statement in _index_statements(table, entity, postgres=self._postgres):
            await self._ddl(connection, statement)

    async def drop_table(self, connection: Connection, entity: Entity) -> None:
        await connection.execute_ddl(f"DROP TABLE {self._quote(tables.table_name(entity))}")

    async def add_column(self, connection: Connection, entity: Entity, field: Field, schema: Schema) -> None:
        table = tables.SchemaTables(schema).table(entity)
        column = table.c[field.name]
        spec = str(CreateColumn(column).compile(dialect=self.database.dialect))
        for key in column.foreign_keys:
            target = key.column.table.name
            spec += f' REFERENCES {self._quote(target)} ("Id")'
        await connection.execute_ddl(f"ALTER TABLE {self._quote(table.name)} ADD COLUMN {spec}")
        for statement in _index_statements(table, entity, only=field, postgres=self._postgres):
            await self._ddl(connection, statement)

    async def drop_column(self, connection: Connection, entity: Entity, field: Field, schema: Schema) -> None:
        """Drop a field's column; SQLite cannot drop a foreign-key column, so there the table is rebuilt."""
        table = tables.SchemaTables(schema).table(entity)
        for index in list(table.indexes):
            if field.name in index.columns:
                await self._ddl(connection, DropIndex(index))
        if self.database.name == "sqlite" and field.type is FieldType.RELATIONSHIP:
            await self._rebuild_without(connection, entity, field, schema)
            return
        column = tables.column_name(field)
        await connection.execute_ddl(
            f"ALTER TABLE {self._quote(table.name)} DROP COLUMN {self._quote(column)}"
        )

    async def create_index(
        self, connection: Connection, entity: Entity, index: Index, schema: Schema
    ) -> None:
        table = tables.SchemaTables(schema).table(entity)
        columns = [_key(table.c[name], self._postgres) for name in index.fields]
        await self._ddl(
            connection,
            CreateIndex(
                sa.Index(tables.declared_index_name(entity, index.name), *columns, unique=index.unique)
            ),
        )

    async def drop_index(self, connection: Connection, entity: Entity, index: Index) -> None:
        name = tables.declared_index_name(entity, index.name)
        await connection.execute_ddl(f"DROP INDEX IF EXISTS {self._quote(name)}")

    async def _rebuild_without(
        self, connection: Connection, entity: Entity, field: Field, schema: Schema
    ) -> None:
        kept = entity.with_fields(f for f in entity.fields if f.id != field.id)
        new_schema = dataclasses.replace(
            schema, entities=tuple(kept if e.id == entity.id else e for e in schema.entities)
        )
        temporary = dataclasses.replace(kept, id=kept.id + "-new")
        new_table = tables.build_table(temporary, new_schema, sa.MetaData())
        await self._ddl(connection, CreateTable(new_table))
        names = ", ".join(self._quote(c.name) for c in new_table.columns)
        old_name = self._quote(tables.table_name(entity))
        await connection.execute_ddl(
            f"INSERT INTO {self._quote(new_table.name)} ({names}) SELECT {names} FROM {old_name}"
        )
        await connection.execute_ddl(f"DROP TABLE {old_name}")
        await connection.execute_ddl(f"ALTER TABLE {self._quote(new_table.name)} RENAME TO {old_name}")
        for statement in _index_statements(tables.SchemaTables(new_schema).table(kept), kept):
            await self._ddl(connection, statement)

    # Auto-number counters ----------------------------------------------------------------------

    async def start_counter(self, connection: Connection, field: Field) -> None:
        await connection.execute(
            sa.insert(tables.counters).values(field_id=field.id, next_value=field.start_value or 1)
        )

    async def number_existing_rows(
        self, connection: Connection, entity: Entity, field: Field, schema: Schema
    ) -> None:
        """Give existing records numbers in creation order, as UiPath's auto-number does."""
        table = tables.SchemaTables(schema).table(entity)
        rows = await connection.fetch(sa.select(table.c.Id).order_by(table.c.CreateTime, table.c.Id))
        first = await self.take_numbers(connection, field, len(rows))
        update = self.database.prepare(
            sa.update(table)
            .where(table.c.Id == sa.bindparam("rid"))
            .values({field.name: sa.bindparam("number")})
        )
        await connection.execute_many(
            update, [{"rid": r[0], "number": first + i} for i, r in enumerate(rows)]
        )

    async def take_numbers(self, connection: Connection, field: Field, count: int) -> int:
        """Reserve `count` consecutive numbers; return the first."""
        counter = tables.counters
        rows = await connection.fetch(
            sa.update(counter)
            .where(counter.c.field_id == field.id)
            .values(next_value=counter.c.next_value + count)
            .returning(counter.c.next_value)
        )
        return int(rows[0][0]) - count

    async def _ddl(self, connection: Connection, statement: sa.schema.ExecutableDDLElement) -> None:
        await connection.execute_ddl(str(statement.compile(dialect=self.database.dialect)))

    @property
    def _postgres(self) -> bool:
        return self.database.name == "postgresql"

    def _quote(self, name: str) -> str:
        return str(self.database.dialect.identifier_preparer.quote_identifier(name))


def _index_statements(
    table: sa.Table, entity: Entity, only: Field | None = None, *, postgres: bool = False
) -> list[CreateIndex]:
    """Unique fields get a unique index; relationship fields an index for joins and reference checks;
    `CreateTime` one for newest-first pages and "created since" filters (docs/benchmarks.md, Query)."""
    statements = []
    for field in entity.fields:
        if only is not None and field.id != only.id:
            continue
        column = _key(table.c[field.name], postgres)
        if field.unique:
            statements.append(CreateIndex(sa.Index(tables.unique_index_name(field), column, unique=True)))
        elif field.type is FieldType.RELATIONSHIP:
            statements.append(CreateIndex(sa.Index(tables.index_name(field.id), column)))
    if only is None:
        statements.append(CreateIndex(sa.Index(tables.index_name(f"ct_{entity.id}"), table.c.CreateTime)))
        for index in entity.indexes:
            columns = [_key(table.c[name], postgres) for name in index.fields]
            name = tables.declared_index_name(entity, index.name)
            statements.append(CreateIndex(sa.Index(name, *columns, unique=index.unique)))
    return statements


def _key(column: sa.Column[Any], postgres: bool) -> Any:
    """An index key in the order queries sort by (storage/query.py): nulls first ascending, so an
    ascending and a descending sort can both walk the index. SQLite puts nulls first already, and
    its CREATE INDEX takes no NULLS clause; a NOT NULL column needs none."""
    return column.asc().nulls_first() if postgres and column.nullable else column
