"""Yes/No fields: JSON true or false, nothing else."""

from __future__ import annotations

from typing import Any

from recordbase.core.fields.base import PlainKind, type_error
from recordbase.core.schema import Field, Schema


class BooleanKind(PlainKind):
    def coerce(self, field: Field, value: Any, schema: Schema) -> Any:
        if not isinstance(value, bool):
            raise type_error(field, "true or false")
        return value
