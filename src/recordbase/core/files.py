"""Files in record fields: upload, download and delete, with nothing orphaned and nothing dangling.

An upload streams the content to a new blob under a generated key, then commits the
record's metadata (row locked), then deletes the blob it replaced. If the blob write
fails, nothing changed; if the commit fails, the new blob is deleted; if the process
dies in between, the sweeper removes the blob no record names once it is older than
the grace period. A record therefore never names a blob that is not there, and the
previous file stays readable until the new one has committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import anyio

from recordbase.core.actors import Actor
from recordbase.core.events import Event, Operation, new_event
from recordbase.core.expand import expand
from recordbase.core.fields.temporal import truncate_ms
from recordbase.core.file_values import (
    Conditions,
    Download,
    FileLimits,
    Intake,
    StoredFile,
    Upload,
    byte_span,
    clean_name,
    clean_type,
    field_prefix,
    new_blob_key,
)
from recordbase.core.permissions import FORBIDDEN_TEXT, Action
from recordbase.core.records import RecordService, record_key
from recordbase.core.schema import Entity, Field, FieldType, Schema
from recordbase.errors import EntityNotFound, FieldNotFound, Forbidden, RecordNotFound
from recordbase.files.errors import (
    BlobNotFound,
    FileContentMissing,
    FileNotFound,
    FileStorageError,
    NotAFileField,
)
from recordbase.files.store import BlobStore, delete_prefix
from recordbase.files.sweeper import SweepReport, sweep

logger = logging.getLogger("recordbase.files")
STARTUP_CHECK_SECONDS = 5.0
Record = dict[str, Any]


class FileRecordWriter(Protocol):
    """What a file change needs of a write transaction."""

    async def lock_by_ids(
        self, entity: Entity, ids: Collection[str], *, for_delete: bool
    ) -> dict[str, Record]: ...
    async def update_many(self, entity: Entity, changes: Sequence[tuple[str, Mapping[str, Any]]]) -> None: ...
    async def append_events(self, events: Sequence[Event]) -> None: ...


class FileRecordStore(Protocol):
    async def fetch_by_ids(
        self, schema: Schema, entity: Entity, ids: Collection[str]
    ) -> dict[str, Record]: ...
    def writer(self, schema: Schema) -> AbstractAsyncContextManager[FileRecordWriter]: ...


def _require(actor: Actor, entity: Entity, field: Field, action: Action, record: Record | None) -> None:
    """The caller may `action` this entity, this record (own-records rules) and this field."""
    rule = actor.permissions.require(entity, action)
    if record is not None and rule.created_by is not None and record.get("CreatedBy") != rule.created_by:
        raise RecordNotFound(f"Record '{record['Id']}' does not exist in entity '{entity.name}'.")
    permissions = actor.permissions
    allowed = (
        permissions.can_read_field(entity, field.name)
        if action is Action.READ
        else permissions.can_write_field(entity, field.name)
    )
    if not allowed:
        raise Forbidden(FORBIDDEN_TEXT)


def file_field(entity: Entity, name: str) -> Field:
    """The field with exactly this name (case-sensitive, as UiPath's), which must be of type file."""
    found = entity.field(name)
    if found is None:
        raise FieldNotFound(f"Entity '{entity.name}' has no field '{name}' (field names are case-sensitive).")
    if found.type is not FieldType.FILE:
        raise NotAFileField(
            f"Field '{name}' of entity '{entity.name}' is of type {found.type.value}, not file; "
            "set its value through EntityService insert/update instead."
        )
    return found


Make = Callable[[StoredFile | None], StoredFile | None]


class FileService:
    """Upload, download and delete the file of one record field, and sweep orphaned blobs."""

    def __init__(
        self, records: RecordService, store: FileRecordStore, blobs: BlobStore, limits: FileLimits
    ) -> None:
        self.records = records
        self.store = store
        self.blobs = blobs
        self.limits = limits

    async def upload(
        self, ref: str, record_id: str, field_name: str, upload: Upload, actor: Actor, level: int
    ) -> tuple[Entity, Record]:
        """Store a new file for the field, replacing the one it had; return the updated record."""
        entity, field, key = await self._target(ref, record_id, field_name, actor)
        intake = Intake(self.limits.max_bytes)
        try:
            await self.blobs.put(key, intake.read(upload.chunks()))
        except BaseException:
            await self._discard([key])
            raise
        name = clean_name(upload.name)
        fresh = StoredFile(
            id="",
            name=name,
            path=f"{entity.name}/{key.split('/')[2]}/{field.name}",
            size=intake.size,
            type=clean_type(upload.content_type, name),
            key=key,
            sha256=intake.digest.hexdigest(),
            uploaded=datetime.now(UTC).isoformat(),
        )

        def make(previous: StoredFile | None) -> StoredFile:
            return replace(fresh, id=previous.id if previous else str(uuid.uuid4()))

        try:
            return await self._swap(ref, record_id, field_name, make, actor, level)
        except BaseException:
            await self._discard_unless_held(ref, field.name, record_id, key)
            raise

    async def delete(
        self, ref: str, record_id: str, field_name: str, actor: Actor, level: int
    ) -> tuple[Entity, Record]:
        """Clear the field; its blob is deleted once that has committed."""

        def make(previous: StoredFile | None) -> None:
            if previous is None:
                raise FileNotFound(f"Field '{field_name}' of record '{record_id}' holds no file.")

        return await self._swap(ref, record_id, field_name, make, actor, level)

    async def download(
        self, ref: str, record_id: str, field_name: str, conditions: Conditions, actor: Actor
    ) -> Download:
        """The file's metadata and, unless `If-None-Match` matched, an open stream of the bytes asked for."""
        for _ in range(3):
            file = await self.describe(ref, record_id, field_name, actor)
            if file.sha256 in conditions.if_none_match or "*" in conditions.if_none_match:
                return Download(file)
            start, stop = byte_span(conditions, file)
            try:
                blob = await self.blobs.open(file.key, start, stop if stop < file.size else None)
            except BlobNotFound:
                continue  # replaced since it was read: read the record again
            return Download(file, blob, partial=(start, stop) != (0, file.size))
        raise FileContentMissing(f"The content of field '{field_name}' of record '{record_id}' is missing.")

    async def describe(self, ref: str, record_id: str, field_name: str, actor: Actor) -> StoredFile:
        async def work(schema: Schema, entity: Entity) -> StoredFile:
            field = file_field(entity, field_name)
            record = await self._record(schema, entity, record_id)
            _require(actor, entity, field, Action.READ, record)
            value = record.get(field.name)
            if not value:
                raise FileNotFound(f"Field '{field_name}' of record '{record_id}' holds no file.")
            return StoredFile.from_value(value)

        return await self.records.retrying(ref, work)

    async def _target(
        self, ref: str, record_id: str, field_name: str, actor: Actor
    ) -> tuple[Entity, Field, str]:
        """Check entity, field, record and permission before reading a byte; return a new blob key."""

        async def work(schema: Schema, entity: Entity) -> tuple[Entity, Field, str]:
            field = file_field(entity, field_name)
            record = await self._record(schema, entity, record_id)
            _require(actor, entity, field, Action.UPDATE, record)
            return entity, field, new_blob_key(entity, field, record["Id"])

        return await self.records.retrying(ref, work)

    async def _record(self, schema: Schema, entity: Entity, record_id: str) -> Record:
        key = record_key(entity, record_id)
        found = (await self.store.fetch_by_ids(schema, entity, [key])).get(key)
        if found is None:
            raise RecordNotFound(f"Record '{record_id}' does not exist in entity '{entity.name}'.")
        return found

    async def _swap(
        self, ref: str, record_id: str, field_name: str, make: Make, actor: Actor, level: int
    ) -> tuple[Entity, Record]:
        """Set the field to `make(previous)` with the row locked; after commit delete the previous blob.

        Only the transaction is retried on a stale schema: nothing after the commit may raise into a retry.
        """

        async def work(schema: Schema, entity: Entity) -> tuple[Schema, Entity, Record, StoredFile | None]:
            field = file_field(entity, field_name)
            async with self.store.writer(schema) as writer:
                record, previous = await _swap_locked(writer, entity, field, record_id, make, actor)
            return schema, entity, record, previous

        schema, entity, record, previous = await self.records.retrying(ref, work)
        if previous is not None:
            await self._discard([previous.key])
        await expand(self.records.store, schema, entity, [record], level)
        return entity, record

    async def _discard(self, keys: list[str]) -> None:
        """Best-effort delete; whatever fails here is left to the sweeper."""
        with anyio.CancelScope(shield=True):
            try:
                await self.blobs.delete(keys)
            except FileStorageError:
                logger.warning("could not delete blob(s) %s; the sweeper will", keys, exc_info=True)

    async def _discard_unless_held(self, ref: str, field_name: str, record_id: str, key: str) -> None:
        """After a failed commit, delete the new blob, unless the commit did happen (a lost reply).

        When that cannot be told, the blob stays: the sweeper removes an orphan later, while a
        deleted blob that a record names could never be repaired.
        """
        with anyio.CancelScope(shield=True):
            try:
                schema, entity = await self.records.entity(ref)
                record = await self._record(schema, entity, record_id)
            except (RecordNotFound, EntityNotFound):
                record = {}
            except Exception:
                logger.warning("kept blob %s: could not tell whether its commit happened", key, exc_info=True)
                return
            value = record.get(field_name)
            if not value or StoredFile.from_value(value).key != key:
                await self._discard([key])

    # Sweeping ---------------------------------------------------------------------------------

    async def sweep(self, grace: timedelta | None = None) -> SweepReport:
        """Delete blobs older than `grace` (default: the setting) that no record references."""
        await self.records.schemas.refresh_if_changed()
        cutoff = datetime.now(UTC) - (self.limits.sweep_grace if grace is None else grace)
        return await sweep(self.blobs, self._kept, cutoff)

    async def ping(self) -> None:
        """Raise `FileStorageError` naming the cause in words unless the blob store answers."""
        probe = getattr(self.blobs, "ping", None)
        if probe is not None:
            await probe()
            return
        async for _ in self.blobs.list("readyz-probe/"):
            break

    async def check_storage(self, seconds: float = STARTUP_CHECK_SECONDS) -> str | None:
        """At start-up: whether the store (S3: the bucket, with these credentials) can be used.

        A failure is logged, not fatal: the server starts, `/readyz` answers 503 naming the cause,
        and file requests answer 503 `FILE_STORAGE_UNAVAILABLE` until the store is fixed.
        """
        try:
            async with asyncio.timeout(seconds):
                await self.ping()
        except FileStorageError as error:
            problem = error.message
        except TimeoutError:
            problem = f"File storage is unavailable: no answer within {seconds:g} s."
        else:
            return None
        logger.error("file storage check at start-up failed: %s", problem)
        return problem

    @asynccontextmanager
    async def sweeping(self) -> AsyncIterator[None]:
        """Check the store, then run `sweep_forever` in the background while the block runs (not at
        all if the interval is 0)."""
        await self.check_storage()
        if self.limits.sweep_interval <= timedelta(0):
            yield
            return
        task = asyncio.get_running_loop().create_task(self.sweep_forever())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def sweep_forever(self) -> None:
        """Sweep every `sweep_interval`; errors are logged and the next round tries again."""
        while True:
            await anyio.sleep(self.limits.sweep_interval.total_seconds())
            try:
                await self.sweep()
            except Exception:
                logger.exception("file sweep failed")

    async def _kept(self, keys: Sequence[str]) -> set[str]:
        schema = self.records.schemas.current
        fields = {
            field_prefix(e, f): (e, f) for e in schema.entities for f in e.fields if f.type is FieldType.FILE
        }
        kept: set[str] = set()
        groups: dict[str, dict[str, list[str]]] = {}
        for key in keys:
            parts = key.split("/")
            if len(parts) != 4:
                kept.add(key)  # not a key this server made: never ours to delete
                continue
            groups.setdefault(f"{parts[0]}/{parts[1]}", {}).setdefault(parts[2], []).append(key)
        for prefix, by_record in groups.items():
            if prefix in fields:
                entity, field = fields[prefix]
                kept |= await self._referenced(schema, entity, field, by_record)
        return kept

    async def _referenced(
        self, schema: Schema, entity: Entity, field: Field, by_record: dict[str, list[str]]
    ) -> set[str]:
        found = await self.store.fetch_by_ids(schema, entity, list(by_record))
        held = {StoredFile.from_value(r[field.name]).key for r in found.values() if r.get(field.name)}
        return {key for keys in by_record.values() for key in keys if key in held}


async def _swap_locked(
    writer: FileRecordWriter, entity: Entity, field: Field, record_id: str, make: Make, actor: Actor
) -> tuple[Record, StoredFile | None]:
    rid = record_key(entity, record_id)
    current = (await writer.lock_by_ids(entity, [rid], for_delete=False)).get(rid)
    if current is None:
        raise RecordNotFound(f"Record '{record_id}' does not exist in entity '{entity.name}'.")
    _require(actor, entity, field, Action.UPDATE, current)
    value = current.get(field.name)
    previous = StoredFile.from_value(value) if value else None
    new = make(previous)
    moment = truncate_ms(datetime.now(UTC))
    value = None if new is None else new.to_value()
    changes = {field.name: value, "UpdatedBy": actor.id, "UpdateTime": moment}
    await writer.update_many(entity, [(rid, changes)])
    revision = current.get("Revision", 0) + 1
    event = new_event(
        entity.name, entity.id, rid, Operation.UPDATED, revision=revision, fields=[field.name],
        actor_id=actor.id, owner_id=current.get("CreatedBy"), at=moment.timestamp(),
    )  # fmt: skip
    await writer.append_events([event])
    return {**current, **changes, "Revision": revision}, previous


async def cleanup_prefixes(blobs: BlobStore, prefixes: Sequence[str]) -> None:
    """Delete everything under these prefixes, best effort (the sweeper catches what fails)."""
    for prefix in prefixes:
        try:
            await delete_prefix(blobs, prefix)
        except FileStorageError:
            logger.warning("could not delete the blobs under %s; the sweeper will", prefix, exc_info=True)
