"""Field types: one module per type behind the `FieldKind` protocol; `KINDS` maps each type to it."""

from __future__ import annotations

from recordbase.core.fields.base import FieldDefinitionError, FieldKind, FieldValueError
from recordbase.core.fields.boolean import BooleanKind
from recordbase.core.fields.choice import ChoiceKind, MultiChoiceKind
from recordbase.core.fields.file import FileKind
from recordbase.core.fields.number import AutoNumberKind, NumberKind
from recordbase.core.fields.relationship import RelationshipKind, UuidKind
from recordbase.core.fields.temporal import DateKind, DateTimeKind
from recordbase.core.fields.text import TextKind
from recordbase.core.schema import FieldType

KINDS: dict[FieldType, FieldKind] = {
    FieldType.TEXT: TextKind(),
    FieldType.MULTILINE_TEXT: TextKind(),
    FieldType.INTEGER: NumberKind(),
    FieldType.DECIMAL: NumberKind(),
    FieldType.BOOLEAN: BooleanKind(),
    FieldType.DATE: DateKind(),
    FieldType.DATETIME: DateTimeKind(),
    FieldType.CHOICE_SET: ChoiceKind(),
    FieldType.MULTI_CHOICE_SET: MultiChoiceKind(),
    FieldType.RELATIONSHIP: RelationshipKind(),
    FieldType.FILE: FileKind(),
    FieldType.AUTO_NUMBER: AutoNumberKind(),
    FieldType.UUID: UuidKind(),
}

__all__ = ["KINDS", "FieldDefinitionError", "FieldKind", "FieldValueError"]
