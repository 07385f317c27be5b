"""An in-memory `RecordWriter` (core/ports.py) for unit tests of the core: records kept in dicts,
unique values and references answered from them, savepoints that restore on an error."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from recordbase.core.events import Event
from recordbase.core.ports import Record
from recordbase.core.schema import Entity, Field, FieldType, Schema


class FakeWriter:
    """Rows by entity name and id; each error in `refuse` makes one insert raise (a concurrent writer won)."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.rows: dict[str, dict[str, Record]] = {e.name: {} for e in schema.entities}
        self.numbers: dict[str, int] = {}
        self.refuse: list[Exception] = []
        self.statements = 0
        self.events: list[Event] = []

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        saved = copy.deepcopy(self.rows)
        try:
            yield
        except BaseException:
            self.rows = saved
            raise

    async def lock_by_ids(
        self, entity: Entity, ids: Collection[str], *, for_delete: bool
    ) -> dict[str, Record]:
        table = self.rows[entity.name]
        return {i: dict(table[i]) for i in ids if i in table}

    async def existing_ids(
        self, entity: Entity, ids: Collection[str], created_by: str | None = None
    ) -> set[str]:
        table = self.rows[entity.name]
        return {i for i in ids if i in table and created_by in (None, table[i].get("CreatedBy"))}

    async def referenced_ids(
        self, entity: Entity, field: Field, ids: Collection[str], ignore: Collection[str] = ()
    ) -> set[str]:
        return {
            r[field.name]
            for key, r in self.rows[entity.name].items()
            if key not in ignore and r.get(field.name) in ids
        }

    async def taken_values(self, entity: Entity, field: Field, values: Collection[Any]) -> dict[Any, str]:
        return {
            r[field.name]: key for key, r in self.rows[entity.name].items() if r.get(field.name) in values
        }

    async def take_numbers(self, field: Field, count: int) -> int:
        first = self.numbers.get(field.id, field.start_value or 1)
        self.numbers[field.id] = first + count
        return first

    async def insert(
        self, entity: Entity, records: Sequence[Record], events: Sequence[Event] = (), *, last: bool = False
    ) -> None:
        if records and self.refuse:
            raise self.refuse.pop(0)
        self.statements += bool(records)
        for record in records:
            self.rows[entity.name][record["Id"]] = dict(record)
        self.events += events

    async def update_many(
        self, entity: Entity, changes: Sequence[tuple[str, Mapping[str, Any]]], events: Sequence[Event] = ()
    ) -> None:
        self.statements += bool(changes)
        for key, change in changes:
            self.rows[entity.name][key].update(change)
        self.events += events

    async def update_unread(
        self, entity: Entity, record_id: str, values: Mapping[str, Any], owner: str | None, event: Event
    ) -> Record | None:
        stored = self.rows[entity.name].get(record_id)
        if stored is None or (owner is not None and stored.get("CreatedBy") != owner):
            return None
        stored.update(values, Revision=int(stored.get("Revision", 1)) + 1)
        self.statements += 1
        self.events.append(replace(event, revision=stored["Revision"], owner_id=stored.get("CreatedBy")))
        return dict(stored)

    async def delete(self, entity: Entity, ids: Iterable[str]) -> list[str]:
        gone = [i for i in ids if self.rows[entity.name].pop(i, None) is not None]
        self.statements += bool(gone)
        return gone

    async def append_events(self, events: Sequence[Event]) -> None:
        self.events += events


def field(name: str, kind: FieldType = FieldType.TEXT, **options: Any) -> Field:
    return Field(id=f"f-{name}", name=name, type=kind, **options)


def entity(name: str, *fields: Field, rbac: bool = False) -> Entity:
    return Entity(id=f"e-{name.lower()}", name=name, fields=fields, rbac=rbac)
