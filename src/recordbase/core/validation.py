"""Turning a wire record body into core values, collecting every field error before answering.

Only checks that need no database live here; relationship targets and unique values are
checked by `records.py` in one query per field for a whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from recordbase.core.fields import KINDS, FieldValueError
from recordbase.core.schema import SYSTEM_FIELDS, Entity, Field, Schema
from recordbase.errors import FIELD, FieldError

Record = dict[str, Any]


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
    _check_keys(entity, body, checked, current=None)
    for f in entity.fields:
        if not f.is_writable:
            continue
        value = body.get(f.name, f.default)
        _set(f, value, schema, checked)
    return checked


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
    _check_keys(entity, body, checked, current=current)
    for f in entity.fields:
        if f.is_writable and f.name in body:
            _set(f, body[f.name], schema, checked)
    return checked


def _set(f: Field, value: Any, schema: Schema, checked: Checked) -> None:
    if value is None:
        if f.required:
            checked.fail(f.name, "REQUIRED", f"Field '{FIELD}' is required.")
        checked.values[f.name] = None
        return
    try:
        checked.values[f.name] = KINDS[f.type].coerce(f, value, schema)
    except FieldValueError as error:
        checked.fail(f.name, error.code, error.text)


def _check_keys(
    entity: Entity, body: Mapping[str, Any], checked: Checked, current: Callable[[], Mapping[str, Any]] | None
) -> None:
    """Unknown keys are errors; server-managed keys are accepted only when they repeat the stored value."""
    for key, value in body.items():
        f = entity.field(key)
        if f is not None and f.is_writable:
            continue
        if f is None and key not in SYSTEM_FIELDS:
            checked.fail(key, "UNKNOWN_FIELD", f"Entity '{entity.name}' has no field '{key}'.")
        elif value is None and current is None:
            continue  # a new record's server-managed field given as null: nothing to write
        elif current is not None and _same(value, current().get(key)):
            continue
        elif f is None:
            checked.fail(key, "READ_ONLY", f"Field '{FIELD}' is managed by the server and cannot be written.")
        else:
            try:
                KINDS[f.type].coerce(f, value, Schema())
            except FieldValueError as error:
                checked.fail(key, error.code, error.text)


def _same(value: Any, stored_wire: Any) -> bool:
    """Whether a client echoed a server-managed value back unchanged (in any expansion form)."""
    if isinstance(stored_wire, Mapping) and "Id" in stored_wire:
        return bool(value == stored_wire or value == stored_wire.get("Id"))
    return bool(value == stored_wire)
