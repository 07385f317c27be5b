"""Turning a wire record body into core values, collecting every field error before answering.

Only checks that need no database live here; relationship targets and unique values are
checked by `records.py` in one query per field for a whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from recordbase.core.fields import KINDS, FieldValueError
from recordbase.core.schema import SYSTEM_FIELDS, Entity, Field, FieldType, Schema
from recordbase.errors import FIELD, FieldError

Record = dict[str, Any]
Coerce = Callable[[Field, Any, Schema], Any]


@dataclass
class Checked:
    """The outcome of checking one record body: values to write and problems found."""

    values: Record = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)

    def fail(self, name: str, code: str, message: str) -> None:
        self.errors.append(FieldError(name, code, message))


def check_insert(entity: Entity, body: Any, schema: Schema) -> Checked:
    """Check a new record; absent fields take their default."""
    checked = Checked()
    if not isinstance(body, Mapping):
        checked.fail("", "INVALID_TYPE", "A record must be a JSON object.")
        return checked
    writable = _writable(entity)
    if not body.keys() <= writable.keys():
        _check_keys(entity, body, checked, current=None)
    for name, (f, coerce) in writable.items():
        _set(f, body.get(name, f.default), schema, checked, coerce)
    return checked


def _writable(entity: Entity) -> dict[str, tuple[Field, Coerce]]:
    """The fields a record body may set, in order, each with its type's `coerce`: worked out once
    per entity, since a batch checks a thousand bodies against the same fields."""
    found: dict[str, tuple[Field, Coerce]] | None = entity.derived.get(__name__)
    if found is None:
        found = entity.derived[__name__] = {
            f.name: (f, KINDS[f.type].coerce) for f in entity.fields if f.is_writable
        }
    return found


def check_update(
    entity: Entity, body: Any, schema: Schema, current: Callable[[], Mapping[str, Any]]
) -> Checked:
    """Check a partial update: absent keys stay, `null` clears (unless the field is required).

    `current` gives the stored record in wire form; it is called only when the body repeats a
    server-managed key, so a batch does not render every record it changes.
    """
    checked = Checked()
    if not isinstance(body, Mapping):
        checked.fail("", "INVALID_TYPE", "A record must be a JSON object.")
        return checked
    writable = _writable(entity)
    if not body.keys() <= writable.keys():
        _check_keys(entity, body, checked, current=current)
    for name, (f, coerce) in writable.items():
        if name in body:
            _set(f, body[name], schema, checked, coerce)
    return checked


def reads_current(entity: Entity, body: Mapping[str, Any]) -> bool:
    """Whether `check_update` would ask for more of the stored record than its id: a file field's
    value sent as the file's id, to be compared with the stored file."""
    for key, value in body.items():
        f = entity.field(key) if isinstance(value, str) else None
        if f is not None and f.type is FieldType.FILE:
            return True
    return False


def _set(f: Field, value: Any, schema: Schema, checked: Checked, coerce: Coerce | None = None) -> None:
    if value is None:
        if f.required:
            checked.fail(f.name, "REQUIRED", f"Field '{FIELD}' is required.")
        checked.values[f.name] = None
        return
    try:
        checked.values[f.name] = (coerce or KINDS[f.type].coerce)(f, value, schema)
    except FieldValueError as error:
        checked.fail(f.name, error.code, error.text)


def _check_keys(
    entity: Entity, body: Mapping[str, Any], checked: Checked, current: Callable[[], Mapping[str, Any]] | None
) -> None:
    """Unknown keys are errors. Server-managed keys are ignored, as UiPath ignores them, so a record
    that was read can be sent back: system fields, auto-numbers, and a file field's value as read (its
    object, or null). Only an update's `Id` must name the record it updates."""
    for key, value in body.items():
        f = entity.field(key)
        if f is not None:
            if f.type is FieldType.FILE and not _file_echo(value, key, current):
                _set(f, value, Schema(), checked)  # refused, with the message naming the file endpoints
        elif key == "Id" and current is not None and not _same_id(value, current().get("Id")):
            checked.fail(key, "READ_ONLY", f"Field '{FIELD}' names the record and cannot be changed.")
        elif key not in SYSTEM_FIELDS:
            checked.fail(key, "UNKNOWN_FIELD", f"Entity '{entity.name}' has no field '{key}'.")
        elif value is not None and not isinstance(value, str):
            # An echo is what a read answered: a text (id, time) or null; anything else is a mistake.
            checked.fail(
                key, "INVALID_TYPE", f"Field '{FIELD}' is set by the server; send it as read or not at all."
            )


def _file_echo(value: Any, key: str, current: Callable[[], Mapping[str, Any]] | None) -> bool:
    """Whether a file field's value is one a read answered: null, the file object, or (on an update)
    the file's `Id` as expansion level 0 renders it."""
    if value is None or isinstance(value, Mapping):
        return True
    stored = current().get(key) if current is not None and isinstance(value, str) else None
    return isinstance(stored, Mapping) and stored.get("Id") == value


def _same_id(value: Any, stored: Any) -> bool:
    return isinstance(value, str) and isinstance(stored, str) and value.strip().lower() == stored.lower()
