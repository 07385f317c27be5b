"""Keyset cursors: the sort values of the last record of a page, so the next page starts after it.

A cursor is opaque to clients: base64url of a JSON array `[signature, v1, ..., Id]`, one value
per key of the plan's order (which always ends with `Id`). The signature is a digest of the
entity and the order, so a cursor presented with a different sort is refused instead of
silently returning the wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from recordbase.core.fields.base import FieldValueError
from recordbase.core.fields.relationship import parse_uuid
from recordbase.core.fields.temporal import format_datetime, parse_datetime
from recordbase.core.query.evaluate import Record, Related, field_value
from recordbase.core.query.plan import Plan
from recordbase.core.schema import Field, FieldType
from recordbase.errors import InvalidCursor

Cursor = tuple[Any, ...]
"""Core values, one per key of `Plan.order`."""


def cursor_of(plan: Plan, record: Record, related: Related | None = None) -> Cursor:
    """The cursor that points just after `record` in `plan`'s order."""
    return tuple(field_value(key.ref, record, related) for key in plan.order)


def signature(plan: Plan) -> str:
    order = ",".join(f"{key.ref.name}:{'d' if key.descending else 'a'}" for key in plan.order)
    return hashlib.sha256(f"{plan.entity.id}|{order}".encode()).hexdigest()[:12]


def encode_cursor(plan: Plan, cursor: Cursor) -> str:
    payload = [signature(plan), *(_to_json(value) for value in cursor)]
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def decode_cursor(plan: Plan, text: str) -> Cursor:
    """The cursor's core values; InvalidCursor when it was not issued for this plan's order."""
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        raise InvalidCursor("The cursor is not valid.") from None
    if not isinstance(payload, list) or len(payload) != len(plan.order) + 1 or payload[0] != signature(plan):
        raise InvalidCursor("The cursor does not belong to this query (entity or sort order differ).")
    try:
        return tuple(_from_json(key.ref.field, raw) for key, raw in zip(plan.order, payload[1:], strict=True))
    except (FieldValueError, InvalidOperation, ValueError, TypeError):
        raise InvalidCursor("The cursor is not valid.") from None


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _checked(kind: type) -> Callable[[Field, Any], Any]:
    def convert(field: Field, raw: Any) -> Any:
        if not isinstance(raw, kind) or (kind is int and isinstance(raw, bool)):
            raise TypeError(field.name)
        return raw

    return convert


DECODERS: dict[FieldType, Callable[[Field, Any], Any]] = {
    FieldType.TEXT: _checked(str),
    FieldType.MULTILINE_TEXT: _checked(str),
    FieldType.INTEGER: _checked(int),
    FieldType.AUTO_NUMBER: _checked(int),
    FieldType.CHOICE_SET: _checked(int),
    FieldType.BOOLEAN: _checked(bool),
    FieldType.DECIMAL: lambda f, raw: _finite(Decimal(_checked(str)(f, raw))),
    FieldType.DATE: lambda f, raw: date.fromisoformat(_checked(str)(f, raw)),
    FieldType.DATETIME: lambda f, raw: parse_datetime(f, _checked(str)(f, raw)),
    FieldType.RELATIONSHIP: parse_uuid,
    FieldType.UUID: parse_uuid,
}


def _finite(number: Decimal) -> Decimal:
    if not number.is_finite():
        raise ValueError("not a finite number")
    return number


def _from_json(field: Field, raw: Any) -> Any:
    if raw is None:
        return None
    decoder = DECODERS.get(field.type)
    if decoder is None:
        raise TypeError(field.name)
    return decoder(field, raw)
