"""Removing a record, a file field or an entity removes its files, once the removal has committed.

Both pieces wrap a store the services already use, so every path that deletes records or
drops fields (single, batch, schema apply) is covered without knowing about files. Before
deleting anything they check that the removal really committed (a batch may have rolled a
delete back to a savepoint): a record that still exists keeps its files. A cleanup that
fails is logged, and the sweeper removes the blobs later.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar, cast

from recordbase.core.file_values import field_prefix, record_prefix, segment
from recordbase.core.files import cleanup_prefixes
from recordbase.core.schema import Entity, Field, FieldType, Schema
from recordbase.files.store import BlobStore

logger = logging.getLogger("recordbase.files")
S = TypeVar("S")


class _Reader(Protocol):
    async def fetch_by_ids(self, schema: Schema, entity: Entity, ids: Any) -> dict[str, Any]: ...


def file_fields(entity: Entity) -> list[Field]:
    return [f for f in entity.fields if f.type is FieldType.FILE]


class _DeleteTracker:
    """A record writer that remembers which records it deleted."""

    def __init__(self, inner: Any, deleted: list[tuple[Entity, list[str]]]) -> None:
        self._inner = inner
        self._deleted = deleted

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def delete(self, entity: Entity, ids: Iterable[str]) -> list[str]:
        gone: list[str] = await self._inner.delete(entity, ids)
        if file_fields(entity):
            self._deleted.append((entity, list(gone)))
        return gone


class _RecordStoreWithCleanup:
    def __init__(self, inner: Any, blobs: BlobStore) -> None:
        self._inner = inner
        self._blobs = blobs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @asynccontextmanager
    async def writer(self, schema: Schema) -> AsyncIterator[Any]:
        deleted: list[tuple[Entity, list[str]]] = []
        async with self._inner.writer(schema) as writer:
            yield _DeleteTracker(writer, deleted)
        for entity, ids in deleted:
            await records_deleted(self._inner, self._blobs, schema, entity, ids)


async def records_deleted(
    store: _Reader, blobs: BlobStore, schema: Schema, entity: Entity, ids: list[str]
) -> None:
    """Delete the files of these records, if they are really gone."""
    try:
        still_there = await store.fetch_by_ids(schema, entity, ids)
    except Exception:
        logger.warning("could not verify deleted records of %s; the sweeper will clean", entity.name)
        return
    gone = [rid for rid in ids if rid not in still_there]
    await cleanup_prefixes(
        blobs, [record_prefix(entity, f, rid) for f in file_fields(entity) for rid in gone]
    )


def with_record_cleanup(store: S, blobs: BlobStore) -> S:
    """`store`, whose write transactions delete the files of deleted records after they commit."""
    return cast(S, _RecordStoreWithCleanup(store, blobs))


class _DropTracker:
    """A schema change that remembers the file fields and entities it dropped."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.prefixes: list[tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def drop_entity(self, entity: Entity) -> None:
        await self._inner.drop_entity(entity)
        if file_fields(entity):
            self.prefixes.append((entity.id, segment(entity.id)))

    async def drop_field(self, entity_before: Entity, field: Field, schema_before: Schema) -> None:
        await self._inner.drop_field(entity_before, field, schema_before)
        if field.type is FieldType.FILE:
            self.prefixes.append((entity_before.id, field_prefix(entity_before, field)))


class _SchemaStoreWithCleanup:
    def __init__(self, inner: Any, blobs: BlobStore) -> None:
        self._inner = inner
        self._blobs = blobs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @asynccontextmanager
    async def change(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        async with self._inner.change(*args, **kwargs) as change:
            tracker = _DropTracker(change)
            yield tracker
        if tracker.prefixes:
            await self._committed(tracker.prefixes)

    async def _committed(self, dropped: list[tuple[str, str]]) -> None:
        try:
            schema: Schema = await self._inner.load()
        except Exception:
            logger.warning("could not verify a schema change; the sweeper will clean its files")
            return
        await cleanup_prefixes(
            self._blobs, [prefix for entity_id, prefix in dropped if _gone(schema, entity_id, prefix)]
        )


def _gone(schema: Schema, entity_id: str, prefix: str) -> bool:
    """Whether what `prefix` names (an entity, or one of its fields) is absent from `schema`."""
    entity = next((e for e in schema.entities if e.id == entity_id), None)
    if entity is None:
        return True
    whole_entity = prefix == segment(entity.id)
    return not whole_entity and all(field_prefix(entity, f) != prefix for f in entity.fields)


def with_schema_cleanup(store: S, blobs: BlobStore) -> S:
    """`store`, whose schema changes delete the files of dropped file fields and entities after commit."""
    return cast(S, _SchemaStoreWithCleanup(store, blobs))
