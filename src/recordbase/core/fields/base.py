"""The protocol every field type implements, and the errors it raises.

A field type knows how to check its own definition, turn a wire value into the core
value stored (`coerce`), and turn a stored value back into its wire form (`render`).
It knows nothing of SQL: storage maps each `FieldType` to a column type itself.
"""

from __future__ import annotations

from typing import Any, Protocol

from recordbase.core.schema import Field, Schema
from recordbase.errors import FIELD


class FieldValueError(Exception):
    """One value broke one rule of its field; collected into a `FieldError` by the caller."""

    def __init__(self, code: str, text: str, field: str = "") -> None:
        super().__init__(text)
        self.code = code
        self.text = text
        """May name the field as `FIELD` (recordbase.errors); `message` fills in `field`'s core name."""
        self.field = field

    @property
    def message(self) -> str:
        return self.text.replace(FIELD, self.field) if self.field else self.text


class FieldDefinitionError(Exception):
    """A field definition the type cannot accept (bad option, bad default)."""


class FieldKind(Protocol):
    """Behaviour of one field type."""

    def check_definition(self, field: Field, schema: Schema) -> Field:
        """Return the field with defaults filled in, or raise FieldDefinitionError."""
        ...

    def coerce(self, field: Field, value: Any, schema: Schema) -> Any:
        """Turn a non-null wire value into the core value, or raise FieldValueError."""
        ...

    def render(self, field: Field, value: Any) -> Any:
        """Turn a non-null core value into its JSON wire form."""
        ...


def type_error(field: Field, expected: str) -> FieldValueError:
    return FieldValueError("INVALID_TYPE", f"Field '{FIELD}' expects {expected}.", field.name)


class PlainKind:
    """Defaults shared by the simple types: no options to check, render as is."""

    def check_definition(self, field: Field, schema: Schema) -> Field:
        return field

    def render(self, field: Field, value: Any) -> Any:
        return value
