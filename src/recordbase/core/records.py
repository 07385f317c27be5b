"""Reading records, and writing them: every write, even of one record, is a batch (core/batch.py).

Every method resolves the entity against the current schema snapshot; when a name is
unknown or storage reports a missing column, the snapshot is refreshed and the call
tried once more, so a change made by another process never surfaces as an error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from recordbase.core.actors import Actor
from recordbase.core.batch import (
    BatchResult,
    Item,
    Mode,
    Op,
    Outcome,
    Slot,
    Unwritten,
    canonical_id,
    execute,
    not_found,
    plan,
)
from recordbase.core.expand import expand
from recordbase.core.permissions import Action
from recordbase.core.ports import Record, RecordStore
from recordbase.core.schema import Entity, Schema
from recordbase.core.schema_cache import SchemaCache
from recordbase.errors import (
    BadRequest,
    BatchTooLarge,
    EntityNotFound,
    RecordNotFound,
    StaleSchema,
    WriteConflict,
)

WRITE_ATTEMPTS = 3
OP_ACTION = {Op.INSERT: Action.CREATE, Op.UPDATE: Action.UPDATE, Op.DELETE: Action.DELETE}

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


def record_key(entity: Entity, record_id: str) -> str:
    """The canonical form of a record id; anything that is not a UUID names no record."""
    key = canonical_id(record_id)
    if key is None:
        raise not_found(entity, record_id)
    return key


class RecordService:
    def __init__(self, schemas: SchemaCache, store: RecordStore, limits: Limits) -> None:
        self.schemas = schemas
        self.store = store
        self.limits = limits

    async def entity(self, ref: str, *aliases: str) -> tuple[Schema, Entity]:
        """Resolve an entity by id or name (or the first alias that names one), refreshing the schema
        once if none is known."""
        refs = (ref, *aliases)
        schema = self.schemas.current
        found = _first_entity(schema, refs)
        if found is None:
            # Re-read the snapshot whatever the refresh says: a concurrent request may have
            # reloaded it between our first look and the version check.
            await self.schemas.refresh_if_changed()
            schema = self.schemas.current
            found = _first_entity(schema, refs)
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

    async def get(self, ref: str, record_id: str, level: int, actor: Actor) -> tuple[Entity, Record]:
        """One record; a record an "own records only" caller did not create does not exist for them."""

        async def work(schema: Schema, entity: Entity) -> tuple[Entity, Record]:
            rule = actor.permissions.require(entity, Action.READ)
            key = record_key(entity, record_id)
            found = (await self.store.fetch_by_ids(schema, entity, [key])).get(key)
            if found is None or (rule.created_by is not None and found["CreatedBy"] != rule.created_by):
                raise RecordNotFound(f"Record '{record_id}' does not exist in entity '{entity.name}'.")
            records = [found]
            await expand(self.store, schema, entity, records, level, actor.permissions)
            return entity, records[0]

        return await self.retrying(ref, work)

    async def page(self, ref: str, start: int, limit: int, level: int, actor: Actor) -> Page:
        if start < 0 or not 1 <= limit <= self.limits.list_max:
            raise BadRequest(f"start must be >= 0 and limit between 1 and {self.limits.list_max}.")

        async def work(schema: Schema, entity: Entity) -> Page:
            rule = actor.permissions.require(entity, Action.READ)
            records, total = await self.store.page(schema, entity, start, limit, rule.created_by)
            await expand(self.store, schema, entity, records, level, actor.permissions)
            return Page(entity, records, total)

        return await self.retrying(ref, work)

    async def insert(self, ref: str, body: Any, actor: Actor, level: int) -> tuple[Entity, Record]:
        return await self._one(ref, Item(Op.INSERT, body), actor, level)

    async def update(
        self, ref: str, record_id: str, body: Any, actor: Actor, level: int
    ) -> tuple[Entity, Record]:
        return await self._one(ref, Item(Op.UPDATE, body, record_id), actor, level)

    async def delete(self, ref: str, record_id: str, actor: Actor) -> None:
        await self._one(ref, Item(Op.DELETE, id=record_id), actor, 0)

    async def batch(
        self, ref: str, items: Sequence[Item], actor: Actor, mode: Mode, level: int
    ) -> BatchResult:
        """Write a batch in one transaction (see core/batch.py); written records are expanded to `level`."""
        if len(items) > self.limits.batch_max:
            raise BatchTooLarge(
                f"A batch may hold at most {self.limits.batch_max} records; this one has {len(items)}. "
                "Nothing was written."
            )

        async def work(schema: Schema, entity: Entity) -> BatchResult:
            for op in {item.op for item in items}:
                actor.permissions.require(entity, OP_ACTION[op])
            result = await self._write_batch(schema, entity, items, actor, mode)
            records = [o.record for o in result.successes if o.op is not Op.DELETE and o.record is not None]
            await expand(self.store, schema, entity, records, level, actor.permissions)
            return result

        return await self.retrying(ref, work)

    async def _one(self, ref: str, item: Item, actor: Actor, level: int) -> tuple[Entity, Record]:
        """A single write is a batch of one, all or nothing: one code path for every write."""
        result = await self.batch(ref, [item], actor, Mode.ATOMIC, level)
        outcome = result.outcomes[0]
        if outcome.error is not None:
            raise outcome.error
        assert outcome.record is not None
        return result.entity, outcome.record

    async def _write_batch(
        self, schema: Schema, entity: Entity, items: Sequence[Item], actor: Actor, mode: Mode
    ) -> BatchResult:
        """Run the batch's transaction; again when PostgreSQL broke a deadlock by aborting it, or when
        an update written without reading its record first found none to write (core/batch.py
        `Unwritten`: then read, for the exact answer)."""
        unread = mode is Mode.ATOMIC  # a batch of one then goes alone, event and all (batch.py `write`)
        for _ in range(WRITE_ATTEMPTS - 1):
            try:
                return await self._transaction(schema, entity, items, actor, mode, unread)
            except WriteConflict:
                pass
            except Unwritten:
                unread = False
        return await self._transaction(schema, entity, items, actor, mode, unread=False)

    async def _transaction(
        self,
        schema: Schema,
        entity: Entity,
        items: Sequence[Item],
        actor: Actor,
        mode: Mode,
        unread: bool,
    ) -> BatchResult:
        try:
            async with self.store.writer(schema) as writer:
                slots = await plan(writer, schema, entity, items, actor.permissions, unread)
                await self._raise_if_stale(slots, schema)
                outcomes = [slot.outcome() for slot in await execute(writer, entity, slots, actor, mode)]
                if mode is Mode.ATOMIC and any(o.error is not None for o in outcomes):
                    raise _RolledBack(outcomes)
        except _RolledBack as rolled:
            return BatchResult(entity, [o for o in rolled.outcomes if o.error is not None], committed=False)
        return BatchResult(entity, outcomes, committed=True)

    async def _raise_if_stale(self, slots: Sequence[Slot], schema: Schema) -> None:
        """A field unknown here may have been added by another process: reload and rerun if so
        (also when a concurrent request already reloaded the snapshot this batch started from)."""
        unknown = any(e.code == "UNKNOWN_FIELD" for slot in slots for e in slot.problems)
        if not unknown:
            return
        await self.schemas.refresh_if_changed()
        if self.schemas.current.version != schema.version:
            raise StaleSchema("The schema changed while the batch was being checked.")


def _first_entity(schema: Schema, refs: Sequence[str]) -> Entity | None:
    return next((e for e in map(schema.find_entity, refs) if e is not None), None)


class _RolledBack(Exception):
    """Raised inside an all-or-nothing batch's transaction to undo it; carries the outcomes."""

    def __init__(self, outcomes: list[Outcome]) -> None:
        super().__init__("batch rolled back")
        self.outcomes = outcomes
