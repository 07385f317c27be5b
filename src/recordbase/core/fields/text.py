"""Text and multi-line text: strings with a length limit."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from recordbase.core.fields.base import FieldDefinitionError, FieldValueError, PlainKind, type_error
from recordbase.core.schema import Field, FieldType, Schema
from recordbase.errors import FIELD

LIMITS = {FieldType.TEXT: (200, 4000), FieldType.MULTILINE_TEXT: (200, 10000)}


class TextKind(PlainKind):
    def check_definition(self, field: Field, schema: Schema) -> Field:
        default, ceiling = LIMITS[field.type]
        length = field.max_length if field.max_length is not None else default
        if not 1 <= length <= ceiling:
            raise FieldDefinitionError(f"Field '{field.name}': length limit must be between 1 and {ceiling}.")
        return replace(field, max_length=length)

    def coerce(self, field: Field, value: Any, schema: Schema) -> Any:
        if not isinstance(value, str):
            raise type_error(field, "a string")
        if "\x00" in value:
            raise FieldValueError(
                "INVALID_VALUE", f"Field '{FIELD}' may not contain the NUL character.", field.name
            )
        if field.max_length is not None and len(value) > field.max_length:
            raise FieldValueError(
                "TOO_LONG",
                f"Field '{FIELD}' is longer than its limit of {field.max_length} characters.",
                field.name,
            )
        return value
