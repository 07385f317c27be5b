"""Choice-set fields: a single `NumberId`, or a sorted set of them.

A value is written as its `NumberId` (an integer) or by its label: the value's name or display name
as a string, in any letter case, as CSV import reads it. Records always answer the `NumberId`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from recordbase.core.fields.base import FieldDefinitionError, FieldValueError, PlainKind, type_error
from recordbase.core.schema import ChoiceSet, Field, Schema
from recordbase.errors import FIELD


class ChoiceKind(PlainKind):
    def check_definition(self, field: Field, schema: Schema) -> Field:
        if not field.choice_set_id:
            raise FieldDefinitionError(f"Field '{field.name}' needs a choice set.")
        found = schema.find_choice_set(field.choice_set_id)
        if found is None:
            raise FieldDefinitionError(
                f"Field '{field.name}': choice set '{field.choice_set_id}' does not exist."
            )
        return replace(field, choice_set_id=found.id)

    def coerce(self, field: Field, value: Any, schema: Schema) -> Any:
        return _number_id(field, value, schema)


class MultiChoiceKind(ChoiceKind):
    def coerce(self, field: Field, value: Any, schema: Schema) -> Any:
        if isinstance(value, str):
            # The Studio activities send the set as JSON text ("[1,3]"); REST clients send an array.
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError:
                raise type_error(field, "an array of choice NumberIds or names") from None
        if not isinstance(value, list):
            raise type_error(field, "an array of choice NumberIds or names")
        return tuple(sorted({_number_id(field, item, schema) for item in value}))

    def render(self, field: Field, value: Any) -> Any:
        return list(value)


def by_label(choice_set: ChoiceSet, label: str) -> int | None:
    """The `NumberId` of the value whose name or display name is `label` (any letter case)."""
    wanted = label.strip().lower()
    found = next((v for v in choice_set.values if wanted in (v.name.lower(), v.display_name.lower())), None)
    return None if found is None else found.number_id


def _number_id(field: Field, value: Any, schema: Schema) -> int:
    choice_set = schema.choice_set(field.choice_set_id or "")
    if isinstance(value, str):
        number = by_label(choice_set, value)
        if number is None:
            raise FieldValueError(
                "UNKNOWN_CHOICE",
                f"Field '{FIELD}': '{value}' is not a value of choice set '{choice_set.name}'.",
                field.name,
            )
        return number
    if isinstance(value, bool) or not isinstance(value, int):
        raise type_error(field, "a choice NumberId (integer) or a value's name")
    if value not in choice_set.number_ids:
        raise FieldValueError(
            "UNKNOWN_CHOICE",
            f"Field '{FIELD}': {value} is not a value of choice set '{choice_set.name}'.",
            field.name,
        )
    return value
