"""One record at a time: validate, check references and unique values, write, read back.

Every method resolves the entity against the current schema snapshot; when a name is
unknown or storage reports a missing column, the snapshot is refreshed and the call
tried once more, so a change made by another process never surfaces as an error.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import uuid_utils

from recordbase.core.actors import Actor
from recordbase.core.expand import expand, plain
from recordbase.core.fields.temporal import truncate_ms
from recordbase.core.ports import Record, RecordStore, RecordWriter
from recordbase.core.schema import Entity, FieldType, Schema
from recordbase.core.schema_cache import SchemaCache
from recordbase.core.validation import check_insert, check_update
from recordbase.errors import (
    BadRequest,
    EntityNotFound,
    FieldError,
    RecordNotFound,
    StaleSchema,
    ValidationFailed,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    list_default: int = 100
    list_max: int = 1000
    batch_max: int = 1000


@dataclass(frozen=True)
class Page:
    entity: Entity
    records: list[Record]
    total: int


def new_id() -> str:
    """Time-ordered UUIDs (v7) keep inserts at the end of the primary-key index."""
    return str(uuid_utils.uuid7())


def record_key(entity: Entity, record_id: str) -> str:
    """The canonical form of a record id; anything that is not a UUID names no record."""
    try:
        return str(uuid.UUID(record_id))
    except ValueError:
        raise RecordNotFound(f"Record '{record_id}' does not exist in entity '{entity.name}'.") from None


def now() -> datetime:
    return truncate_ms(datetime.now(UTC))


class RecordService:
    def __init__(self, schemas: SchemaCache, store: RecordStore, limits: Limits) -> None:
        self.schemas = schemas
        self.store = store
        self.limits = limits

    async def entity(self, ref: str) -> tuple[Schema, Entity]:
        """Resolve an entity by id or name, refreshing the schema once if it is unknown."""
        schema = self.schemas.current
        found = schema.find_entity(ref)
        if found is None and await self.schemas.refresh_if_changed():
            schema = self.schemas.current
            found = schema.find_entity(ref)
        if found is None:
            raise EntityNotFound(f"Entity '{ref}' does not exist.")
        return schema, found

    async def retrying(self, ref: str, work: Callable[[Schema, Entity], Awaitable[T]]) -> T:
        schema, entity = await self.entity(ref)
        try:
            return await work(schema, entity)
        except StaleSchema:
            await self.schemas.reload()
            schema, entity = await self.entity(ref)
            return await work(schema, entity)

    async def get(self, ref: str, record_id: str, level: int) -> tuple[Entity, Record]:
        async def work(schema: Schema, entity: Entity) -> tuple[Entity, Record]:
            key = record_key(entity, record_id)
            found = await self.store.fetch_by_ids(schema, entity, [key])
            if key not in found:
                raise RecordNotFound(f"Record '{record_id}' does not exist in entity '{entity.name}'.")
            records = [found[key]]
            await expand(self.store, schema, entity, records, level)
            return entity, records[0]

        return await self.retrying(ref, work)

    async def page(self, ref: str, start: int, limit: int, level: int) -> Page:
        if start < 0 or not 1 <= limit <= self.limits.list_max:
            raise BadRequest(f"start must be >= 0 and limit between 1 and {self.limits.list_max}.")

        async def work(schema: Schema, entity: Entity) -> Page:
            records, total = await self.store.page(schema, entity, start, limit)
            await expand(self.store, schema, entity, records, level)
            return Page(entity, records, total)

        return await self.retrying(ref, work)

    async def insert(self, ref: str, body: Any, actor: Actor, level: int) -> tuple[Entity, Record]:
        async def work(schema: Schema, entity: Entity) -> tuple[Entity, Record]:
            async with self.store.writer(schema) as writer:
                record = await insert_one(writer, schema, entity, body, actor)
            records = [record]
            await expand(self.store, schema, entity, records, level)
            return entity, records[0]

        return await self.retrying(ref, work)

    async def update(
        self, ref: str, record_id: str, body: Any, actor: Actor, level: int
    ) -> tuple[Entity, Record]:
        async def work(schema: Schema, entity: Entity) -> tuple[Entity, Record]:
            async with self.store.writer(schema) as writer:
                record = await update_one(writer, schema, entity, record_key(entity, record_id), body, actor)
            records = [record]
            await expand(self.store, schema, entity, records, level)
            return entity, records[0]

        return await self.retrying(ref, work)

    async def delete(self, ref: str, record_id: str, actor: Actor) -> None:
        async def work(schema: Schema, entity: Entity) -> None:
            async with self.store.writer(schema) as writer:
                deleted = await writer.delete(entity, [record_key(entity, record_id)])
            if not deleted:
                raise RecordNotFound(f"Record '{record_id}' does not exist in entity '{entity.name}'.")

        await self.retrying(ref, work)


async def insert_one(writer: RecordWriter, schema: Schema, entity: Entity, body: Any, actor: Actor) -> Record:
    """Check and insert one record inside the caller's transaction."""
    checked = check_insert(entity, body, schema)
    errors = checked.errors + await reference_and_unique_errors(
        writer, schema, entity, [checked.values], None
    )
    if errors:
        raise ValidationFailed(errors)
    moment = now()
    record: Record = {
        "Id": new_id(),
        "CreatedBy": actor.id,
        "CreateTime": moment,
        "UpdatedBy": actor.id,
        "UpdateTime": moment,
        "Revision": 1,
        **checked.values,
    }
    for f in entity.fields:
        if f.type is FieldType.AUTO_NUMBER:
            record[f.name] = await writer.take_numbers(f, 1)
        else:
            record.setdefault(f.name, None)
    await writer.insert(entity, [record])
    return record


async def update_one(
    writer: RecordWriter, schema: Schema, entity: Entity, record_id: str, body: Any, actor: Actor
) -> Record:
    current = (await writer.fetch_by_ids(entity, [record_id])).get(record_id)
    if current is None:
        raise RecordNotFound(f"Record '{record_id}' does not exist in entity '{entity.name}'.")
    checked = check_update(entity, body, schema, plain(entity, current))
    errors = checked.errors + await reference_and_unique_errors(
        writer, schema, entity, [checked.values], record_id
    )
    if errors:
        raise ValidationFailed(errors)
    changes = {**checked.values, "UpdatedBy": actor.id, "UpdateTime": now()}
    updated = await writer.update(entity, record_id, changes)
    if updated is None:
        raise RecordNotFound(f"Record '{record_id}' does not exist in entity '{entity.name}'.")
    return updated


async def reference_and_unique_errors(
    writer: RecordWriter,
    schema: Schema,
    entity: Entity,
    rows: Sequence[Mapping[str, Any]],
    own_id: str | None,
) -> list[FieldError]:
    """Relationship targets that do not exist and unique values already taken, one query per field."""
    errors: list[FieldError] = []
    for f in entity.fields:
        values = {row[f.name] for row in rows if row.get(f.name) is not None}
        if not values:
            continue
        if f.type is FieldType.RELATIONSHIP:
            target = schema.entity(f.reference_entity or "")
            missing = values - await writer.existing_ids(target, values)
            errors += [
                FieldError(
                    f.name,
                    "RELATION_NOT_FOUND",
                    f"[{f.name}] Relation {entity.name}.{f.name}={value} to {target.name} doesn't exist!",
                )
                for value in sorted(missing)
            ]
        if f.unique:
            taken = await writer.taken_values(entity, f, values)
            errors += [
                FieldError(
                    f.name, "NOT_UNIQUE", f"Field '{f.name}' must be unique; the value is already used."
                )
                for value, holder in taken.items()
                if holder != own_id
            ]
    return errors
