"""The core's `SchemaStore` on top of the catalog: one transaction per change, serialised by a lock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa

from recordbase.core.events import Event, Operation, new_event
from recordbase.core.ports import Audit
from recordbase.core.schema import ChoiceSet, Entity, Field, FieldType, Index, Schema
from recordbase.storage.catalog import CatalogStore
from recordbase.storage.database import Connection, Database
from recordbase.storage.identity import IdentityStore
from recordbase.storage.outbox import OutboxStore

SCHEMA_LOCK = 7420114


class CatalogChange:
    """The core's view of one schema change; bumps the version once at the end if anything changed."""

    def __init__(self, connection: Connection, catalog: CatalogStore, schema: Schema) -> None:
        self.connection = connection
        self.catalog = catalog
        self.schema = schema
        self.changed = False

    async def create_entity(self, entity: Entity, schema_after: Schema) -> None:
        self.changed = True
        await self.catalog.save_entity(self.connection, entity, new=True)
        await self.catalog.create_table(self.connection, entity, schema_after)
        for f in entity.fields:
            if f.type is FieldType.AUTO_NUMBER:
                await self.catalog.start_counter(self.connection, f)

    async def drop_entity(self, entity: Entity) -> None:
        self.changed = True
        await self.catalog.drop_table(self.connection, entity)
        await self.catalog.delete_entity(self.connection, entity)

    async def save_entity(self, entity: Entity) -> None:
        self.changed = True
        await self.catalog.save_entity(self.connection, entity, new=False)

    async def add_field(self, entity_after: Entity, field: Field, schema_after: Schema) -> None:
        self.changed = True
        await self.catalog.add_column(self.connection, entity_after, field, schema_after)
        await self.catalog.save_entity(self.connection, entity_after, new=False)
        if field.type is FieldType.AUTO_NUMBER:
            await self.catalog.start_counter(self.connection, field)
            await self.catalog.number_existing_rows(self.connection, entity_after, field, schema_after)

    async def drop_field(self, entity_before: Entity, field: Field, schema_before: Schema) -> None:
        self.changed = True
        await self.catalog.drop_column(self.connection, entity_before, field, schema_before)
        after = entity_before.with_fields(f for f in entity_before.fields if f.id != field.id)
        await self.catalog.save_entity(self.connection, after, new=False)

    async def add_index(self, entity: Entity, index: Index, schema_after: Schema) -> None:
        self.changed = True
        await self.catalog.create_index(self.connection, entity, index, schema_after)

    async def drop_index(self, entity: Entity, index: Index) -> None:
        self.changed = True
        await self.catalog.drop_index(self.connection, entity, index)

    async def save_choice_set(self, choice_set: ChoiceSet, *, new: bool) -> None:
        self.changed = True
        await self.catalog.save_choice_set(self.connection, choice_set, new=new)

    async def drop_choice_set(self, choice_set: ChoiceSet) -> None:
        self.changed = True
        await self.catalog.delete_choice_set(self.connection, choice_set)


class CatalogSchemaStore:
    def __init__(self, database: Database, catalog: CatalogStore) -> None:
        self.database = database
        self.catalog = catalog
        self.outbox = OutboxStore(database)

    async def load(self) -> Schema:
        async with self.database.read() as connection:
            return await self.catalog.load(connection)

    async def current_version(self) -> int:
        async with self.database.read() as connection:
            return await self.catalog.version(connection)

    @asynccontextmanager
    async def change(self, audit: Audit) -> AsyncIterator[CatalogChange]:
        async with self.database.transaction() as connection:
            if self.database.name == "postgresql":
                await connection.execute(sa.select(sa.func.pg_advisory_xact_lock(SCHEMA_LOCK)))
            change = CatalogChange(connection, self.catalog, await self.catalog.load(connection))
            yield change
            if change.changed:
                await self.catalog.bump_version(connection)
                await IdentityStore(self.database).record_audit(
                    connection, audit.actor_id, audit.action, audit.target, {}
                )
                await self.outbox.append(connection, [_schema_event(audit)])


def _schema_event(audit: Audit) -> Event:
    """A schema change is one event, named after its audit entry (`entity.update` of `Customer`)."""
    return new_event(
        audit.target, "", None, Operation.SCHEMA, revision=None, fields=[audit.action],
        actor_id=audit.actor_id, owner_id=None,
    )  # fmt: skip
