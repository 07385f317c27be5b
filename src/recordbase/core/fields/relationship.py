"""Relationship fields (many-to-one): the target record's `Id`.

Whether the target exists is checked by the record service in one query per batch,
not here; this only checks the shape.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from recordbase.core.fields.base import FieldDefinitionError, PlainKind, type_error
from recordbase.core.schema import Field, Schema


class RelationshipKind(PlainKind):
    def check_definition(self, field: Field, schema: Schema) -> Field:
        if not field.reference_entity:
            raise FieldDefinitionError(f"Field '{field.name}' needs a reference entity.")
        return replace(field, unique=False)

    def coerce(self, field: Field, value: Any, schema: Schema) -> Any:
        if isinstance(value, dict) and "Id" in value:
            # A record read at expansionLevel >= 1 carries `{Id, ...}`; writing it back means its Id.
            value = value["Id"]
        return parse_uuid(field, value)


class UuidKind(PlainKind):
    def coerce(self, field: Field, value: Any, schema: Schema) -> Any:
        return parse_uuid(field, value)


def parse_uuid(field: Field, value: Any) -> str:
    if not isinstance(value, str):
        raise type_error(field, "a UUID string")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise type_error(field, "a UUID string") from None


def check_reference(field: Field, schema: Schema, entity_being_defined: str) -> None:
    """The target must exist, or be the entity being defined (self-reference)."""
    target = field.reference_entity or ""
    if target.lower() != entity_being_defined.lower() and schema.find_entity(target) is None:
        raise FieldDefinitionError(f"Field '{field.name}': reference entity '{target}' does not exist.")
