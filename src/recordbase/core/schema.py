"""Entities, fields and choice sets: immutable values, plus the versioned snapshot of all of them.

A `Schema` never changes once built. A schema change builds a new one with a higher
version, and every request works against the snapshot it started with.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from recordbase.errors import ChoiceSetNotFound, EntityNotFound


class FieldType(StrEnum):
    """The field types recordbase stores; docs/fields.md gives each one's wire form."""

    TEXT = "text"
    MULTILINE_TEXT = "multiline_text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    CHOICE_SET = "choice_set"
    MULTI_CHOICE_SET = "multi_choice_set"
    RELATIONSHIP = "relationship"
    FILE = "file"
    AUTO_NUMBER = "auto_number"
    UUID = "uuid"


SYSTEM_FIELDS = ("Id", "CreatedBy", "CreateTime", "UpdatedBy", "UpdateTime")
"""Columns every record has, managed by the server and read-only to clients."""


@dataclass(frozen=True)
class Field:
    """One user-defined field of an entity."""

    id: str
    name: str
    type: FieldType
    display_name: str = ""
    description: str = ""
    required: bool = False
    unique: bool = False
    default: Any = None
    max_length: int | None = None
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    decimal_places: int | None = None
    choice_set_id: str | None = None
    reference_entity: str | None = None
    rbac: bool = False
    start_value: int | None = None

    @property
    def label(self) -> str:
        return self.display_name or self.name

    @property
    def is_writable(self) -> bool:
        """Whether clients may set this field in a record body."""
        return self.type not in (FieldType.AUTO_NUMBER, FieldType.FILE)


@dataclass(frozen=True)
class Index:
    """A secondary index the schema declares (relationship and unique columns get theirs anyway)."""

    name: str
    fields: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class Entity:
    """A record type: a table with typed columns."""

    id: str
    name: str
    display_name: str = ""
    description: str = ""
    rbac: bool = False
    fields: tuple[Field, ...] = ()
    indexes: tuple[Index, ...] = ()
    _by_name: Mapping[str, Field] = field(default_factory=dict, compare=False, repr=False)
    guarded_fields: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    """Fields under access control (`isRbacEnabled`): the only ones a caller may be denied."""
    derived: dict[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)
    """What other modules work out once per entity rather than per record (a checker's field list, a
    renderer's), under a key of their own; an entity never changes, so neither do they."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name: f for f in self.fields})
        object.__setattr__(self, "guarded_fields", frozenset(f.name for f in self.fields if f.rbac))

    @property
    def label(self) -> str:
        return self.display_name or self.name

    def field(self, name: str) -> Field | None:
        """The field with exactly this name (names in record bodies are case-sensitive)."""
        return self._by_name.get(name)

    def field_ci(self, name: str) -> Field | None:
        """The field whose name matches ignoring case (names are unique that way)."""
        lowered = name.lower()
        return next((f for f in self.fields if f.name.lower() == lowered), None)

    def with_fields(self, fields: Iterable[Field]) -> Entity:
        return replace(self, fields=tuple(fields))


@dataclass(frozen=True)
class ChoiceValue:
    """One value of a choice set; records store its `number_id`."""

    id: str
    name: str
    display_name: str
    number_id: int


@dataclass(frozen=True)
class ChoiceSet:
    """A named list of values that choice-set fields draw from."""

    id: str
    name: str
    display_name: str = ""
    description: str = ""
    values: tuple[ChoiceValue, ...] = ()

    @property
    def label(self) -> str:
        return self.display_name or self.name

    @property
    def number_ids(self) -> frozenset[int]:
        return frozenset(v.number_id for v in self.values)


@dataclass(frozen=True)
class Schema:
    """Every entity and choice set at one version."""

    version: int = 0
    entities: tuple[Entity, ...] = ()
    choice_sets: tuple[ChoiceSet, ...] = ()
    _by_ref: Mapping[str, Entity] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Every record request looks its entity up: by id or by name in any case, the first wins.
        by_ref: dict[str, Entity] = {}
        for e in self.entities:
            by_ref.setdefault(e.id, e)
            by_ref.setdefault(e.name.lower(), e)
        object.__setattr__(self, "_by_ref", by_ref)

    def entity(self, ref: str) -> Entity:
        """The entity with this id or name (names match ignoring case)."""
        found = self.find_entity(ref)
        if found is None:
            raise EntityNotFound(f"Entity '{ref}' does not exist.")
        return found

    def find_entity(self, ref: str) -> Entity | None:
        return self._by_ref.get(ref.lower())

    def choice_set(self, ref: str) -> ChoiceSet:
        found = self.find_choice_set(ref)
        if found is None:
            raise ChoiceSetNotFound(f"Choice set '{ref}' does not exist.")
        return found

    def find_choice_set(self, ref: str) -> ChoiceSet | None:
        lowered = ref.lower()
        return next((c for c in self.choice_sets if c.id == lowered or c.name.lower() == lowered), None)

    def referencing_fields(self, entity_name: str) -> list[tuple[Entity, Field]]:
        """Relationship fields, in any entity, that point at `entity_name`."""
        lowered = entity_name.lower()
        return [
            (e, f)
            for e in self.entities
            for f in e.fields
            if f.type is FieldType.RELATIONSHIP and (f.reference_entity or "").lower() == lowered
        ]
