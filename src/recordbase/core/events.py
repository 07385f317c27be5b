"""Typed change events: what a committed write appends to the outbox, and what subscribers match.

One event per changed record (created, updated, deleted; a file stored or removed is an update
of its field) and one per schema change. Events are appended in the transaction of the write
(storage/outbox.py), so a rolled-back write leaves none and a committed one never loses its own.
An event carries names, never values: subscribers read the record as their owner may see it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import uuid_utils


class Operation(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    SCHEMA = "schema_changed"


RECORD_OPERATIONS = (Operation.CREATED, Operation.UPDATED, Operation.DELETED)
PIPELINER_NAMES = {Operation.CREATED: "Create", Operation.UPDATED: "Update", Operation.DELETED: "Delete"}
"""Pipeliner's event names (`Account.Create`), docs/compat-pipeliner.md#webhooks."""
WILDCARD = "*"


@dataclass(slots=True)
class Event:
    """One change. `position` is its place in the commit-ordered stream, set once it is dispatched.

    Never changed once made, but not a frozen dataclass: a batch makes one per record, and a frozen
    dataclass takes six times as long to make (Python 3.11; docs/benchmarks.md, "Speed per request")."""

    id: str
    at: float
    entity: str
    entity_id: str
    record_id: str | None
    operation: Operation
    revision: int | None
    fields: tuple[str, ...]
    actor_id: str
    owner_id: str | None
    position: int | None = None

    @property
    def type(self) -> str:
        """The Standard Webhooks `type`: `record.created`, …, `schema.changed`."""
        if self.operation is Operation.SCHEMA:
            return "schema.changed"
        return f"record.{self.operation.value}"

    @property
    def record_key(self) -> str:
        """What deliveries are ordered by: one record (or one entity's schema)."""
        return f"{self.entity_id or self.entity}:{self.record_id or ''}"[:80]


def new_event(
    entity: str,
    entity_id: str,
    record_id: str | None,
    operation: Operation,
    *,
    revision: int | None,
    fields: Iterable[str],
    actor_id: str,
    owner_id: str | None,
    at: float | None = None,
) -> Event:
    return Event(
        id=str(uuid_utils.uuid7()),
        at=time.time() if at is None else at,
        entity=entity,
        entity_id=entity_id,
        record_id=record_id,
        operation=operation,
        revision=revision,
        fields=tuple(fields),
        actor_id=actor_id,
        owner_id=owner_id,
    )


@dataclass(frozen=True)
class Topic:
    """What a subscription listens to: an entity name (or `*`) and an operation (or `*`)."""

    entity: str
    operation: str

    def matches(self, event: Event) -> bool:
        entity_ok = self.entity == WILDCARD or self.entity.lower() == event.entity.lower()
        return entity_ok and self.operation in (WILDCARD, event.operation.value)

    def __str__(self) -> str:
        if self.entity == WILDCARD and self.operation == WILDCARD:
            return WILDCARD
        return f"{self.entity}.{self.operation}"


def parse_topic(text: str) -> Topic | None:
    """`Customer.created`, `Customer.*`, `*` (everything), or Pipeliner's `Customer.Create`."""
    if text == WILDCARD:
        return Topic(WILDCARD, WILDCARD)
    entity, dot, operation = text.rpartition(".")
    if not dot or not entity:
        return None
    for op, name in PIPELINER_NAMES.items():
        if operation == name:
            operation = op.value
    known = {o.value for o in Operation} | {WILDCARD}
    return Topic(entity, operation) if operation in known else None


def pipeliner_name(topic: Topic) -> str:
    """A topic in Pipeliner's spelling (`Customer.Create`, `Customer.*`, `*`)."""
    if topic.entity == WILDCARD and topic.operation == WILDCARD:
        return WILDCARD
    names = {op.value: name for op, name in PIPELINER_NAMES.items()}
    return f"{topic.entity}.{names.get(topic.operation, topic.operation)}"
