"""Reading and writing entity records: statements built once per entity and schema version.

Rows cross this boundary as dicts of core values keyed by field name plus the system
names (`Id`, `CreatedBy`, `CreateTime`, `UpdatedBy`, `UpdateTime`, `Revision`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import sqlalchemy as sa

from recordbase.core.events import Event
from recordbase.core.schema import Entity, Field, Schema
from recordbase.errors import FieldError, RecordReferenced, StaleSchema, ValidationFailed
from recordbase.storage import codecs, tables
from recordbase.storage.catalog import CatalogStore
from recordbase.storage.database import Connection, Database, Row
from recordbase.storage.errors import ErrorTranslation, ForeignKeyViolation, UndefinedObject, UniqueViolation
from recordbase.storage.outbox import OutboxStore, append_after, append_after_returning, event_params
from recordbase.storage.recordset import Recordset
from recordbase.storage.sql import Prepared

Record = dict[str, Any]
SYSTEM_COLUMNS = ("Id", "CreatedBy", "CreateTime", "UpdatedBy", "UpdateTime")
ONE: sa.ColumnElement[int] = sa.literal_column("1")
"""A literal, not a parameter: every parameter of a batch statement comes from the rows."""


@dataclass(frozen=True)
class Together:
    """A statement that writes many rows at once, and the recordset its rows are sent as."""

    statement: Prepared
    rows: Recordset


@dataclass
class EntityShape:
    """Everything needed to run the common statements of one entity at one schema version."""

    entity: Entity
    table: sa.Table
    database: Database

    @cached_property
    def keys(self) -> list[str]:
        return [*SYSTEM_COLUMNS, "Revision", *(f.name for f in self.entity.fields)]

    @cached_property
    def decoders(self) -> list[codecs.Codec]:
        backend = self.database.name
        stamp = codecs.timestamp_decoder(backend)
        plain = codecs.identity
        return [
            plain,
            plain,
            stamp,
            plain,
            stamp,
            plain,
            *(codecs.decoder(backend, f) for f in self.entity.fields),
        ]

    @cached_property
    def encoders(self) -> dict[str, codecs.Codec]:
        backend = self.database.name
        stamp = codecs.timestamp_encoder(backend)
        found = {f.name: codecs.encoder(backend, f) for f in self.entity.fields}
        return {**found, "CreateTime": stamp, "UpdateTime": stamp}

    def among(self, column: sa.ColumnElement[Any], name: str = "ids") -> sa.ColumnElement[bool]:
        """`column` is one of a list parameter: `= ANY($1)` on PostgreSQL (one statement text for any
        length, so asyncpg prepares it once), an expanding `IN (?, ?, …)` on SQLite."""
        if self.database.name == "postgresql":
            return column == sa.any_(sa.bindparam(name))
        return column.in_(sa.bindparam(name, expanding=True))

    def cached(
        self, key: tuple[str, ...], build: Callable[[], sa.Executable], point: bool = False
    ) -> Prepared:
        """A statement compiled once per shape and key (`point`: see `Prepared`)."""
        found = self._statements.get(key)
        if found is None:
            statement = build()
            found = self._statements[key] = self.database.prepare(statement, point=point)  # type: ignore[arg-type]
        return found

    @cached_property
    def _statements(self) -> dict[tuple[str, ...], Prepared]:
        return {}

    @cached_property
    def select_by_ids(self) -> Prepared:
        return self.database.prepare(sa.select(self.table).where(self.among(self.table.c.Id)), point=True)

    @cached_property
    def select_by_id(self) -> Prepared:
        """One record: `"Id" = $1` costs PostgreSQL a fifth less CPU than `= ANY($1)` with one element
        (measured on the benchmark's table), and a get by id is the commonest request."""
        query = sa.select(self.table).where(self.table.c.Id == sa.bindparam("id"))
        return self.database.prepare(query, point=True)

    @cached_property
    def existing_ids(self) -> Prepared:
        return self.database.prepare(
            sa.select(self.table.c.Id).where(self.among(self.table.c.Id)), point=True
        )

    @cached_property
    def existing_own_ids(self) -> Prepared:
        """`existing_ids` among the records one principal created ("own records only" readers)."""
        mine = self.table.c.CreatedBy == sa.bindparam("created_by")
        return self.database.prepare(sa.select(self.table.c.Id).where(self.among(self.table.c.Id), mine))

    @cached_property
    def insert(self) -> Prepared:
        return self.database.prepare(self._insert_one(), point=True)

    def _insert_one(self) -> sa.Insert:
        return sa.insert(self.table).values({c.key: sa.bindparam(c.key) for c in self.table.columns})

    def insert_with_event(self) -> Prepared | None:
        """PostgreSQL: one record's insert and its event's outbox append in one statement."""
        if self.database.name != "postgresql":
            return None
        return self.cached(("insert_with_event",), lambda: append_after(self._insert_one()), point=True)

    def update_with_event(self, columns: tuple[str, ...]) -> Prepared | None:
        """PostgreSQL: one record's update (as `update`) and its event's outbox append in one statement."""
        if self.database.name != "postgresql":
            return None
        build = lambda: append_after(self._update_one(columns))  # noqa: E731
        return self.cached(("update_with_event", *columns), build, point=True)

    def update_unread(self, columns: tuple[str, ...], *, owned: bool) -> Prepared:
        """`update` answering the record as written, for an update that did not read it first;
        `owned`: only where `CreatedBy = :_owner`. On PostgreSQL the event rides in the statement,
        taking the written row's revision and owner (`append_after_returning`)."""

        def build() -> sa.Executable:
            statement = self._update_one(columns)
            if owned:
                statement = statement.where(self.table.c.CreatedBy == sa.bindparam("_owner"))
            if self.database.name == "postgresql":
                return append_after_returning(statement, tables.REVISION, "CreatedBy")
            return statement.returning(*self.table.columns)

        return self.cached(("update_unread", str(owned), *columns), build, point=True)

    @cached_property
    def lock_for_update(self) -> Prepared:
        # NO KEY UPDATE: inserts elsewhere that reference these rows (FOR KEY SHARE) are not blocked.
        return self.database.prepare(self._select_in_id_order().with_for_update(key_share=True), point=True)

    @cached_property
    def lock_for_delete(self) -> Prepared:
        # The whole row: a delete-batch answers each record as it was before the delete.
        return self.database.prepare(self._select_in_id_order().with_for_update(), point=True)

    def _select_in_id_order(self, *columns: sa.ColumnElement[Any]) -> sa.Select[Any]:
        query = sa.select(*columns) if columns else sa.select(self.table)
        return query.where(self.among(self.table.c.Id)).order_by(self.table.c.Id)

    def update(self, columns: tuple[str, ...]) -> Prepared:
        """`UPDATE … SET <columns>, revision + 1 WHERE Id = :_id`, compiled once per set of columns."""
        return self.cached(("update", *columns), lambda: self._update_one(columns), point=True)

    def _update_one(self, columns: tuple[str, ...]) -> sa.Update:
        table = self.table
        values: dict[Any, Any] = {table.c[key]: sa.bindparam(key) for key in columns}
        values[table.c[tables.REVISION]] = table.c[tables.REVISION] + ONE
        statement = sa.update(table).where(table.c.Id == sa.bindparam("_id")).values(values)
        return statement

    def insert_together(self) -> Together | None:
        """PostgreSQL: `INSERT … SELECT … FROM json_to_recordset(…)`, so a whole batch is one
        statement of one parameter (asyncpg's executemany sends one per row; storage/recordset.py)."""
        if self.database.name != "postgresql":
            return None
        rows = self._recordset(("insert",), [(c.key, c.type) for c in self.table.columns])
        statement = self.cached(
            ("insert_together",),
            lambda: sa.insert(self.table).from_select(list(rows.keys), sa.select(*rows.columns)),
        )
        return Together(statement, rows)

    def update_together(self, columns: tuple[str, ...]) -> Together | None:
        """PostgreSQL: `UPDATE … FROM json_to_recordset(…) AS r WHERE Id = r._id`, one statement per group."""
        if self.database.name != "postgresql":
            return None
        table = self.table
        rows = self._recordset(
            ("update", *columns), [("_id", table.c.Id.type), *((key, table.c[key].type) for key in columns)]
        )

        def build() -> sa.Executable:
            values: dict[Any, Any] = {table.c[key]: rows.column(key) for key in columns}
            values[table.c[tables.REVISION]] = table.c[tables.REVISION] + ONE
            return sa.update(table).values(values).where(table.c.Id == rows.column("_id"))

        return Together(self.cached(("update_together", *columns), build), rows)

    def _recordset(self, key: tuple[str, ...], columns: list[tuple[str, Any]]) -> Recordset:
        found = self._recordsets.get(key)
        if found is None:
            found = self._recordsets[key] = Recordset(columns)
        return found

    @cached_property
    def _recordsets(self) -> dict[tuple[str, ...], Recordset]:
        return {}

    def taken(self, field: Field) -> Prepared:
        """Records holding any of a list of values of a unique field: `(value, Id)` rows."""
        column = self.table.c[field.name]
        return self.cached(
            ("taken", field.name),
            lambda: sa.select(column, self.table.c.Id).where(self.among(column, "values")),
            point=True,
        )

    def referencing(self, field: Field, ignoring: bool) -> Prepared:
        """Distinct values of relationship `field` among a list of ids, optionally skipping some rows."""
        column = self.table.c[field.name]

        def build() -> sa.Executable:
            query = sa.select(column).distinct().where(self.among(column))
            return query.where(~self.among(self.table.c.Id, "ignore")) if ignoring else query

        return self.cached(("referencing", field.name, str(ignoring)), build)

    @cached_property
    def delete(self) -> Prepared:
        return self.database.prepare(
            sa.delete(self.table).where(self.among(self.table.c.Id)).returning(self.table.c.Id), point=True
        )

    @cached_property
    def count(self) -> Prepared:
        return self.database.prepare(sa.select(sa.func.count()).select_from(self.table))

    @cached_property
    def owned_count(self) -> Prepared:
        owner = self.table.c.CreatedBy == sa.bindparam("created_by")
        return self.database.prepare(sa.select(sa.func.count()).select_from(self.table).where(owner))

    @cached_property
    def owned_page(self) -> Prepared:
        """The page of records one principal created ("own records only" roles)."""
        statement = (
            sa.select(self.table)
            .where(self.table.c.CreatedBy == sa.bindparam("created_by"))
            .order_by(self.table.c.Id)
            .limit(sa.bindparam("limit"))
            .offset(sa.bindparam("offset"))
        )
        return self.database.prepare(statement)

    @cached_property
    def page(self) -> Prepared:
        statement = (
            sa.select(self.table)
            .order_by(self.table.c.Id)
            .limit(sa.bindparam("limit"))
            .offset(sa.bindparam("offset"))
        )
        return self.database.prepare(statement)

    @cached_property
    def _active_decoders(self) -> list[tuple[str, codecs.Codec]]:
        return [(k, d) for k, d in zip(self.keys, self.decoders, strict=True) if d is not codecs.identity]

    @cached_property
    def _active_encoders(self) -> list[tuple[str, codecs.Codec]]:
        return [(k, e) for k, e in self.encoders.items() if e is not codecs.identity]

    def decode(self, row: Row) -> Record:
        record = dict(zip(self.keys, row, strict=True))
        for key, decode in self._active_decoders:
            value = record[key]
            if value is not None:
                record[key] = decode(value)
        return record

    def encode_all(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows as the driver takes them, encoded in place: every caller builds its rows for this.
        (The records of a batch share their time stamps; `format_datetime` keeps the last one.)"""
        out = list(rows)
        encoders = self._active_encoders
        for values in out:
            for key, encode in encoders:
                value = values.get(key)
                if value is not None:
                    values[key] = encode(value)
        return out

    @cached_property
    def written_keys(self) -> list[str]:
        """The keys of a stored record that are columns of their own name (`Revision` is not)."""
        return [key for key in self.keys if key != "Revision"]


class RecordStore:
    """Record reads, and write transactions through `RecordWriter`."""

    def __init__(self, database: Database, catalog: CatalogStore) -> None:
        self.database = database
        self.catalog = catalog
        self.outbox = OutboxStore(database)
        self._shapes: dict[tuple[int, str], EntityShape] = {}
        self._tables: tuple[int, tables.SchemaTables] | None = None

    def shape(self, schema: Schema, entity: Entity) -> EntityShape:
        key = (schema.version, entity.id)
        found = self._shapes.get(key)
        if found is None:
            if len(self._shapes) > 4096:
                self._shapes.clear()
            found = self._shapes[key] = EntityShape(
                entity, self.schema_tables(schema).table(entity), self.database
            )
        return found

    def schema_tables(self, schema: Schema) -> tables.SchemaTables:
        if self._tables is None or self._tables[0] != schema.version:
            self._tables = (schema.version, tables.SchemaTables(schema))
        return self._tables[1]

    async def fetch_by_ids(self, schema: Schema, entity: Entity, ids: Collection[str]) -> dict[str, Record]:
        if not ids:
            return {}
        async with self.database.read() as connection:
            return await fetch_by_ids(connection, self.shape(schema, entity), ids)

    async def page(
        self, schema: Schema, entity: Entity, offset: int, limit: int, created_by: str | None = None
    ) -> tuple[list[Record], int]:
        """A page in Id order and the total; with `created_by`, only that principal's records count."""
        shape = self.shape(schema, entity)
        params = {"limit": limit, "offset": offset}
        async with self.database.read() as connection, stale_schema_guard():
            if created_by is None:
                rows = await connection.fetch(shape.page, params)
                total = await connection.fetch(shape.count)
            else:
                rows = await connection.fetch(shape.owned_page, {**params, "created_by": created_by})
                total = await connection.fetch(shape.owned_count, {"created_by": created_by})
        return [shape.decode(r) for r in rows], int(total[0][0])

    @asynccontextmanager
    async def writer(self, schema: Schema) -> AsyncIterator[RecordWriter]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        async with self.database.transaction() as connection, stale_schema_guard():
            yield RecordWriter(connection, self, schema)


class RecordWriter:
    """The writes of one transaction; the core decides what to write, this writes it."""

    def __init__(self, connection: Connection, store: RecordStore, schema: Schema) -> None:
        self.connection = connection
        self.store = store
        self.schema = schema

    def shape(self, entity: Entity) -> EntityShape:
        return self.store.shape(self.schema, entity)

    def savepoint(self) -> AbstractAsyncContextManager[None]:
        return self.connection.savepoint()

    async def lock_by_ids(
        self, entity: Entity, ids: Collection[str], *, for_delete: bool
    ) -> dict[str, Record]:
        """Read these records and lock them until the transaction ends (PostgreSQL; SQLite has one writer).

        Locks are taken in id order, so two batches touching the same records queue, never deadlock.
        Records to delete are locked `FOR UPDATE` (they also block new references to them).
        """
        if not ids:
            return {}
        shape = self.shape(entity)
        statement = shape.lock_for_delete if for_delete else shape.lock_for_update
        async with stale_schema_guard():
            rows = await self.connection.fetch(statement, {"ids": sorted(ids)})
        return {row[0]: shape.decode(row) for row in rows}

    async def referenced_ids(
        self, entity: Entity, field: Field, ids: Collection[str], ignore: Collection[str] = ()
    ) -> set[str]:
        """Which of `ids` some record of `entity` (other than those in `ignore`) points at through `field`."""
        if not ids:
            return set()
        statement = self.shape(entity).referencing(field, ignoring=bool(ignore))
        params = {"ids": sorted(ids), "ignore": sorted(ignore)} if ignore else {"ids": sorted(ids)}
        return {row[0] for row in await self.connection.fetch(statement, params)}

    async def existing_ids(
        self, entity: Entity, ids: Collection[str], created_by: str | None = None
    ) -> set[str]:
        """Which of these ids name records of `entity` (created by `created_by`, when given)."""
        if not ids:
            return set()
        shape = self.shape(entity)
        if created_by is None:
            rows = await self.connection.fetch(shape.existing_ids, {"ids": sorted(ids)})
        else:
            params = {"ids": sorted(ids), "created_by": created_by}
            rows = await self.connection.fetch(shape.existing_own_ids, params)
        return {row[0] for row in rows}

    async def taken_values(self, entity: Entity, field: Field, values: Collection[Any]) -> dict[Any, str]:
        """For a unique field: which of these values already belong to a record, and to which."""
        if not values:
            return {}
        shape = self.shape(entity)
        encode = shape.encoders.get(field.name, codecs.identity)
        encoded = {encode(v): v for v in values}
        rows = await self.connection.fetch(shape.taken(field), {"values": list(encoded)})
        return {encoded.get(row[0], row[0]): row[1] for row in rows}

    async def take_numbers(self, field: Field, count: int) -> int:
        return await self.store.catalog.take_numbers(self.connection, field, count)

    async def insert(
        self, entity: Entity, records: Sequence[Record], events: Sequence[Event] = (), *, last: bool = False
    ) -> None:
        """One statement for all the records (`json_to_recordset` on PostgreSQL, `executemany` on SQLite), and
        their `events` in the outbox: in the same statement for one record on PostgreSQL. `last`: the
        transaction writes nothing after this (then a transaction of one insert needs no `BEGIN`)."""
        shape = self.shape(entity)
        rows = shape.encode_all(_with_columns(shape, record) for record in records)
        together = shape.insert_with_event() if len(rows) == len(events) == 1 else None
        with constraint_errors(entity):
            if together is not None:
                run = self.connection.execute_last if last else self.connection.execute
                await run(together, {**rows[0], **event_params(events[0])})
                return
            await self._write(shape.insert, shape.insert_together(), rows)
        await self.append_events(events)

    async def _write(self, each: Prepared, together: Together | None, rows: list[dict[str, Any]]) -> None:
        if together is not None and len(rows) > 1:
            await self.connection.execute(together.statement, together.rows.params(rows))
        else:
            await self.connection.execute_many(each, rows)

    async def update_many(
        self, entity: Entity, changes: Sequence[tuple[str, Mapping[str, Any]]], events: Sequence[Event] = ()
    ) -> None:
        """Apply each record's changes and bump its revision: one statement per set of changed fields;
        `events` go to the outbox, in the same statement for one record on PostgreSQL."""
        shape = self.shape(entity)
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        encoded = shape.encode_all({**values, "_id": record_id} for record_id, values in changes)
        for row in encoded:
            groups.setdefault(tuple(sorted(k for k in row if k != "_id")), []).append(row)
        with constraint_errors(entity):
            if len(encoded) == len(events) == 1:
                [(columns, [row])] = groups.items()
                if await self._update_with_event(shape, columns, row, events[0]) is not None:
                    return
            for columns, rows in groups.items():
                await self._write(shape.update(columns), shape.update_together(columns), rows)
        await self.append_events(events)

    async def update_unread(
        self, entity: Entity, record_id: str, values: Mapping[str, Any], owner: str | None, event: Event
    ) -> Record | None:
        """One record's changes and its event, the record not read first: the record as written, or
        None where no record has this id (with `owner`: none of theirs), and nothing was written. The
        event is appended with the written revision and owner (`event`'s own are not read). The
        transaction's last statement."""
        shape = self.shape(entity)
        [row] = shape.encode_all([{**values, "_id": record_id}])
        columns = tuple(sorted(k for k in row if k != "_id"))
        params = row if owner is None else {**row, "_owner": owner}
        statement = shape.update_unread(columns, owned=owner is not None)
        together = self.store.database.name == "postgresql"
        with constraint_errors(entity):
            if together:
                rows = await self.connection.fetch_last(statement, {**params, **event_params(event)})
            else:
                rows = await self.connection.fetch(statement, params)
        if not rows:
            return None
        record = shape.decode(rows[0])
        if not together:
            written = replace(event, revision=int(record["Revision"]), owner_id=record["CreatedBy"])
            await self.append_events([written])
        return record

    async def _update_with_event(
        self,
        shape: EntityShape,
        columns: tuple[str, ...],
        params: Mapping[str, Any],
        event: Event,
    ) -> int | None:
        """One record's update and its event in one statement (PostgreSQL): the rows written, or None
        where the database has no such statement."""
        together = shape.update_with_event(columns)
        if together is None:
            return None
        return await self.connection.execute(together, {**params, **event_params(event)})

    async def delete(self, entity: Entity, ids: Iterable[str]) -> list[str]:
        """Delete these records; return the ids that existed."""
        wanted = sorted(set(ids))
        if not wanted:
            return []
        try:
            rows = await self.connection.fetch(self.shape(entity).delete, {"ids": wanted})
        except ForeignKeyViolation:
            raise RecordReferenced(
                f"A record of '{entity.name}' is still referenced by a relationship; "
                "clear or delete the referencing records first."
            ) from None
        return [row[0] for row in rows]

    async def append_events(self, events: Sequence[Event]) -> None:
        """This transaction's change events, in the outbox (storage/outbox.py)."""
        await self.store.outbox.append(self.connection, events)


async def fetch_by_ids(connection: Connection, shape: EntityShape, ids: Collection[str]) -> dict[str, Record]:
    if not ids:
        return {}
    async with stale_schema_guard():
        if len(ids) == 1:
            rows = await connection.fetch(shape.select_by_id, {"id": next(iter(ids))})
        else:
            rows = await connection.fetch(shape.select_by_ids, {"ids": sorted(ids)})
    return {row[0]: shape.decode(row) for row in rows}


def _with_columns(shape: EntityShape, record: Record) -> dict[str, Any]:
    values = {key: record.get(key) for key in shape.written_keys}
    values[tables.REVISION] = record.get("Revision", 1)
    return values


class constraint_errors(ErrorTranslation):  # noqa: N801  (used as a function)
    """Map a unique or foreign-key violation the database caught to the field it concerns."""

    __slots__ = ("entity",)

    def __init__(self, entity: Entity) -> None:
        self.entity = entity

    def translate(self, error: BaseException) -> Exception | None:
        if isinstance(error, UniqueViolation):
            field = _field_for_constraint(self.entity, error.constraint)
            name = field.name if field else "?"
            return ValidationFailed(
                [FieldError(name, "NOT_UNIQUE", f"Field '{name}' must be unique; the value is already used.")]
            )
        if isinstance(error, ForeignKeyViolation):
            return ValidationFailed(
                [FieldError("?", "RELATION_NOT_FOUND", "A related record does not exist.")]
            )
        return None


def _field_for_constraint(entity: Entity, constraint: str) -> Field | None:
    for field in entity.fields:
        if constraint in (
            tables.unique_index_name(field),
            f"{tables.table_name(entity)}.{tables.column_name(field)}",
        ):
            return field
    return None


class stale_schema_guard(ErrorTranslation):  # noqa: N801  (used as a function)
    """A missing table or column means another process changed the schema: say so, so the caller reloads."""

    __slots__ = ()

    def translate(self, error: BaseException) -> Exception | None:
        return StaleSchema(str(error)) if isinstance(error, UndefinedObject) else None
