"""What the core needs from storage, as protocols; storage implements them, app.py plugs them in."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from recordbase.core.events import Event
from recordbase.core.schema import ChoiceSet, Entity, Field, Index, Schema

Record = dict[str, Any]


@dataclass(frozen=True)
class Audit:
    """Who changed what, for the audit log."""

    actor_id: str
    action: str
    target: str


class SchemaChange(Protocol):
    """One schema change in one transaction; `schema` is the latest, read under a lock."""

    schema: Schema

    async def create_entity(self, entity: Entity, schema_after: Schema) -> None: ...
    async def drop_entity(self, entity: Entity) -> None: ...
    async def save_entity(self, entity: Entity) -> None: ...
    async def add_field(self, entity_after: Entity, field: Field, schema_after: Schema) -> None: ...
    async def drop_field(self, entity_before: Entity, field: Field, schema_before: Schema) -> None: ...
    async def add_index(self, entity: Entity, index: Index, schema_after: Schema) -> None: ...
    async def drop_index(self, entity: Entity, index: Index) -> None: ...
    async def save_choice_set(self, choice_set: ChoiceSet, *, new: bool) -> None: ...
    async def drop_choice_set(self, choice_set: ChoiceSet) -> None: ...


class SchemaStore(Protocol):
    async def load(self) -> Schema: ...
    async def current_version(self) -> int: ...
    def change(self, audit: Audit) -> AbstractAsyncContextManager[SchemaChange]:
        """A change whose audit entry (who, what) is written in the same transaction."""
        ...


class RecordWriter(Protocol):
    """The writes of one transaction. Every method takes a whole batch: one query, not one per record."""

    def savepoint(self) -> AbstractAsyncContextManager[None]: ...
    async def lock_by_ids(
        self, entity: Entity, ids: Collection[str], *, for_delete: bool
    ) -> dict[str, Record]: ...
    async def existing_ids(
        self, entity: Entity, ids: Collection[str], created_by: str | None = None
    ) -> set[str]: ...
    async def referenced_ids(
        self, entity: Entity, field: Field, ids: Collection[str], ignore: Collection[str] = ()
    ) -> set[str]: ...
    async def taken_values(self, entity: Entity, field: Field, values: Collection[Any]) -> dict[Any, str]: ...
    async def take_numbers(self, field: Field, count: int) -> int: ...
    async def insert(
        self, entity: Entity, records: Sequence[Record], events: Sequence[Event] = (), *, last: bool = False
    ) -> None:
        """Insert these records and append `events` to the outbox (in one statement where it can);
        `last`: nothing is written after this in the transaction."""
        ...

    async def update_many(
        self, entity: Entity, changes: Sequence[tuple[str, Mapping[str, Any]]], events: Sequence[Event] = ()
    ) -> None:
        """Apply these changes and append `events` to the outbox (in one statement where it can)."""
        ...

    async def update_unread(
        self, entity: Entity, record_id: str, values: Mapping[str, Any], owner: str | None, event: Event
    ) -> Record | None:
        """Apply one record's changes without reading it first, only if it was created by `owner`
        (when given), and append `event` with the written revision and owner; the record as written,
        or None where nothing was. The transaction's last statement."""
        ...

    async def delete(self, entity: Entity, ids: Iterable[str]) -> list[str]: ...
    async def append_events(self, events: Sequence[Event]) -> None:
        """Append these events to the outbox, in this transaction (one statement for all)."""
        ...


class RecordStore(Protocol):
    async def fetch_by_ids(
        self, schema: Schema, entity: Entity, ids: Collection[str]
    ) -> dict[str, Record]: ...
    async def page(
        self, schema: Schema, entity: Entity, offset: int, limit: int, created_by: str | None = None
    ) -> tuple[list[Record], int]: ...
    def writer(self, schema: Schema) -> AbstractAsyncContextManager[RecordWriter]: ...
