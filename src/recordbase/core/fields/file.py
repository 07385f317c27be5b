"""File fields: written only through the Attachment endpoints, read as `{Id, Name, Path, Size, Type}`."""

from __future__ import annotations

from typing import Any

from recordbase.core.fields.base import FieldValueError, PlainKind
from recordbase.core.schema import Field, Schema
from recordbase.errors import FIELD

FILE_KEYS = ("Id", "Name", "Path", "Size", "Type")


class FileKind(PlainKind):
    def coerce(self, field: Field, value: Any, schema: Schema) -> Any:
        raise FieldValueError(
            "FILE_FIELD_NOT_WRITABLE",
            f"Field '{FIELD}' is a file field: upload, replace or delete its file through "
            f"POST/DELETE .../Attachment/{{entity}}/{{recordId}}/{FIELD}.",
            field.name,
        )

    def render(self, field: Field, value: Any) -> Any:
        return {key: value.get(key) for key in FILE_KEYS}
