"""Writing many records at once: checked together, written set-based, in one of three modes.

A batch is planned before anything is written. The records it changes are read (and locked, in id
order) with one query; every body is checked in memory; relationship targets, unique values (also
against the rest of the batch) and references to records being deleted are checked with one query
per field for the whole batch. What survives is written with one multi-row statement per kind.
Only when the database itself refuses a statement (a concurrent writer got there first) is the
batch replayed record by record, each inside a savepoint, so only the refused record is lost.

Modes (docs/compat-uipath.md#batches, docs/compat-pipeliner.md#batches):
- `ATOMIC`: all or nothing; one failure and nothing is written.
- `PARTIAL`: every record is tried; each success is kept.
- `STOP_AT_FIRST`: records before the first failure are kept; later ones are not processed.

Every mode runs in one transaction and writes each record with one statement: a server killed
mid-batch leaves nothing of it behind, and no record is ever half-written.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import uuid_utils

from recordbase.core.actors import Actor
from recordbase.core.events import Event, Operation, new_event
from recordbase.core.expand import plain
from recordbase.core.fields.temporal import truncate_ms
from recordbase.core.permissions import FORBIDDEN_TEXT, Action, Permissions, RowRule
from recordbase.core.ports import Record, RecordWriter
from recordbase.core.schema import Entity, FieldType, Schema
from recordbase.core.validation import check_insert, check_update, reads_current
from recordbase.errors import (
    FIELD,
    FieldError,
    Forbidden,
    RecordbaseError,
    RecordNotFound,
    RecordReferenced,
    ValidationFailed,
)

REFUSALS = (ValidationFailed, RecordReferenced)
"""What storage raises when the database refuses a write that the checks let through."""


class Mode(StrEnum):
    ATOMIC = "atomic"
    PARTIAL = "partial"
    STOP_AT_FIRST = "stop_at_first"


class Op(StrEnum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(slots=True)
class Item:
    """One wire item, translated: what to do, to which record, with which body.

    `errors` are problems the dialect found while translating (an unknown wire name, say);
    they are reported together with the core's own. Not changed once made (not frozen for the
    same reason as `Event`: one per record of a batch).
    """

    op: Op
    body: Any = None
    id: str | None = None
    errors: tuple[FieldError, ...] = ()


@dataclass
class Outcome:
    """What became of one item: the record as stored (or as it was, for a delete), or why not."""

    index: int
    op: Op
    id: str | None = None
    record: Record | None = None
    error: RecordbaseError | None = None


@dataclass(frozen=True)
class BatchResult:
    """Outcomes in request order; items a stopped batch never reached are absent."""

    entity: Entity
    outcomes: list[Outcome]
    committed: bool

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error is not None]

    @property
    def successes(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error is None] if self.committed else []


def new_id() -> str:
    """Time-ordered UUIDs (v7) keep inserts at the end of the primary-key index."""
    return str(uuid_utils.uuid7())


def now() -> datetime:
    return truncate_ms(datetime.now(UTC))


def canonical_id(record_id: str) -> str | None:
    """The canonical form of a record id; None when it is not a UUID (and so names no record)."""
    try:
        return str(uuid.UUID(record_id))
    except (ValueError, TypeError, AttributeError):
        return None


def not_found(entity: Entity, record_id: object) -> RecordNotFound:
    return RecordNotFound(f"Record '{record_id}' does not exist in entity '{entity.name}'.")


@dataclass
class Slot:
    """One item while its batch is planned and written."""

    index: int
    item: Item
    key: str | None = None
    current: Record | None = None
    values: Record = field(default_factory=dict)
    problems: list[FieldError] = field(default_factory=list)
    error: RecordbaseError | None = None
    record: Record | None = None
    changes: Record = field(default_factory=dict)
    unread: bool = False
    """An update written without reading its record first (`plan`'s `unread`)."""
    owner: str | None = None
    """With `unread`: the only creator whose record the caller may change ("own records only")."""

    @property
    def clean(self) -> bool:
        return self.error is None and not self.problems

    def outcome(self) -> Outcome:
        record_id = self.key or (self.record or {}).get("Id") or self.item.id
        record = self.record
        if record is None and self.item.op is Op.DELETE:
            record = self.current  # a delete that failed still answers the record as it is
        return Outcome(self.index, self.item.op, record_id, record, self.error)


async def plan(
    writer: RecordWriter,
    schema: Schema,
    entity: Entity,
    items: Sequence[Item],
    permissions: Permissions | None = None,
    unread: bool = False,
) -> list[Slot]:
    """Check every item of a batch without writing anything; failures are set on their slots.

    `unread` (all-or-nothing batches only): a batch of one update is written without reading its
    record first, where nothing needs the record as stored: one `UPDATE … RETURNING` (with its event,
    on PostgreSQL), conditional on the caller's "own records only" rules, is the whole transaction.
    When it finds no record to write, `write` raises `Unwritten`, and the batch is planned again,
    reading, for the exact error."""
    slots = [Slot(index, item, problems=list(item.errors)) for index, item in enumerate(items)]
    if unread and len(slots) == 1:
        _mark_unread(entity, slots[0], permissions)
    await _read_targets(writer, entity, slots)
    if permissions is not None:
        _check_access(entity, slots, permissions)
    for slot in slots:
        _check_body(schema, entity, slot)
    await _check_relations(writer, schema, entity, slots, permissions)
    await _check_unique(writer, entity, slots)
    await _check_references(writer, schema, entity, slots)
    for slot in slots:
        if slot.error is None and slot.problems:
            slot.error = ValidationFailed(slot.problems)
    return slots


async def execute(
    writer: RecordWriter, entity: Entity, slots: list[Slot], actor: Actor, mode: Mode
) -> list[Slot]:
    """Write what the mode allows of a planned batch; return the slots processed, in request order."""
    chosen, processed = _choose(slots, mode)
    if not chosen:
        return processed
    done = await write(writer, entity, chosen, actor, mode)
    return done if len(done) < len(chosen) else processed


EVENT_OPERATION = {Op.INSERT: Operation.CREATED, Op.UPDATE: Operation.UPDATED, Op.DELETE: Operation.DELETED}


def changes(entity: Entity, written: Sequence[Slot], actor: Actor) -> list[Event]:
    """One event per record written, for the outbox (appended in the same transaction)."""
    at = now().timestamp()
    return [
        new_event(
            entity.name,
            entity.id,
            slot.key or (slot.record or {}).get("Id"),
            EVENT_OPERATION[slot.item.op],
            revision=None if slot.item.op is Op.DELETE else (slot.record or {}).get("Revision"),
            fields=slot.values,
            actor_id=actor.id,
            owner_id=actor.id if slot.current is None else slot.current.get("CreatedBy"),
            at=at,
        )
        for slot in written
    ]


class Unwritten(Exception):
    """An update planned `unread` found no record it may write: the record is missing, or not one the
    caller may read or change. Nothing was written; plan the batch again, reading its record."""


def _mark_unread(entity: Entity, slot: Slot, permissions: Permissions | None) -> None:
    """Whether this update can be checked and written without its record as stored: its body must
    not echo a file by id (checked against the stored file), and the caller's read and update rules
    must come down to one condition on the record's creator."""
    item = slot.item
    if item.op is not Op.UPDATE or item.errors or not isinstance(item.body, Mapping):
        return
    if reads_current(entity, item.body):
        return
    owners: set[str | None] = set()
    if permissions is not None:
        rules = (permissions.row_rule(entity, Action.READ), permissions.row_rule(entity, Action.UPDATE))
        if None in rules:
            return
        owners = {rule.created_by for rule in rules if rule is not None and rule.created_by is not None}
    if len(owners) <= 1:
        slot.unread, slot.owner = True, next(iter(owners), None)


def _choose(slots: list[Slot], mode: Mode) -> tuple[list[Slot], list[Slot]]:
    """(slots to write, slots processed) for the mode, after planning."""
    failed = [s for s in slots if s.error is not None]
    if mode is Mode.ATOMIC and failed:
        return [], failed
    if mode is Mode.STOP_AT_FIRST and failed:
        cut = failed[0].index
        return slots[:cut], slots[: cut + 1]
    return [s for s in slots if s.error is None], slots


async def write(
    writer: RecordWriter, entity: Entity, slots: list[Slot], actor: Actor, mode: Mode
) -> list[Slot]:
    """Write the chosen slots set-based; replay one by one where the database refuses. The outbox
    gets an event for each record written, in the same transaction.

    Returns the slots that were processed (a stopped replay leaves later ones out).
    """
    moment = now()
    await _build_inserts(writer, entity, [s for s in slots if s.item.op is Op.INSERT], actor, moment)
    for slot in slots:
        if slot.item.op is Op.UPDATE:
            _build_update(slot, actor, moment)
        elif slot.item.op is Op.DELETE:
            slot.record = slot.current
    if mode is Mode.ATOMIC and len(slots) == 1:
        # A refusal fails the whole (one-item) batch, so its event can go with the write itself.
        # (An `unread` update is always planned as such a batch.)
        await _write_together(writer, entity, slots, changes(entity, slots, actor))
        return slots
    try:
        async with writer.savepoint():
            await _write_together(writer, entity, slots)
    except REFUSALS:
        slots = await _write_one_by_one(writer, entity, slots, mode)
    await writer.append_events(changes(entity, [s for s in slots if s.error is None], actor))
    return slots


async def _read_targets(writer: RecordWriter, entity: Entity, slots: list[Slot]) -> None:
    """Parse the ids of updates and deletes, refuse repeats, and read (and lock) their records
    (not an `unread` update's)."""
    keyed: dict[str, Slot] = {}
    for slot in slots:
        if slot.item.op is Op.INSERT or slot.problems:
            continue
        if slot.item.id is None:
            slot.problems.append(FieldError("Id", "REQUIRED", f"Record must include '{FIELD}'."))
        elif (key := canonical_id(slot.item.id)) is None:
            slot.error = not_found(entity, slot.item.id)
        elif key in keyed:
            slot.problems.append(
                FieldError(
                    "Id", "DUPLICATE_IN_BATCH", f"Record '{key}' appears more than once in this batch."
                )
            )
        else:
            slot.key, keyed[key] = key, slot
    await _lock(writer, entity, {key: slot for key, slot in keyed.items() if not slot.unread})


async def _lock(writer: RecordWriter, entity: Entity, keyed: dict[str, Slot]) -> None:
    """Read whole records: updates check against them, deletes answer them as they were."""
    found: dict[str, Record] = {}
    for deleting in (False, True):
        ids = [key for key, slot in keyed.items() if (slot.item.op is Op.DELETE) is deleting]
        found |= await writer.lock_by_ids(entity, ids, for_delete=deleting)
    for key, slot in keyed.items():
        slot.current = found.get(key)
        if slot.current is None:
            slot.error = not_found(entity, slot.item.id)


ACTION = {Op.INSERT: Action.CREATE, Op.UPDATE: Action.UPDATE, Op.DELETE: Action.DELETE}


def _check_access(entity: Entity, slots: list[Slot], permissions: Permissions) -> None:
    """Per record: "own records only" rules, and fields under access control.

    A record the caller may not even read does not exist for them (404); one they may read
    but not change is a 403. A field they may not read is unknown to them, so the error
    says exactly what it would say for a field that does not exist. Rules are worked out
    once per batch, and once per field name.
    """
    read = permissions.row_rule(entity, Action.READ)
    rules = {op: permissions.row_rule(entity, action) for op, action in ACTION.items()}

    known: dict[str, str] = {}

    def field_access(name: str) -> str:
        found = known.get(name)
        if found is None:
            if permissions.can_write_field(entity, name):
                found = "write"
            else:
                found = "read" if permissions.knows_field(entity, name) else "none"
            known[name] = found
        return found

    for slot in slots:
        if slot.error is None:
            _check_slot_access(entity, slot, read, rules[slot.item.op], field_access)


def _check_slot_access(
    entity: Entity, slot: Slot, read: RowRule | None, rule: RowRule | None, field_access: Callable[[str], str]
) -> None:
    if slot.current is not None:
        owner = slot.current["CreatedBy"]
        if not _allows(read, owner):
            slot.error = not_found(entity, slot.item.id)
            slot.current = None  # a record the caller may not read is never answered back
            return
        if not _allows(rule, owner):
            slot.error = Forbidden(FORBIDDEN_TEXT)
            return
    if not entity.guarded_fields:  # no field under access control: every name is writable
        return
    body = slot.item.body if isinstance(slot.item.body, dict) else {}
    for name in body:
        access = field_access(name)
        if access == "read":
            slot.error = Forbidden(FORBIDDEN_TEXT)
            return
        if access == "none":
            slot.problems.append(
                FieldError(name, "UNKNOWN_FIELD", f"Entity '{entity.name}' has no field '{name}'.")
            )


def _allows(rule: RowRule | None, owner: str) -> bool:
    return rule is not None and (rule.created_by is None or owner == rule.created_by)


def _check_body(schema: Schema, entity: Entity, slot: Slot) -> None:
    if slot.error is not None or slot.item.op is Op.DELETE:
        return
    if slot.item.op is Op.INSERT:
        checked = check_insert(entity, slot.item.body, schema)
    elif slot.current is not None:
        current = slot.current
        checked = check_update(
            entity, slot.item.body, schema, functools.cache(lambda: plain(entity, current))
        )
    elif slot.unread:  # its body asks for nothing of the stored record but the id (`_mark_unread`)
        checked = check_update(entity, slot.item.body, schema, lambda: {"Id": slot.key})
    else:
        return
    slot.values = checked.values
    slot.problems += checked.errors


async def _check_relations(
    writer: RecordWriter, schema: Schema, entity: Entity, slots: list[Slot], permissions: Permissions | None
) -> None:
    """Relationship targets that do not exist for the caller: one query per relationship field for
    the batch. A record the caller may not read does not exist for them, so linking to it gets the
    same answer as a made-up id (no existence test, and no link that blocks its owner's delete)."""
    for f in entity.fields:
        if f.type is not FieldType.RELATIONSHIP:
            continue
        live = [s for s in slots if s.error is None and s.values.get(f.name) is not None]
        wanted = {s.values[f.name] for s in live}
        if not wanted:
            continue
        target = schema.entity(f.reference_entity or "")
        missing = wanted - await _readable_ids(writer, target, wanted, permissions)
        for slot in live:
            value = slot.values[f.name]
            if value in missing:
                message = f"[{FIELD}] Relation {entity.name}.{FIELD}={value} to {target.name} doesn't exist!"
                slot.problems.append(FieldError(f.name, "RELATION_NOT_FOUND", message))


async def _readable_ids(
    writer: RecordWriter, target: Entity, ids: set[Any], permissions: Permissions | None
) -> set[str]:
    rule = RowRule() if permissions is None else permissions.row_rule(target, Action.READ)
    if rule is None:
        return set()
    return await writer.existing_ids(target, ids, rule.created_by)


async def _check_unique(writer: RecordWriter, entity: Entity, slots: list[Slot]) -> None:
    """Unique values held by another record, or by an earlier record of this batch."""
    for f in entity.fields:
        if not f.unique:
            continue
        live = [s for s in slots if s.error is None and s.values.get(f.name) is not None]
        if not live:
            continue
        taken = await writer.taken_values(entity, f, {s.values[f.name] for s in live})
        claimed: set[Any] = set()
        for slot in live:
            value = slot.values[f.name]
            holder = taken.get(value)
            if holder is not None and holder != slot.key:
                slot.problems.append(
                    FieldError(
                        f.name, "NOT_UNIQUE", f"Field '{FIELD}' must be unique; the value is already used."
                    )
                )
            elif value in claimed:
                slot.problems.append(
                    FieldError(
                        f.name,
                        "NOT_UNIQUE",
                        f"Field '{FIELD}' must be unique; an earlier record of this batch has the value.",
                    )
                )
            elif not slot.problems:
                claimed.add(value)


async def _check_references(writer: RecordWriter, schema: Schema, entity: Entity, slots: list[Slot]) -> None:
    """Records to delete that another record still points at (records deleted alongside do not count)."""
    deleting = {s.key: s for s in slots if s.item.op is Op.DELETE and s.clean and s.key}
    if not deleting:
        return
    for source, f in schema.referencing_fields(entity.name):
        ignore = deleting.keys() if source.id == entity.id else ()
        for key in await writer.referenced_ids(source, f, deleting.keys(), ignore):
            deleting[key].error = RecordReferenced(
                f"Record '{key}' of '{entity.name}' is still referenced by '{source.name}.{f.name}'; "
                "clear or delete the referencing records first."
            )


async def _build_inserts(
    writer: RecordWriter, entity: Entity, slots: list[Slot], actor: Actor, moment: datetime
) -> None:
    """Full rows for new records; auto-numbers are reserved in one step for all of them."""
    if not slots:
        return
    system = {"CreatedBy": actor.id, "CreateTime": moment, "UpdatedBy": actor.id, "UpdateTime": moment}
    numbered = [f for f in entity.fields if f.type is FieldType.AUTO_NUMBER]
    blank = dict.fromkeys(f.name for f in entity.fields if f.type is not FieldType.AUTO_NUMBER)
    records: list[Record] = []
    for slot in slots:
        # An insert carries an id only from the importer (a replay-safe key, core/transfer.py);
        # the wire dialects never set one, so clients cannot choose ids.
        slot.record = {"Id": slot.item.id or new_id(), **system, "Revision": 1, **blank, **slot.values}
        records.append(slot.record)
    for f in numbered:
        first = await writer.take_numbers(f, len(records))
        for offset, record in enumerate(records):
            record[f.name] = first + offset


def _build_update(slot: Slot, actor: Actor, moment: datetime) -> None:
    """The changes to write and the record as it will be stored (the row is locked, so this is exact;
    an `unread` update's record is the one its statement answers)."""
    slot.changes = {**slot.values, "UpdatedBy": actor.id, "UpdateTime": moment}
    if slot.current is not None:
        slot.record = {**slot.current, **slot.changes, "Revision": int(slot.current["Revision"]) + 1}


async def _write_together(
    writer: RecordWriter, entity: Entity, slots: Sequence[Slot], events: Sequence[Event] = ()
) -> None:
    """The slots' writes, one statement per kind; `events` (given for a batch of one) are appended
    with the write of their kind, in its very statement where the database allows (an insert is
    then the transaction's last statement)."""
    kind = slots[0].item.op if events else None
    inserts = [s.record for s in slots if s.item.op is Op.INSERT and s.record is not None]
    if inserts:
        await writer.insert(entity, inserts, events if kind is Op.INSERT else (), last=kind is Op.INSERT)
    updated = [s for s in slots if s.item.op is Op.UPDATE and s.key]
    if len(updated) == 1 and updated[0].unread:
        slot = updated[0]
        [event] = events  # planned as a batch of one (`write`)
        slot.record = await writer.update_unread(entity, slot.key or "", slot.changes, slot.owner, event)
        if slot.record is None:
            raise Unwritten(slot.key)
    elif updated:
        updates = [(s.key, s.changes) for s in updated if s.key]
        await writer.update_many(entity, updates, events if kind is Op.UPDATE else ())
    deleted = [s.key for s in slots if s.item.op is Op.DELETE and s.key]
    if deleted:
        await writer.delete(entity, deleted)
    if kind is Op.DELETE:
        await writer.append_events(events)


async def _write_one_by_one(
    writer: RecordWriter, entity: Entity, slots: list[Slot], mode: Mode
) -> list[Slot]:
    """The fallback: each record in its own savepoint, in request order."""
    for position, slot in enumerate(slots):
        try:
            async with writer.savepoint():
                await _write_together(writer, entity, [slot])
        except REFUSALS as error:
            slot.error = error
            if mode is Mode.STOP_AT_FIRST:
                return slots[: position + 1]
    return slots
